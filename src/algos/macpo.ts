/**
 * MACPO — Multi-Agent Constrained Policy Optimisation (Gu et al. 2021; "Safe Multi-Agent
 * Reinforcement Learning for Multi-Robot Control", Artificial Intelligence 2023), with the "agents" of
 * the multi-agent formulation being the heads of a factored orchestration decision (which agent acts ×
 * which model tier backs it), sharing one episode-cost budget d.
 *
 * The policy is a product π(a|s) = Π_h π^h(a_h|s) of separate networks (FactoredPolicy).
 *
 * Default (`algo.macpo.step: joint`): one CPO step over all heads' parameters at once (cpoJointStep in
 * cpo-step.ts): the product's Fisher is block-diagonal, so each head runs its own conjugate gradient, and
 * one dual — one cost multiplier ν for every head — and one line search on the joint KL move the heads
 * together. Why not Gu et al.'s per-head problems: a sequential step prices the cost per head (each head's
 * ν is its own), and stops where no head alone can raise the reward within the budget although the heads
 * together can (KKT of each block, not of the joint problem). On the two-head family it stalled at
 * 0.56–0.59 of J_R* on every seed of a one-step problem whose optimum needs the agent head and the tier
 * head to move together (family seed 3, problem 18; the joint step, seed 0: 1.002 of J_R* at 1.036·d).
 * Logged per head in this mode: the joint step's cpo_case, ls_step, surr_improve, cost_change and nu, and
 * the head's own kl (the heads' kl sum to the joint KL ≤ δ); no head_order.
 *
 * `step: sequential` is MACPO as published. One update:
 *   1. critics V_R, V_C evaluate the batch; GAE for the task reward and the cost; J_C = mean episode
 *      cost over the recent-episode window; c = s·(J_C − d) with s from cpo.constraintScale
 *      (default (1 − γ_C) as the reference code; the undiscounted sim configs use 1/episode length);
 *   2. a fresh random order of the heads is drawn from the trainer stream (HAPPO/MACPO's random
 *      permutation i_{1:n}, Kuba et al. 2022 Alg. 1; Gu et al. Alg. 1);
 *   3. heads are visited in that order; head i_m takes one CPO step (cpo-step.ts) on the surrogates
 *        L_R^{i_m} = mean_t M_t·ρ^{i_m}_t·A^R_t,   L_C^{i_m} = mean_t M_t·ρ^{i_m}_t·A^C_t,
 *      where M_t = Π_{j<m} π^{i_j}_new(a^{i_j}_t|s_t)/π^{i_j}_old(a^{i_j}_t|s_t) is the product of the
 *      probability ratios of the heads already updated in this iteration (the sequential-update
 *      correction, MACPO eq. 11 / HAPPO Lemma 2), against the shared constraint value plus the cost
 *      surrogate change of the heads already updated, c_m = c + mean_t (M_t − 1)·A^C_t;
 *   4. critics fitted to their GAE returns.
 * Logged per head h: h_cpo_case (0–4, cpo-step.ts), h_ls_step (accepted line-search trial, 0 =
 * rejected and θ restored), h_kl (mean KL at the accepted point), h_surr_improve (reward surrogate
 * gain), h_cost_change (cost surrogate change), h_nu (ν*, the cost multiplier of the step's dual); shared: jc, c, head_order (the visiting order as
 * decimal digits of 1-based head indices, e.g. 21 = head 2 then head 1).
 *
 * The single-head `cpo` trainer (cpo.ts) is this class with one head (M ≡ 1).
 */
import type { Rng } from "../core/rng.js";
import { decodeJoint } from "../env/heads.js";
import type { RolloutBatch } from "../env/rollout.js";
import { tf } from "../policy/backend.js";
import type { ActionPolicy } from "../policy/factored.js";
import { oneHot, type CategoricalPolicy } from "../policy/policy.js";
import { namedVariables, restoreVariables } from "./adam.js";
import { PolicyAverage } from "./average.js";
import { constraintScale, type ConstraintScale } from "./constraint.js";
import { Critics, type ConstrainedBatch } from "./critics.js";
import { cpoJointStep, cpoStep, type CpoStepOptions, type CpoStepResult } from "./cpo-step.js";
import type { OnPolicyOptions } from "./on-policy.js";
import { linearSchedule, lrFactor } from "./schedules.js";
import { checkFinite, type Trainer, type TrainerState, type UpdateMetrics } from "./trainer.js";
import { macpoMetricNames } from "./metric-names.js";

export interface CpoOptions extends CpoStepOptions {
  /** δ decays linearly from targetKl to this over `totalUpdates` (null = constant). */
  targetKlFinal: number | null;
  constraintScale: ConstraintScale;
  /** Cost limit d. */
  budget: number;
}

export interface HeadOrderOptions {
  headOrder: "random" | "fixed";
  /** macpo: one CPO step per head in turn (Gu et al.) or one step over every head's parameters (cpoJointStep). */
  step?: "sequential" | "joint";
}

/** What both kinds of MACPO step read (tensors owned by the update) and the metrics row they write. */
interface StepInputs {
  x: tf.Tensor2D;
  advR: tf.Tensor1D;
  advC: tf.Tensor1D;
  /** Per-head action indices of every row. */
  acts: Int32Array[];
  /** Constraint value s·(J_C − d). */
  c: number;
  stepOpts: CpoStepOptions;
  out: UpdateMetrics;
}

/** One head: its name (metric prefix) and its categorical network. */
export interface PolicyHead {
  name: string;
  policy: CategoricalPolicy;
}

/** Per-row, per-head action indices of a batch of joint actions. */
export function headActions(batch: RolloutBatch, sizes: readonly number[]): Int32Array[] {
  const out = sizes.map(() => new Int32Array(batch.rows));
  const idx = new Array<number>(sizes.length);
  for (let r = 0; r < batch.rows; r++) {
    decodeJoint(batch.actions[r]!, sizes, idx);
    for (let h = 0; h < sizes.length; h++) out[h]![r] = idx[h]!;
  }
  return out;
}

/** log π^h(a_h|s) of every row at the head's current parameters. */
export function headLogp(policy: CategoricalPolicy, x: tf.Tensor2D, a: tf.Tensor2D): Float32Array {
  const t = tf.tidy(() => tf.sum(tf.mul(tf.logSoftmax(policy.logits(x)), a), 1));
  const out = t.dataSync() as Float32Array;
  t.dispose();
  return out;
}

/** Mean entropy of π^h(·|s) over the rows. */
export function headEntropy(policy: CategoricalPolicy, x: tf.Tensor2D): number {
  const t = tf.tidy(() => {
    const l = tf.logSoftmax(policy.logits(x));
    return tf.neg(tf.mean(tf.sum(tf.mul(tf.exp(l), l), 1)));
  });
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
}

/** The visiting order as one number: decimal digits of the 1-based head indices (≤ 9 heads). */
export function encodeHeadOrder(order: readonly number[]): number {
  return order.reduce((acc, h) => acc * 10 + (h + 1), 0);
}

export class MacpoTrainer implements Trainer {
  readonly name: string = "macpo";
  readonly metricNames: readonly string[];
  protected readonly critics: Critics;
  protected updatesDone = 0;
  /** The averaged final policy over every head's parameters (average.ts). */
  protected readonly average: PolicyAverage;
  /** Metric prefix of each head ("" for single-head cpo). */
  private readonly prefixes: string[];

  constructor(
    readonly policy: ActionPolicy,
    readonly heads: readonly PolicyHead[],
    readonly o: OnPolicyOptions,
    readonly cpo: CpoOptions,
    readonly order: HeadOrderOptions,
    initRng: Rng,
    /** Head order and critic minibatches (RunRngs.trainer, checkpointed by the run). */
    protected readonly rng: Rng,
    /** Single-head cpo: unprefixed metric names, no head_order. */
    single = false,
  ) {
    this.critics = new Critics(policy.inputDim, o, initRng, true);
    this.average = new PolicyAverage(
      heads.map((h) => h.policy),
      o.averageFraction,
      o.totalUpdates,
    );
    this.prefixes = heads.map((h) => (single ? "" : `${h.name}_`));
    this.metricNames = macpoMetricNames(
      heads.map((h) => h.name),
      single,
      this.joint,
    );
  }

  get sizes(): number[] {
    return this.heads.map((h) => h.policy.numActions);
  }

  async update(batch: RolloutBatch): Promise<UpdateMetrics> {
    if (batch.masks) throw new Error(`${this.name}: action masks are not supported`);
    const o = this.o;
    this.critics.setLr(o.valueLr * lrFactor(o.annealLr, this.updatesDone, o.totalUpdates));
    // trust-region annealing: δ_k = δ_0 + (δ_final − δ_0)·k/K
    const delta = linearSchedule(this.cpo.targetKl, this.cpo.targetKlFinal, this.updatesDone, o.totalUpdates);
    const stepOpts = {
      ...this.cpo,
      targetKl: delta,
      entropyCoef: linearSchedule(o.entropyCoef, o.entropyCoefFinal, this.updatesDone, o.totalUpdates),
    };
    this.updatesDone += 1;
    const n = batch.rows;
    // 1. prepare: critics, GAE of the task reward and of the cost, J_C; the constraint value c = s·(J_C − d)
    const prep = this.critics.prepare(batch, batch.taskRewards, o) as ConstrainedBatch;
    const c = constraintScale(this.cpo.constraintScale, o.costGamma, prep.meanLength) * (prep.jc - this.cpo.budget);
    const H = this.heads.length;
    const acts = headActions(batch, this.sizes);
    // sequential updates visit the heads in an order (drawn from the trainer stream when random); the joint step has none
    const order = this.joint
      ? null
      : this.order.headOrder === "random" && H > 1
        ? this.rng.permutation(H)
        : Array.from({ length: H }, (_, h) => h);
    const out: UpdateMetrics = { jc: prep.jc, c, target_kl: delta };
    if (order && (H > 1 || this.prefixes[0] !== "")) out.head_order = encodeHeadOrder(order);

    const x = tf.tensor2d(batch.obs, [n, batch.obsDim]);
    const advR = tf.tensor1d(Float32Array.from(prep.advR));
    const advC = tf.tensor1d(Float32Array.from(prep.advC));
    let entropy = 0;
    let loss: number;
    try {
      for (const h of this.heads) entropy += headEntropy(h.policy, x);
      // 2. the trust-region step(s): one per head in order, or one joint step
      const shared = { x, advR, advC, acts, c, stepOpts, out };
      loss = order ? this.sequentialSteps(shared, order, prep.advC) : this.jointStep(shared);
    } finally {
      tf.dispose([x, advR, advC]);
    }
    // 3. critics fitted to their GAE returns; 4. logged columns
    const fit = this.critics.fit(batch, prep, o, this.rng, this.name);
    this.average.afterUpdate(this.updatesDone, batch);
    return { loss, entropy, ...out, ...fit };
  }

  /** Several heads with `step: joint`: one CPO step over all of them (cpoJointStep). */
  private get joint(): boolean {
    return this.heads.length > 1 && this.order.step === "joint";
  }

  /**
   * MACPO as published: head i_m, in `order`, takes its own CPO step on surrogates weighted by M, the
   * probability ratios of the heads updated before it. Returns −L_R at the last head's accepted point.
   */
  private sequentialSteps(s: StepInputs, order: readonly number[], advCRows: ArrayLike<number>): number {
    const { x, advR, advC, acts, c, stepOpts, out } = s;
    const n = x.shape[0];
    const M = new Float32Array(n).fill(1);
    let loss = NaN;
    for (const hi of order) {
      const head = this.heads[hi]!;
      const a = oneHot(acts[hi]!, head.policy.numActions);
      const old = headLogp(head.policy, x, a);
      const oldLogp = tf.tensor1d(old);
      const weights = tf.tensor1d(M);
      try {
        // MACPO's constraint for head i_m counts the cost surrogate change of the heads already updated
        // in this iteration (Gu et al. 2021, the L^j(π^{i_{1:m−1}}_{k+1}) term of the i_m-th problem):
        // c_m = c + mean(M·A_C) − mean(A_C). Without it every head could spend the whole slack −c and
        // the joint step overshoot the budget (measured on the two-head family: J_C up to 1.5·d).
        let costChangeSoFar = 0;
        for (let r = 0; r < n; r++) costChangeSoFar += (M[r]! - 1) * advCRows[r]!;
        const cHead = c + costChangeSoFar / n;
        const res = cpoStep(head.policy.net, { x, actions: a, oldLogp, weights, advR, advC }, cHead, stepOpts);
        this.record(out, [hi], res, [res.lineSearch.kl], `${head.name} surrogate`);
        loss = -(res.surrR + res.lineSearch.surrImprove);
        // sequential correction: M ← M · π^h_new(a_h|s)/π^h_old(a_h|s)
        const now = headLogp(head.policy, x, a);
        for (let r = 0; r < n; r++) M[r] = M[r]! * Math.exp(now[r]! - old[r]!);
      } finally {
        tf.dispose([a, oldLogp, weights]);
      }
    }
    return loss;
  }

  /**
   * The joint step: every head's gradients at θ_old, one dual (one ν* for all heads), one line search
   * moving all heads together. Per head, the logged cpo_case, ls_step, surr_improve, cost_change and nu
   * are the joint step's (the same in every head's columns); kl is the head's own share of the joint KL.
   */
  private jointStep(s: StepInputs): number {
    const { x, advR, advC, acts, c, stepOpts, out } = s;
    const weights = tf.ones([x.shape[0]]) as tf.Tensor1D;
    const owned: tf.Tensor[] = [weights];
    try {
      const parts = this.heads.map((head, hi) => {
        const actions = oneHot(acts[hi]!, head.policy.numActions);
        const oldLogp = tf.tensor1d(headLogp(head.policy, x, actions));
        owned.push(actions, oldLogp);
        return { net: head.policy.net, d: { x, actions, oldLogp, weights, advR, advC } };
      });
      const res = cpoJointStep(parts, c, stepOpts);
      this.record(
        out,
        this.heads.map((_, hi) => hi),
        res,
        res.headKl,
        "joint surrogate",
      );
      return -(res.surrR + res.lineSearch.surrImprove);
    } finally {
      tf.dispose(owned);
    }
  }

  /** Refuses a non-finite step (naming `what`), then writes its columns for each of `heads` (kl: theirs, in order). */
  private record(out: UpdateMetrics, heads: readonly number[], res: CpoStepResult, kl: readonly number[], what: string): void {
    checkFinite(`${this.name} ${what}`, { reward: res.surrR, cost: res.surrC });
    heads.forEach((hi, i) => {
      const prefix = this.prefixes[hi]!;
      out[`${prefix}cpo_case`] = res.optimCase;
      out[`${prefix}ls_step`] = res.lineSearch.accepted;
      out[`${prefix}kl`] = kl[i]!;
      out[`${prefix}surr_improve`] = res.lineSearch.surrImprove;
      out[`${prefix}cost_change`] = res.lineSearch.costChange;
      out[`${prefix}nu`] = res.nu;
    });
  }

  private prefixOf(h: PolicyHead): string {
    return this.heads.length === 1 && this.prefixes[0] === "" ? "policy" : `policy_${h.name}`;
  }

  state(): TrainerState {
    const cs = this.critics.state();
    const avg = this.average.state("policy_avg");
    return {
      tensors: [
        ...this.heads.flatMap((h) => namedVariables(this.prefixOf(h), h.policy.variables)),
        ...cs.value.tensors,
        ...cs.cost!.tensors,
        ...avg.tensors,
      ],
      json: {
        ...cs.value.json,
        ...cs.cost!.json,
        recentCosts: [...this.critics.recentCosts],
        updatesDone: this.updatesDone,
        policyAverage: avg.json,
        ...this.extraState(),
      },
    };
  }

  restore(tensors: tf.NamedTensorMap, json: Record<string, unknown>): void {
    for (const h of this.heads) restoreVariables(this.prefixOf(h), h.policy.variables, tensors);
    this.critics.restore(tensors, json);
    this.updatesDone = Number(json.updatesDone ?? 0);
    this.average.restore("policy_avg", json.policyAverage, tensors);
    this.restoreExtra(json);
  }

  protected extraState(): Record<string, unknown> {
    return {};
  }

  protected restoreExtra(_json: Record<string, unknown>): void {}

  dispose(): void {
    this.average.dispose();
    this.policy.dispose();
    this.critics.dispose();
  }
}
