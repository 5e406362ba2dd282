/**
 * The reward and cost critics V_R and V_C of every trainer that has critics (ppo, ppo-lagrangian, p3o,
 * cpo, macpo, mappo-lagrangian; reinforce's value baseline is V_R alone): MLPs with their own Adam, GAE
 * per signal (buffer.ts), J_C over a window of recent episodes, and the advantages a policy step uses —
 * A_R standardised when normalizeAdvantage, A_C centred (or standardised).
 *
 * Two ways to fit them, both to the GAE returns (the TD(λ) target, Schulman et al. 2016):
 * - inside the policy's minibatch step ({@link Critics.losses}, {@link Critics.apply}): the first-order
 *   trainers of on-policy.ts add the critics' MSE to the policy loss and take one gradient pass, their
 *   parameters being disjoint;
 * - after the policy step ({@link Critics.fit}): `epochs` passes of shuffled minibatches (trainer RNG
 *   stream), for the trainers whose policy step is their own (a CPO step, per-head PPO).
 */
import type { Rng } from "../core/rng.js";
import { mean } from "../core/math.js";
import type { RolloutBatch } from "../env/rollout.js";
import { tf } from "../policy/backend.js";
import { Mlp, type MlpOptions } from "../policy/mlp.js";
import { Adam, namedVariables, restoreVariables } from "./adam.js";
import { gatherRows, Minibatches, normalizedAdvantages, pushRecentCosts, signalView, type SignalView } from "./buffer.js";
import { checkFinite, type TrainerState } from "./trainer.js";

/** The critic networks and their optimiser. */
export interface CriticNetOptions {
  valueNet: MlpOptions;
  valueLr: number;
  adamEps: number;
}

/** How one update's advantages are computed (GAE per signal, normalisation, the J_C window). */
export interface AdvantageOptions {
  gamma: number;
  gaeLambda: number;
  costGamma: number;
  costGaeLambda: number;
  normalizeAdvantage: boolean;
  standardizeCostAdvantage: boolean;
  costWindow: number;
}

/** What one update's policy step works with. */
export interface PreparedBatch {
  reward: SignalView;
  /** Present when the critics include V_C. */
  cost?: SignalView;
  /** A_R, standardised when configured. */
  advR: Float64Array;
  /** A_C, centred (or standardised). */
  advC?: Float64Array;
  /** Mean undiscounted episode cost over the recent-episode window (NaN without V_C). */
  jc: number;
  /** Mean episode length of the batch. */
  meanLength: number;
}

/** A prepared batch of a trainer with both critics. */
export type ConstrainedBatch = PreparedBatch & { cost: SignalView; advC: Float64Array };

export class Critics {
  readonly value: Mlp;
  readonly cost?: Mlp;
  private readonly valueOpt: Adam;
  private readonly costOpt?: Adam;
  /** Costs of the most recent episodes (oldest first), for J_C. */
  recentCosts: number[] = [];

  /** V_R always; V_C when `withCost` (the constrained trainers). Created in that order from `initRng`. */
  constructor(inputDim: number, o: CriticNetOptions, initRng: Rng, withCost: boolean) {
    this.value = new Mlp("value", inputDim, 1, { ...o.valueNet, outputGain: 1 }, initRng);
    this.valueOpt = new Adam(this.value.variables, o.valueLr, 0.9, 0.999, o.adamEps);
    if (withCost) {
      this.cost = new Mlp("cost_value", inputDim, 1, { ...o.valueNet, outputGain: 1 }, initRng);
      this.costOpt = new Adam(this.cost.variables, o.valueLr, 0.9, 0.999, o.adamEps);
    }
  }

  /** Sets every critic's learning rate (the schedule of schedules.ts). */
  setLr(lr: number): void {
    this.valueOpt.lr = lr;
    if (this.costOpt) this.costOpt.lr = lr;
  }

  /** GAE of `signal` (and of the cost with V_C), J_C over the window, the normalised advantages. */
  prepare(batch: RolloutBatch, signal: ArrayLike<number>, o: AdvantageOptions): PreparedBatch {
    const x = tf.tensor2d(batch.obs, [batch.rows, batch.obsDim]);
    let reward: SignalView;
    let cost: SignalView | undefined;
    try {
      reward = signalView(batch, signal, this.value.values(x), o.gamma, o.gaeLambda);
      if (this.cost) cost = signalView(batch, batch.costs, this.cost.values(x), o.costGamma, o.costGaeLambda);
    } finally {
      x.dispose();
    }
    if (cost) pushRecentCosts(this.recentCosts, batch, o.costWindow);
    return {
      reward,
      advR: normalizedAdvantages(reward.advantages, "reward", o),
      ...(cost ? { cost, advC: normalizedAdvantages(cost.advantages, "cost", o) } : {}),
      jc: cost ? mean(this.recentCosts) : NaN,
      meanLength: mean(batch.episodes.map((e) => e.length)),
    };
  }

  /** Every critic's variables: V_R's, then V_C's (the order {@link apply} takes gradients in). */
  get variables(): tf.Variable[] {
    return [...this.value.variables, ...(this.cost ? this.cost.variables : [])];
  }

  /** The MSE of each critic to its targets on the rows of `x` (call inside a gradient scope). */
  losses(x: tf.Tensor2D, retR: tf.Tensor1D, retC?: tf.Tensor1D): { value: tf.Scalar; cost?: tf.Scalar } {
    const m = x.shape[0];
    const mse = (net: Mlp, target: tf.Tensor1D) => tf.mean(tf.square(tf.sub(tf.reshape(net.apply(x), [m]), target))) as tf.Scalar;
    return { value: mse(this.value, retR), ...(this.cost && retC ? { cost: mse(this.cost, retC) } : {}) };
  }

  /** One Adam step of each critic; `grads` in {@link variables} order. */
  apply(grads: readonly tf.Tensor[]): void {
    const nv = this.value.variables.length;
    this.valueOpt.apply(grads.slice(0, nv));
    if (this.costOpt) this.costOpt.apply(grads.slice(nv));
  }

  /** One full-batch Adam step of V_R on the MSE to `targets` (reinforce's value baseline); returns the MSE. */
  step(x: tf.Tensor2D, targets: Float32Array, trainer: string): number {
    const y = tf.tensor1d(targets);
    const { value, grads } = tf.variableGrads(() => this.losses(x, y).value, this.value.variables);
    const list = this.value.variables.map((v) => grads[v.name]!);
    try {
      const loss = value.dataSync()[0]!;
      checkFinite(trainer, { value_loss: loss });
      this.valueOpt.apply(list);
      return loss;
    } finally {
      tf.dispose([y, value, ...list]);
    }
  }

  /** Fits the critics to their GAE returns by `epochs` × `minibatches` Adam steps; returns each one's mean MSE. */
  fit(
    batch: RolloutBatch,
    p: PreparedBatch,
    o: { epochs: number; minibatches: number },
    rng: Rng,
    trainer: string,
  ): Record<string, number> {
    let vSum = 0;
    let cSum = 0;
    const vars = this.variables;
    const mbs = new Minibatches(batch.rows, o.epochs, o.minibatches, rng);
    for (const idx of mbs) {
      const x = tf.tensor2d(gatherRows(batch.obs, idx, batch.obsDim), [idx.length, batch.obsDim]);
      const retR = tf.tensor1d(gatherRows(p.reward.returns, idx));
      const retC = p.cost ? tf.tensor1d(gatherRows(p.cost.returns, idx)) : undefined;
      let vl = 0;
      let cl: number | undefined;
      // one gradient pass for both critics (disjoint parameters)
      const { value, grads } = tf.variableGrads(() => {
        const l = this.losses(x, retR, retC);
        vl = l.value.dataSync()[0]!;
        cl = l.cost?.dataSync()[0];
        return (l.cost ? tf.add(l.value, l.cost) : l.value) as tf.Scalar;
      }, vars);
      const list = vars.map((v) => grads[v.name]!);
      try {
        checkFinite(trainer, { value_loss: vl, cost_value_loss: cl });
        this.apply(list);
      } finally {
        tf.dispose([x, retR, ...(retC ? [retC] : []), value, ...list]);
      }
      vSum += vl;
      cSum += cl ?? 0;
    }
    const steps = Math.max(1, mbs.steps);
    return { value_loss: vSum / steps, ...(this.cost ? { cost_value_loss: cSum / steps } : {}) };
  }

  /** Weights and Adam state of V_R and of V_C, separately (callers keep their checkpoints' tensor order). */
  state(): { value: TrainerState; cost?: TrainerState } {
    const v = this.valueOpt.state("value_adam");
    const out: { value: TrainerState; cost?: TrainerState } = {
      value: { tensors: [...namedVariables("value", this.value.variables), ...v.tensors], json: { valueAdamStep: v.t } },
    };
    if (this.cost && this.costOpt) {
      const c = this.costOpt.state("cost_value_adam");
      out.cost = { tensors: [...namedVariables("cost_value", this.cost.variables), ...c.tensors], json: { costValueAdamStep: c.t } };
    }
    return out;
  }

  restore(tensors: tf.NamedTensorMap, json: Record<string, unknown>): void {
    restoreVariables("value", this.value.variables, tensors);
    this.valueOpt.restore("value_adam", Number(json.valueAdamStep), tensors);
    if (this.cost && this.costOpt) {
      restoreVariables("cost_value", this.cost.variables, tensors);
      this.costOpt.restore("cost_value_adam", Number(json.costValueAdamStep), tensors);
    }
    this.recentCosts = Array.isArray(json.recentCosts) ? (json.recentCosts as number[]).map(Number) : [];
  }

  dispose(): void {
    this.value.dispose();
    this.cost?.dispose();
    this.valueOpt.dispose();
    this.costOpt?.dispose();
  }
}
