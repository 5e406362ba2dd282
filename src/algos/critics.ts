/**
 * The reward and cost critics of the trust-region / multi-head constrained trainers (cpo, macpo,
 * mappo-lagrangian): the same machinery as the on-policy base (on-policy.ts) — V_R and V_C MLPs with
 * their own Adam, GAE per signal (buffer.ts), J_C over a window of recent episodes, A_R standardised
 * (normalizeAdvantage), A_C centred (or standardised) — but without the base's policy epochs, because
 * these trainers update the policy their own way (a CPO step per head, or sequential per-head PPO).
 *
 * Critics are fitted after the policy step, by `epochs` passes of `minibatches` shuffled minibatches
 * (trainer RNG stream) of MSE to the GAE returns (Schulman et al. 2016, the TD(λ) target).
 */
import type { Rng } from "../core/rng.js";
import { mean } from "../core/math.js";
import type { RolloutBatch } from "../env/rollout.js";
import { tf } from "../policy/backend.js";
import { Mlp } from "../policy/mlp.js";
import { Adam, namedVariables, restoreVariables } from "./adam.js";
import { gatherRows, normalizedAdvantages, pushRecentCosts, signalView, type SignalView } from "./buffer.js";
import type { OnPolicyOptions } from "./on-policy.js";
import { NonFiniteLossError, type TrainerState } from "./trainer.js";

/** What one update's policy step works with. */
export interface PreparedBatch {
  reward: SignalView;
  cost: SignalView;
  /** A_R, standardised when configured. */
  advR: Float64Array;
  /** A_C, centred (or standardised). */
  advC: Float64Array;
  /** Mean undiscounted episode cost over the recent-episode window. */
  jc: number;
  /** Mean episode length of the batch. */
  meanLength: number;
}

export class CriticPair {
  readonly critic: Mlp;
  readonly costCritic: Mlp;
  private readonly opt: Adam;
  private readonly costOpt: Adam;
  /** Costs of the most recent episodes (oldest first), for J_C. */
  recentCosts: number[] = [];

  constructor(
    inputDim: number,
    readonly o: OnPolicyOptions,
    initRng: Rng,
  ) {
    this.critic = new Mlp("value", inputDim, 1, { ...o.valueNet, outputGain: 1 }, initRng);
    this.costCritic = new Mlp("cost_value", inputDim, 1, { ...o.valueNet, outputGain: 1 }, initRng);
    this.opt = new Adam(this.critic.variables, o.valueLr, 0.9, 0.999, o.adamEps);
    this.costOpt = new Adam(this.costCritic.variables, o.valueLr, 0.9, 0.999, o.adamEps);
  }

  /** Sets both critics' learning rate (annealing). */
  setLr(lr: number): void {
    this.opt.lr = lr;
    this.costOpt.lr = lr;
  }

  /** GAE of the task reward and of the cost, J_C over the window, normalised advantages. */
  prepare(batch: RolloutBatch): PreparedBatch {
    const o = this.o;
    const n = batch.rows;
    const x = tf.tensor2d(batch.obs, [n, batch.obsDim]);
    let reward: SignalView;
    let cost: SignalView;
    try {
      reward = signalView(batch, batch.taskRewards, this.critic.values(x), o.gamma, o.gaeLambda);
      cost = signalView(batch, batch.costs, this.costCritic.values(x), o.costGamma, o.costGaeLambda);
    } finally {
      x.dispose();
    }
    pushRecentCosts(this.recentCosts, batch, o.costWindow);
    const advR = normalizedAdvantages(reward.advantages, "reward", o);
    const advC = normalizedAdvantages(cost.advantages, "cost", o);
    return { reward, cost, advR, advC, jc: mean(this.recentCosts), meanLength: mean(batch.episodes.map((e) => e.length)) };
  }

  /** Fits V_R and V_C to their GAE returns; returns the mean MSE of each. */
  fit(batch: RolloutBatch, p: PreparedBatch, rng: Rng): { value_loss: number; cost_value_loss: number } {
    const o = this.o;
    const n = batch.rows;
    const mbSize = Math.max(1, Math.ceil(n / o.minibatches));
    let vSum = 0;
    let cSum = 0;
    let steps = 0;
    const vars = [...this.critic.variables, ...this.costCritic.variables];
    const nv = this.critic.variables.length;
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const perm = rng.permutation(n);
      for (let start = 0; start < n; start += mbSize) {
        const idx = perm.slice(start, start + mbSize);
        const m = idx.length;
        const x = tf.tensor2d(gatherRows(batch.obs, idx, batch.obsDim), [m, batch.obsDim]);
        const retR = tf.tensor1d(gatherRows(p.reward.returns, idx));
        const retC = tf.tensor1d(gatherRows(p.cost.returns, idx));
        try {
          let vl = 0;
          let cl = 0;
          // one gradient pass for both critics (disjoint parameters)
          const { value, grads } = tf.variableGrads(() => {
            const v = tf.mean(tf.square(tf.sub(tf.reshape(this.critic.apply(x), [m]), retR)));
            const c = tf.mean(tf.square(tf.sub(tf.reshape(this.costCritic.apply(x), [m]), retC)));
            vl = v.dataSync()[0]!;
            cl = c.dataSync()[0]!;
            return tf.add(v, c) as tf.Scalar;
          }, vars);
          value.dispose();
          const list = vars.map((v) => grads[v.name]!);
          if (!Number.isFinite(vl) || !Number.isFinite(cl)) {
            tf.dispose(list);
            throw new NonFiniteLossError("critic loss", Number.isFinite(vl) ? cl : vl);
          }
          this.opt.apply(list.slice(0, nv));
          this.costOpt.apply(list.slice(nv));
          tf.dispose(list);
          vSum += vl;
          cSum += cl;
          steps++;
        } finally {
          tf.dispose([x, retR, retC]);
        }
      }
    }
    return { value_loss: vSum / Math.max(1, steps), cost_value_loss: cSum / Math.max(1, steps) };
  }

  state(): TrainerState {
    const v = this.opt.state("value_adam");
    const c = this.costOpt.state("cost_value_adam");
    return {
      tensors: [...namedVariables("value", this.critic.variables), ...v.tensors, ...namedVariables("cost_value", this.costCritic.variables), ...c.tensors],
      json: { valueAdamStep: v.t, costValueAdamStep: c.t, recentCosts: [...this.recentCosts] },
    };
  }

  restore(tensors: tf.NamedTensorMap, json: Record<string, unknown>): void {
    restoreVariables("value", this.critic.variables, tensors);
    this.opt.restore("value_adam", Number(json.valueAdamStep), tensors);
    restoreVariables("cost_value", this.costCritic.variables, tensors);
    this.costOpt.restore("cost_value_adam", Number(json.costValueAdamStep), tensors);
    this.recentCosts = Array.isArray(json.recentCosts) ? (json.recentCosts as number[]).map(Number) : [];
  }

  dispose(): void {
    this.critic.dispose();
    this.costCritic.dispose();
    this.opt.dispose();
    this.costOpt.dispose();
  }
}

export type ConstraintScale = "auto" | "one-minus-gamma" | "one" | "inverse-episode-length";

/**
 * The factor s of c = s·(J_C − d): (1 − γ_C) as the reference CPO/MACPO code does (its J_C is a
 * discounted per-step average), 1, or 1/mean episode length (L_C is a per-step mean while J_C − d is
 * per episode: in an undiscounted episode J_C(θ) − J_C(θ_old) ≈ L̄·L_C). auto = (1 − γ_C) when
 * γ_C < 1, else 1/L̄ ((1 − γ_C) would make c ≡ 0).
 */
export function constraintScale(kind: ConstraintScale, costGamma: number, meanLength: number): number {
  switch (kind) {
    case "one":
      return 1;
    case "one-minus-gamma":
      return 1 - costGamma;
    case "inverse-episode-length":
      return 1 / Math.max(1e-8, meanLength);
    case "auto":
      return costGamma < 1 ? 1 - costGamma : 1 / Math.max(1e-8, meanLength);
  }
}
