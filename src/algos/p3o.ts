/**
 * P3O — Penalized Proximal Policy Optimization (Zhang, Shi, Wang, Zheng & Tao 2022). The CMDP
 * max J_R s.t. J_C ≤ d is replaced by the exact-penalty objective (eq. 11), minimised per minibatch:
 *
 *   L = −L_R^CLIP + κ · max(0, L_C + s·(J_C − d))
 *
 * with L_R^CLIP = mean min(ρA_R, clip(ρ)A_R) (eq. 7 of PPO), L_C the pessimistic clipped cost
 * surrogate mean max(ρA_C, clip(ρ)A_C) (eq. 9; or plain mean ρA_C with clipCostSurrogate: false),
 * J_C the mean undiscounted episode cost over the recent-episode window and s the constraint scaling:
 *   one-minus-gamma — (1 − γ_C), the paper's discounted-infinite-horizon form (0 when γ_C = 1);
 *   one — 1 (OmniSafe);
 *   inverse-episode-length — 1 / mean episode length of the batch: L_C is a per-step mean, J_C − d a
 *     per-episode quantity, so this puts both on the per-step scale.
 * The exact penalty recovers the constrained optimum once κ exceeds the optimal multiplier λ* (in the
 * loss's units: A_R is standardised, so roughly κ > L̄·λ* ÷ std(A_R)); κ may grow by a linear schedule.
 * Logged: penalty (the max(0, ·) term), penalty_active (fraction of minibatch steps where it is > 0),
 * kappa, jc, and the shared on-policy terms.
 */
import type { Rng } from "../core/rng.js";
import { mean } from "../core/math.js";
import { tf } from "../policy/backend.js";
import type { CategoricalPolicy } from "../policy/policy.js";
import {
  OnPolicyTrainer,
  type LossTerms,
  type MinibatchTerms,
  type OnPolicyOptions,
  type UpdateContext,
} from "./on-policy.js";
import { clippedSurrogate, costSurrogate } from "./surrogate.js";
import type { UpdateMetrics } from "./trainer.js";
import { p3oMetricNames } from "./metric-names.js";

export interface P3oOptions {
  kappa: number;
  kappaSchedule: "fixed" | "linear";
  kappaFinal: number;
  kappaUpdates: number;
  clipCostSurrogate: boolean;
  constraintScale: "one-minus-gamma" | "one" | "inverse-episode-length";
  /** Cost limit d. */
  budget: number;
}

export class P3oTrainer extends OnPolicyTrainer {
  readonly name = "p3o";
  private updates = 0;
  /** s·(J_C − d) of the current update. */
  private constraintTerm = 0;
  private kappaNow: number;

  constructor(
    policy: CategoricalPolicy,
    o: OnPolicyOptions,
    readonly p: P3oOptions,
    initRng: Rng,
    rng: Rng,
  ) {
    super(policy, o, initRng, rng, true, p3oMetricNames());
    this.kappaNow = p.kappa;
  }

  /** κ at update `u` (0-based) under the schedule. */
  kappaAt(u: number): number {
    const p = this.p;
    if (p.kappaSchedule === "fixed") return p.kappa;
    const f = Math.min(1, u / p.kappaUpdates);
    return p.kappa + f * (p.kappaFinal - p.kappa);
  }

  protected override beforeEpochs(ctx: UpdateContext): UpdateMetrics {
    this.kappaNow = this.kappaAt(this.updates);
    this.updates += 1;
    const scale =
      this.p.constraintScale === "one"
        ? 1
        : this.p.constraintScale === "one-minus-gamma"
          ? 1 - this.o.costGamma
          : 1 / mean(ctx.batch.episodes.map((e) => e.length));
    this.constraintTerm = scale * (ctx.jc - this.p.budget);
    return { kappa: this.kappaNow };
  }

  protected policyLoss(mb: MinibatchTerms): LossTerms {
    const lossR = tf.neg(clippedSurrogate(mb.ratio, mb.advR, this.o.clipRatio));
    const lc = costSurrogate(mb.ratio, mb.advC!, this.o.clipRatio, this.p.clipCostSurrogate);
    const penalty = tf.relu(tf.add(lc, this.constraintTerm)) as tf.Scalar;
    const active = tf.cast(tf.greater(penalty, 0), "float32") as tf.Scalar;
    return {
      loss: tf.add(lossR, tf.mul(penalty, this.kappaNow)) as tf.Scalar,
      terms: { penalty, penalty_active: active },
    };
  }

  protected override extraState(): Record<string, unknown> {
    return { p3oUpdates: this.updates };
  }

  protected override restoreExtra(json: Record<string, unknown>): void {
    this.updates = Number(json.p3oUpdates ?? 0);
  }
}
