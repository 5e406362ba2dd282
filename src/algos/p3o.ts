/**
 * P3O — Penalized Proximal Policy Optimization (Zhang, Shi, Wang, Zheng & Tao 2022). The CMDP
 * max J_R s.t. J_C ≤ d is replaced by the exact-penalty objective (eq. 11), minimised per minibatch:
 *
 *   L = −L_R^CLIP + κ · max(0, L_C/d + s·(J_C − d)/d)
 *
 * with L_R^CLIP = mean min(ρA_R, clip(ρ)A_R) (eq. 7 of PPO), L_C the pessimistic clipped cost
 * surrogate mean max(ρA_C, clip(ρ)A_C) (eq. 9; or plain mean ρA_C with clipCostSurrogate: false),
 * J_C the mean undiscounted episode cost over the recent-episode window and s the constraint scaling:
 *   one-minus-gamma — (1 − γ_C), the paper's discounted-infinite-horizon form (0 when γ_C = 1);
 *   one — 1 (OmniSafe);
 *   inverse-episode-length — 1 / mean episode length of the batch: L_C is a per-step mean, J_C − d a
 *     per-episode quantity, so this puts both on the per-step scale.
 * The cost enters in units of the budget (÷ d), so κ means the same on every cost scale.
 *
 * The exact penalty recovers the constrained optimum once κ exceeds the optimal multiplier (in the
 * loss's units, ≈ λ*·d ÷ std(A_R) with the standardised A_R); below it the budget is ignored, far
 * above it the hinge pushes the policy inside the budget harder than the reward pulls it back out
 * (noisy J_C ⇒ a policy well inside the budget). κ is fixed, a linear schedule, adaptive, or — the
 * default — dual: κ = kappaFactor·λ̂ with λ̂ a running dual estimate of the multiplier, the
 * PI controller of lagrange.ts on (J_C − d)/d calibrated on the first batch, so κ tracks (and by the
 * factor 2, exceeds) the multiplier the constraint needs on every problem.
 * Adaptive: the subgradient of κ·max(0, ·) is κ·1[active], so the multiplier the hinge
 * actually exerted in update k is λ̂_k = κ_k·a_k, with a_k the share of the update's minibatch steps on
 * which the hinge was active; at a constrained optimum its average equals the multiplier the
 * constraint needs. κ is steered multiplicatively toward 2·λ̂ (a margin of 2 over the running dual
 * estimate, the "κ ≈ 2λ*" rule the hand-tuned configs used):
 *   κ_{k+1} = clamp(κ_k · exp(η_κ · (a_k − ½)), κ_min, κ_max)
 * so κ grows while the hinge is active more than half the time (κ too small: the budget is being
 * overspent) and shrinks while it is rarely active (κ needlessly large, or the budget slack).
 * Its base, {@link OnPolicyTrainer} (on-policy.ts), prepares each update (critics, GAE of the task reward
 * and of the cost, J_C) and runs the epochs × minibatches loop; this file is the penalty step (κ and the
 * constraint term, once per update before the epochs) and the loss above.
 * Logged: penalty (the max(0, ·) term), penalty_active (a_k), kappa (κ_k used in the update), jc, and
 * the base's columns.
 */
import type { Rng } from "../core/rng.js";
import { constraintScale } from "./constraint.js";
import type { ConstrainedBatch, PreparedBatch } from "./critics.js";
import { batchCalibration, LagrangeMultiplier, type LagrangeOptions, type LagrangeState } from "./lagrange.js";
import { tf } from "../policy/backend.js";
import type { CategoricalPolicy } from "../policy/policy.js";
import { OnPolicyTrainer, type DualStep, type LossTerms, type MinibatchTerms, type OnPolicyOptions } from "./on-policy.js";
import { clippedSurrogate, costSurrogate } from "./surrogate.js";
import type { RolloutBatch } from "../env/rollout.js";
import type { UpdateMetrics } from "./trainer.js";
import { p3oMetricNames } from "./metric-names.js";

export interface P3oOptions {
  /** κ (fixed), κ at the start of a linear ramp, or the initial κ of the adaptive rule. */
  kappa: number;
  kappaSchedule: "fixed" | "linear" | "adaptive" | "dual";
  kappaFinal: number;
  kappaUpdates: number;
  /** Adaptive κ: rate η_κ and bounds (kappaSchedule "adaptive"). */
  kappaRate: number;
  kappaMin: number;
  kappaMax: number;
  /** kappaSchedule "dual": κ = kappaFactor·λ̂, λ̂ the running dual estimate of this multiplier. */
  kappaFactor: number;
  dual?: LagrangeOptions;
  clipCostSurrogate: boolean;
  constraintScale: "one-minus-gamma" | "one" | "inverse-episode-length";
  /** Cost limit d. */
  budget: number;
}

export class P3oTrainer extends OnPolicyTrainer {
  readonly name = "p3o";
  private updates = 0;
  /** s·(J_C − d)/d of the current update. */
  private constraintTerm = 0;
  private kappaNow: number;
  /** kappaSchedule "dual": the running dual estimate λ̂. */
  readonly dual?: LagrangeMultiplier;

  constructor(
    policy: CategoricalPolicy,
    o: OnPolicyOptions,
    readonly p: P3oOptions,
    initRng: Rng,
    rng: Rng,
  ) {
    super(policy, o, initRng, rng, true, p3oMetricNames());
    this.kappaNow = p.kappa;
    if (p.kappaSchedule === "dual") {
      if (!p.dual) throw new Error("p3o: kappaSchedule dual needs the dual options");
      this.dual = new LagrangeMultiplier(p.dual);
    }
  }

  /** κ at update `u` (0-based) under a fixed or linear schedule (the adaptive κ lives in the state). */
  kappaAt(u: number): number {
    const p = this.p;
    if (p.kappaSchedule !== "linear") return p.kappa;
    const f = Math.min(1, u / p.kappaUpdates);
    return p.kappa + f * (p.kappaFinal - p.kappa);
  }

  get kappa(): number {
    return this.kappaNow;
  }

  override async update(batch: RolloutBatch): Promise<UpdateMetrics> {
    const out = await super.update(batch);
    if (this.p.kappaSchedule === "adaptive" && Number.isFinite(out.penalty_active)) {
      const p = this.p;
      this.kappaNow = Math.min(p.kappaMax, Math.max(p.kappaMin, this.kappaNow * Math.exp(p.kappaRate * (out.penalty_active! - 0.5))));
    }
    return out;
  }

  /** The penalty step: κ of this update and the constraint term s·(J_C − d)/d. */
  protected override dualStep(prepared: PreparedBatch): DualStep {
    const p = prepared as ConstrainedBatch;
    if (this.dual) {
      // the dual estimate, on the scale of the advantages the loss uses (calibrated on the first batch)
      this.dual.calibrate(batchCalibration(p.reward.advantages, p.cost.advantages, this.p.budget, this.o));
      this.kappaNow = Math.min(this.p.kappaMax, Math.max(this.p.kappaMin, this.p.kappaFactor * this.dual.update(p.jc)));
    } else if (this.p.kappaSchedule !== "adaptive") this.kappaNow = this.kappaAt(this.updates);
    this.updates += 1;
    const scale = constraintScale(this.p.constraintScale, this.o.costGamma, p.meanLength);
    this.constraintTerm = (scale * (p.jc - this.p.budget)) / this.p.budget;
    return { metrics: { kappa: this.kappaNow } };
  }

  protected policyLoss(mb: MinibatchTerms): LossTerms {
    const lossR = tf.neg(clippedSurrogate(mb.ratio, mb.adv, this.o.clipRatio));
    const lc = tf.div(costSurrogate(mb.ratio, mb.advC!, this.o.clipRatio, this.p.clipCostSurrogate), this.p.budget);
    const penalty = tf.relu(tf.add(lc, this.constraintTerm)) as tf.Scalar;
    const active = tf.cast(tf.greater(penalty, 0), "float32") as tf.Scalar;
    return {
      loss: tf.add(lossR, tf.mul(penalty, this.kappaNow)) as tf.Scalar,
      terms: { penalty, penalty_active: active },
    };
  }

  protected override extraState(): Record<string, unknown> {
    return { p3oUpdates: this.updates, p3oKappa: this.kappaNow, ...(this.dual ? { lagrange: this.dual.state() } : {}) };
  }

  protected override restoreExtra(json: Record<string, unknown>): void {
    this.updates = Number(json.p3oUpdates ?? 0);
    if (json.p3oKappa !== undefined) this.kappaNow = Number(json.p3oKappa);
    if (this.dual) {
      if (!json.lagrange) throw new Error("checkpoint has no dual estimate state (not a p3o run with kappaSchedule dual?)");
      this.dual.restore(json.lagrange as LagrangeState);
    }
  }
}
