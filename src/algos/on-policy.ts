/**
 * The shared base of the first-order on-policy trainers (Stable-Baselines3's OnPolicyAlgorithm):
 * ppo.ts, ppo-lagrangian.ts and p3o.ts each override {@link OnPolicyTrainer.policyLoss} and, for a
 * constrained trainer, {@link OnPolicyTrainer.dualStep}; everything else of an update is here.
 *
 * One update on a rollout batch:
 *   1. prepare (critics.ts): V_R (and V_C) evaluate every row; GAE per trajectory of the reward signal
 *      (γ, λ_GAE) and the cost signal (γ_C, λ_GAE,C); J_C = mean undiscounted episode cost of the last
 *      `costWindow` episodes; A_R standardised (normalizeAdvantage), A_C centred (or standardised);
 *   2. `dualStep` — the multiplier or penalty update of a constrained trainer, which may replace the
 *      advantage the loss sees (PPO-Lagrangian's combined advantage);
 *   3. `epochs` passes of `minibatches` shuffled minibatches (buffer.ts, trainer RNG stream): one gradient
 *      pass of `policyLoss − β·entropy` plus the critics' MSE to their GAE returns (disjoint parameters);
 *      the policy's step with global-norm clipping and Adam, each critic's Adam step; all epochs stop once
 *      a minibatch's approx KL > 1.5·targetKl (SB3's rule, checked before that minibatch's step);
 *   4. logged: loss (policy loss), entropy, kl, clip_frac, value_loss, cost_value_loss, grad_norm, epochs
 *      (completed, fractional when stopped early), lr, jc, and every term the trainer reports.
 */
import type { Rng } from "../core/rng.js";
import type { RolloutBatch } from "../env/rollout.js";
import { tf } from "../policy/backend.js";
import type { MlpOptions } from "../policy/mlp.js";
import { oneHot, type CategoricalPolicy } from "../policy/policy.js";
import { Adam, clipByGlobalNorm, namedVariables, restoreVariables } from "./adam.js";
import { PolicyAverage } from "./average.js";
import { gatherRows, Minibatches } from "./buffer.js";
import { Critics, type AdvantageOptions, type PreparedBatch } from "./critics.js";
import { linearSchedule, lrFactor } from "./schedules.js";
import { approxKl, clipFraction } from "./surrogate.js";
import { checkFinite, type Trainer, type TrainerState, type UpdateMetrics } from "./trainer.js";

/** The options of every trainer with critics (on-policy.ts, macpo.ts, mappo-lagrangian.ts). */
export interface OnPolicyOptions extends AdvantageOptions {
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
  /** The advantage of the objective: A_R (normalised as configured), or what `dualStep` returned. */
  adv: tf.Tensor1D;
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

/** What a dual step returns: columns to log, and optionally the advantage the loss uses instead of A_R. */
export interface DualStep {
  metrics: UpdateMetrics;
  advantage?: ArrayLike<number>;
}

export abstract class OnPolicyTrainer implements Trainer {
  abstract readonly name: string;
  readonly metricNames: readonly string[];
  protected readonly opt: Adam;
  protected readonly critics: Critics;
  /** Updates applied so far (drives the schedules; checkpointed). */
  protected updatesDone = 0;
  /** The averaged final policy (average.ts). */
  protected readonly average: PolicyAverage;

  protected constructor(
    readonly policy: CategoricalPolicy,
    readonly o: OnPolicyOptions,
    initRng: Rng,
    /** Minibatch order (RunRngs.trainer, checkpointed by the run). */
    protected readonly rng: Rng,
    /** Whether the trainer solves the CMDP: task reward as the reward signal, a cost critic, J_C. */
    readonly usesCost: boolean,
    /** Its metrics.csv columns (metric-names.ts). */
    metricNames: readonly string[],
  ) {
    this.opt = new Adam(policy.variables, o.lr, 0.9, 0.999, o.adamEps);
    this.average = new PolicyAverage([policy], o.averageFraction, o.totalUpdates);
    this.critics = new Critics(policy.inputDim, o, initRng, usesCost);
    this.metricNames = metricNames;
  }

  /** The multiplier or penalty step of a constrained trainer, once per update before the epochs. */
  protected dualStep(_p: PreparedBatch): DualStep {
    return { metrics: {} };
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
    const lrf = lrFactor(o.annealLr, this.updatesDone, o.totalUpdates);
    this.opt.lr = o.lr * lrf;
    this.critics.setLr(o.valueLr * lrf);
    const beta = linearSchedule(o.entropyCoef, o.entropyCoefFinal, this.updatesDone, o.totalUpdates);
    this.updatesDone += 1;

    // 1. prepare; 2. dual step
    const prep = this.critics.prepare(batch, this.usesCost ? batch.taskRewards : batch.rewards, o);
    const dual = this.dualStep(prep);
    const adv = dual.advantage ?? prep.advR;

    // 3. epochs × minibatches
    const n = batch.rows;
    const k = batch.numActions;
    const sums: Record<string, number> = {};
    const add = (key: string, v: number) => (sums[key] = (sums[key] ?? 0) + v);
    const mbs = new Minibatches(n, o.epochs, o.minibatches, this.rng);
    const vars = [...this.policy.variables, ...this.critics.variables];
    const np = this.policy.variables.length;
    for (const idx of mbs) {
      const m = idx.length;
      const x = tf.tensor2d(gatherRows(batch.obs, idx, batch.obsDim), [m, batch.obsDim]);
      const a = oneHot(
        idx.map((r) => batch.actions[r]!),
        k,
      );
      const oldLogp = tf.tensor1d(gatherRows(batch.logp, idx));
      const advT = tf.tensor1d(gatherRows(adv, idx));
      const advCT = prep.advC ? tf.tensor1d(gatherRows(prep.advC, idx)) : undefined;
      const mask = batch.masks ? tf.tensor2d(gatherRows(batch.masks, idx, k), [m, k]) : undefined;
      const retRT = tf.tensor1d(gatherRows(prep.reward.returns, idx));
      const retCT = prep.cost ? tf.tensor1d(gatherRows(prep.cost.returns, idx)) : undefined;
      const logged: Record<string, number> = {};
      const { value, grads } = tf.variableGrads(() => {
        const { logp, entropy } = this.policy.logProbEntropy(x, a, mask);
        const logRatio = tf.sub(logp, oldLogp) as tf.Tensor1D;
        const ratio = tf.exp(logRatio) as tf.Tensor1D;
        const { loss, terms } = this.policyLoss({ ratio, logRatio, entropy, adv: advT, ...(advCT ? { advC: advCT } : {}), size: m });
        const meanEnt = tf.mean(entropy);
        const critic = this.critics.losses(x, retRT, retCT);
        logged.loss = loss.dataSync()[0]!;
        logged.entropy = meanEnt.dataSync()[0]!;
        logged.kl = approxKl(logRatio).dataSync()[0]!;
        logged.clip_frac = clipFraction(ratio, o.clipRatio).dataSync()[0]!;
        logged.value_loss = critic.value.dataSync()[0]!;
        if (critic.cost) logged.cost_value_loss = critic.cost.dataSync()[0]!;
        for (const [name, t] of Object.entries(terms ?? {})) logged[name] = t.dataSync()[0]!;
        let total = beta !== 0 ? tf.sub(loss, tf.mul(meanEnt, beta)) : loss;
        total = tf.add(total, critic.value);
        if (critic.cost) total = tf.add(total, critic.cost);
        return total as tf.Scalar;
      }, vars);
      const gradList = vars.map((v) => grads[v.name]!);
      const owned = [value, x, a, oldLogp, advT, retRT, ...(advCT ? [advCT] : []), ...(retCT ? [retCT] : []), ...(mask ? [mask] : [])];
      try {
        checkFinite(this.name, { loss: logged.loss, value_loss: logged.value_loss, cost_value_loss: logged.cost_value_loss });
        // SB3: the minibatch that crossed the KL limit is not applied, and the epochs stop
        if (o.targetKl !== null && logged.kl! > 1.5 * o.targetKl) break;
        const clipped = clipByGlobalNorm(gradList.slice(0, np), o.maxGradNorm);
        this.opt.apply(clipped.grads);
        this.critics.apply(gradList.slice(np));
        add("grad_norm", clipped.norm.dataSync()[0]!);
        tf.dispose([...clipped.grads, clipped.norm]);
        for (const [key, v] of Object.entries(logged)) add(key, v);
      } finally {
        tf.dispose([...owned, ...gradList]);
      }
    }

    // 4. logged columns
    const out: UpdateMetrics = { ...dual.metrics, epochs: mbs.epochsDone, lr: this.opt.lr };
    if (this.usesCost) out.jc = prep.jc;
    for (const [key, v] of Object.entries(sums)) out[key] = v / Math.max(1, mbs.steps);
    // nothing applied (a KL stop on the first minibatch cannot happen: ρ = 1 there), but keep columns defined
    if (mbs.steps === 0) Object.assign(out, { loss: NaN, entropy: NaN });
    this.average.afterUpdate(this.updatesDone, batch);
    return out;
  }

  state(): TrainerState {
    const p = this.opt.state("policy_adam");
    const c = this.critics.state();
    const avg = this.average.state("policy_avg");
    // tensor order as checkpoints have always had it: policy, value, average, cost value
    const tensors = [
      ...namedVariables("policy", this.policy.variables),
      ...p.tensors,
      ...c.value.tensors,
      ...avg.tensors,
      ...(c.cost?.tensors ?? []),
    ];
    const json: Record<string, unknown> = {
      policyAdamStep: p.t,
      ...c.value.json,
      recentCosts: [...this.critics.recentCosts],
      updatesDone: this.updatesDone,
      policyAverage: avg.json,
      ...c.cost?.json,
    };
    return { tensors, json: { ...json, ...this.extraState() } };
  }

  restore(tensors: tf.NamedTensorMap, json: Record<string, unknown>): void {
    restoreVariables("policy", this.policy.variables, tensors);
    this.opt.restore("policy_adam", Number(json.policyAdamStep), tensors);
    this.critics.restore(tensors, json);
    this.updatesDone = Number(json.updatesDone ?? 0);
    this.average.restore("policy_avg", json.policyAverage, tensors);
    this.restoreExtra(json);
  }

  dispose(): void {
    this.opt.dispose();
    this.average.dispose();
    this.critics.dispose();
  }
}
