/**
 * The shared on-policy actor-critic base (Stable-Baselines3 style): PPO, PPO-Lagrangian and P3O
 * override only `policyLoss` (and optionally `beforeEpochs`, the place of a dual step).
 *
 * One update on a rollout batch:
 *   1. critics V_R (and V_C for constrained trainers) evaluate every row;
 *   2. GAE per trajectory for the reward signal (γ, λ_GAE) and the cost signal (γ_C, λ_GAE,C);
 *   3. `beforeEpochs` (e.g. λ ← clamp(λ + η(J_C − d), 0, λ_max)) with J_C = mean undiscounted episode
 *      cost of the last `costWindow` episodes;
 *   4. A_R standardised (normalizeAdvantage), A_C centred (or standardised);
 *   5. `epochs` passes of `minibatches` shuffled minibatches (trainer RNG stream): policy step on
 *      `policyLoss − β·entropy` with global-norm clipping and Adam; each critic one Adam step on the MSE
 *      to its GAE return (one gradient pass for all three, their parameters being disjoint); stop all
 *      epochs once a minibatch's approx KL > 1.5·targetKl (SB3's rule, checked before that
 *      minibatch's step is applied).
 * Logged: loss (policy loss), entropy, kl, clip_frac, value_loss, cost_value_loss, grad_norm, epochs
 * (epochs completed, fractional when stopped early) and every term the subclass reports.
 */
import type { Rng } from "../core/rng.js";
import { mean } from "../core/math.js";
import type { RolloutBatch } from "../env/rollout.js";
import { tf } from "../policy/backend.js";
import { Mlp, type MlpOptions } from "../policy/mlp.js";
import { oneHot, type CategoricalPolicy } from "../policy/policy.js";
import { Adam, clipByGlobalNorm, namedVariables, restoreVariables } from "./adam.js";
import { PolicyAverage } from "./average.js";
import { gatherRows, normalizedAdvantages, pushRecentCosts, signalView, type SignalView } from "./buffer.js";
import { approxKl, clipFraction } from "./surrogate.js";
import { linearSchedule, NonFiniteLossError, type Trainer, type TrainerState, type UpdateMetrics } from "./trainer.js";

export interface OnPolicyOptions {
  gamma: number;
  gaeLambda: number;
  costGamma: number;
  costGaeLambda: number;
  clipRatio: number;
  epochs: number;
  minibatches: number;
  targetKl: number | null;
  lr: number;
  valueLr: number;
  valueNet: MlpOptions;
  entropyCoef: number;
  /** The entropy coefficient decays linearly to this over `totalUpdates` (null = constant). */
  entropyCoefFinal: number | null;
  maxGradNorm: number | null;
  adamEps: number;
  normalizeAdvantage: boolean;
  standardizeCostAdvantage: boolean;
  costWindow: number;
  /** Share of the last updates whose policy parameters are averaged into the final policy (average.ts; 0 = last iterate). */
  averageFraction: number;
  /** Linearly decay the policy and critic learning rates to 0 over `totalUpdates` (CleanRL's anneal_lr). */
  annealLr: boolean;
  totalUpdates: number;
}

/** The per-minibatch tensors a loss sees. */
export interface MinibatchTerms {
  /** ρ = π(a|s)/π_old(a|s). */
  ratio: tf.Tensor1D;
  logRatio: tf.Tensor1D;
  entropy: tf.Tensor1D;
  /** Reward advantage (normalised as configured). */
  advR: tf.Tensor1D;
  /** Cost advantage (centred or standardised); present for constrained trainers. */
  advC?: tf.Tensor1D;
  /** Rows in the minibatch. */
  size: number;
}

/** What a loss returns: the scalar to minimise and named scalar terms to log (averaged over steps). */
export interface LossTerms {
  loss: tf.Scalar;
  terms?: Record<string, tf.Scalar>;
}

/** What `beforeEpochs` sees. */
export interface UpdateContext {
  batch: RolloutBatch;
  reward: SignalView;
  cost?: SignalView;
  /** Mean undiscounted episode cost over the recent-episode window (constrained trainers). */
  jc: number;
}

export abstract class OnPolicyTrainer implements Trainer {
  abstract readonly name: string;
  readonly metricNames: readonly string[];
  protected readonly opt: Adam;
  protected readonly critic: Mlp;
  protected readonly criticOpt: Adam;
  protected readonly costCritic?: Mlp;
  protected readonly costCriticOpt?: Adam;
  /** Costs of the most recent episodes (oldest first), for J_C. */
  protected recentCosts: number[] = [];
  /** Updates applied so far (drives learning-rate annealing; checkpointed). */
  protected updatesDone = 0;
  /** The averaged final policy (average.ts). */
  protected readonly average: PolicyAverage;

  protected constructor(
    readonly policy: CategoricalPolicy,
    readonly o: OnPolicyOptions,
    initRng: Rng,
    /** Minibatch order (RunRngs.trainer, checkpointed by the run). */
    protected readonly rng: Rng,
    /** Whether the trainer uses the cost signal (cost critic, cost GAE, J_C). */
    readonly usesCost: boolean,
    /** Its metrics.csv columns (metric-names.ts). */
    metricNames: readonly string[],
  ) {
    this.opt = new Adam(policy.variables, o.lr, 0.9, 0.999, o.adamEps);
    this.average = new PolicyAverage([policy], o.averageFraction, o.totalUpdates);
    this.critic = new Mlp("value", policy.inputDim, 1, { ...o.valueNet, outputGain: 1 }, initRng);
    this.criticOpt = new Adam(this.critic.variables, o.valueLr, 0.9, 0.999, o.adamEps);
    if (usesCost) {
      this.costCritic = new Mlp("cost_value", policy.inputDim, 1, { ...o.valueNet, outputGain: 1 }, initRng);
      this.costCriticOpt = new Adam(this.costCritic.variables, o.valueLr, 0.9, 0.999, o.adamEps);
    }
    this.metricNames = metricNames;
  }

  /** The reward signal: the configured reward (ppo) or the task reward only (CMDP trainers). */
  protected rewardSignal(batch: RolloutBatch): Float32Array {
    return this.usesCost ? batch.taskRewards : batch.rewards;
  }

  /** Hook run once per update before the policy epochs (the dual step of PPO-Lagrangian). */
  protected beforeEpochs(_ctx: UpdateContext): UpdateMetrics {
    return {};
  }

  /** The policy loss to minimise on one minibatch (without the entropy bonus, which the base adds). */
  protected abstract policyLoss(mb: MinibatchTerms): LossTerms;

  /** JSON state of the subclass (λ, optimiser state...). */
  protected extraState(): Record<string, unknown> {
    return {};
  }

  protected restoreExtra(_json: Record<string, unknown>): void {}

  async update(batch: RolloutBatch): Promise<UpdateMetrics> {
    const o = this.o;
    if (o.annealLr) {
      // CleanRL: lr_k = lr·(1 − k/K) for update k = 0..K−1
      const frac = Math.max(0, 1 - this.updatesDone / Math.max(1, o.totalUpdates));
      this.opt.lr = o.lr * frac;
      this.criticOpt.lr = o.valueLr * frac;
      if (this.costCriticOpt) this.costCriticOpt.lr = o.valueLr * frac;
    }
    const beta = linearSchedule(o.entropyCoef, o.entropyCoefFinal, this.updatesDone, o.totalUpdates);
    this.updatesDone += 1;
    const n = batch.rows;
    const k = batch.numActions;
    const xAll = tf.tensor2d(batch.obs, [n, batch.obsDim]);
    let reward: SignalView;
    let cost: SignalView | undefined;
    try {
      reward = signalView(batch, this.rewardSignal(batch), this.critic.values(xAll), o.gamma, o.gaeLambda);
      if (this.costCritic) {
        cost = signalView(batch, batch.costs, this.costCritic.values(xAll), o.costGamma, o.costGaeLambda);
      }
    } finally {
      xAll.dispose();
    }
    if (this.usesCost) pushRecentCosts(this.recentCosts, batch, o.costWindow);
    const jc = this.usesCost ? mean(this.recentCosts) : NaN;
    const pre = this.beforeEpochs({ batch, reward, ...(cost ? { cost } : {}), jc });

    const advR = normalizedAdvantages(reward.advantages, "reward", o);
    const advC = cost ? normalizedAdvantages(cost.advantages, "cost", o) : undefined;

    const sums: Record<string, number> = {};
    const add = (key: string, v: number) => (sums[key] = (sums[key] ?? 0) + v);
    let steps = 0;
    let epochsDone = 0;
    const mbSize = Math.max(1, Math.ceil(n / o.minibatches));
    let stop = false;
    for (let epoch = 0; epoch < o.epochs && !stop; epoch++) {
      const perm = this.rng.permutation(n);
      let mbDone = 0;
      const mbCount = Math.ceil(n / mbSize);
      for (let start = 0; start < n; start += mbSize) {
        const idx = perm.slice(start, start + mbSize);
        const m = idx.length;
        const x = tf.tensor2d(gatherRows(batch.obs, idx, batch.obsDim), [m, batch.obsDim]);
        const a = oneHot(
          idx.map((r) => batch.actions[r]!),
          k,
        );
        const oldLogp = tf.tensor1d(gatherRows(batch.logp, idx));
        const advRT = tf.tensor1d(gatherRows(advR, idx));
        const advCT = advC ? tf.tensor1d(gatherRows(advC, idx)) : undefined;
        const mask = batch.masks ? tf.tensor2d(gatherRows(batch.masks, idx, k), [m, k]) : undefined;
        const retRT = tf.tensor1d(gatherRows(reward.returns, idx));
        const retCT = cost ? tf.tensor1d(gatherRows(cost.returns, idx)) : undefined;
        try {
          const logged: Record<string, number> = {};
          const costNet = this.costCritic;
          const vars = [...this.policy.variables, ...this.critic.variables, ...(costNet ? costNet.variables : [])];
          // One gradient pass for the policy loss and the critics' MSE losses: their parameters are
          // disjoint, so the gradient of the sum splits into each network's own gradient.
          const { value, grads } = tf.variableGrads(() => {
            const { logp, entropy } = this.policy.logProbEntropy(x, a, mask);
            const logRatio = tf.sub(logp, oldLogp) as tf.Tensor1D;
            const ratio = tf.exp(logRatio) as tf.Tensor1D;
            const { loss, terms } = this.policyLoss({
              ratio,
              logRatio,
              entropy,
              advR: advRT,
              ...(advCT ? { advC: advCT } : {}),
              size: m,
            });
            const meanEnt = tf.mean(entropy);
            const vLoss = tf.mean(tf.square(tf.sub(tf.reshape(this.critic.apply(x), [m]), retRT)));
            const cLoss = costNet && retCT ? tf.mean(tf.square(tf.sub(tf.reshape(costNet.apply(x), [m]), retCT))) : undefined;
            logged.loss = loss.dataSync()[0]!;
            logged.entropy = meanEnt.dataSync()[0]!;
            logged.kl = approxKl(logRatio).dataSync()[0]!;
            logged.clip_frac = clipFraction(ratio, o.clipRatio).dataSync()[0]!;
            logged.value_loss = vLoss.dataSync()[0]!;
            if (cLoss) logged.cost_value_loss = cLoss.dataSync()[0]!;
            for (const [name, t] of Object.entries(terms ?? {})) logged[name] = t.dataSync()[0]!;
            let total = beta !== 0 ? tf.sub(loss, tf.mul(meanEnt, beta)) : loss;
            total = tf.add(total, vLoss);
            if (cLoss) total = tf.add(total, cLoss);
            return total as tf.Scalar;
          }, vars);
          value.dispose();
          const gradList = vars.map((v) => grads[v.name]!);
          const np = this.policy.variables.length;
          const nv = this.critic.variables.length;
          for (const key of ["loss", "value_loss", "cost_value_loss"]) {
            const v = logged[key];
            if (v !== undefined && !Number.isFinite(v)) {
              tf.dispose(gradList);
              throw new NonFiniteLossError(`${this.name} ${key.replace(/_/g, " ")}`, v);
            }
          }
          if (o.targetKl !== null && logged.kl! > 1.5 * o.targetKl) {
            // SB3: the minibatch that crossed the KL limit is not applied, and the epochs stop.
            tf.dispose(gradList);
            stop = true;
            break;
          }
          const clipped = clipByGlobalNorm(gradList.slice(0, np), o.maxGradNorm);
          this.opt.apply(clipped.grads);
          this.criticOpt.apply(gradList.slice(np, np + nv));
          if (costNet) this.costCriticOpt!.apply(gradList.slice(np + nv));
          add("grad_norm", clipped.norm.dataSync()[0]!);
          tf.dispose([...gradList, ...clipped.grads, clipped.norm]);
          for (const [key, v] of Object.entries(logged)) add(key, v);
          steps++;
          mbDone++;
        } finally {
          tf.dispose([x, a, oldLogp, advRT, retRT, ...(advCT ? [advCT] : []), ...(retCT ? [retCT] : []), ...(mask ? [mask] : [])]);
        }
      }
      epochsDone += mbDone / mbCount;
    }

    const out: UpdateMetrics = { ...pre, epochs: epochsDone, lr: this.opt.lr };
    if (this.usesCost) out.jc = jc;
    for (const [key, v] of Object.entries(sums)) {
      out[key] = v / Math.max(1, steps);
    }
    // nothing applied (KL stop on the first minibatch cannot happen: ρ = 1 there), but keep columns defined
    if (steps === 0) Object.assign(out, { loss: NaN, entropy: NaN });
    this.average.afterUpdate(this.updatesDone, batch);
    return out;
  }

  state(): TrainerState {
    const p = this.opt.state("policy_adam");
    const v = this.criticOpt.state("value_adam");
    const avg = this.average.state("policy_avg");
    const tensors = [
      ...namedVariables("policy", this.policy.variables),
      ...p.tensors,
      ...namedVariables("value", this.critic.variables),
      ...v.tensors,
      ...avg.tensors,
    ];
    const json: Record<string, unknown> = {
      policyAdamStep: p.t,
      valueAdamStep: v.t,
      recentCosts: [...this.recentCosts],
      updatesDone: this.updatesDone,
      policyAverage: avg.json,
    };
    if (this.costCritic && this.costCriticOpt) {
      const c = this.costCriticOpt.state("cost_value_adam");
      tensors.push(...namedVariables("cost_value", this.costCritic.variables), ...c.tensors);
      json.costValueAdamStep = c.t;
    }
    return { tensors, json: { ...json, ...this.extraState() } };
  }

  restore(tensors: tf.NamedTensorMap, json: Record<string, unknown>): void {
    restoreVariables("policy", this.policy.variables, tensors);
    this.opt.restore("policy_adam", Number(json.policyAdamStep), tensors);
    restoreVariables("value", this.critic.variables, tensors);
    this.criticOpt.restore("value_adam", Number(json.valueAdamStep), tensors);
    if (this.costCritic && this.costCriticOpt) {
      restoreVariables("cost_value", this.costCritic.variables, tensors);
      this.costCriticOpt.restore("cost_value_adam", Number(json.costValueAdamStep), tensors);
    }
    this.updatesDone = Number(json.updatesDone ?? 0);
    this.average.restore("policy_avg", json.policyAverage, tensors);
    this.recentCosts = Array.isArray(json.recentCosts) ? (json.recentCosts as number[]).map(Number) : [];
    this.restoreExtra(json);
  }

  dispose(): void {
    this.opt.dispose();
    this.average.dispose();
    this.criticOpt.dispose();
    this.critic.dispose();
    this.costCritic?.dispose();
    this.costCriticOpt?.dispose();
  }
}
