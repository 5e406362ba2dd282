/**
 * PPO-Lagrangian (Ray, Achiam & Amodei 2019; OmniSafe's PPOLag) on the CMDP
 *   max_π J_R(π)  s.t.  J_C(π) ≤ d,
 * via the Lagrangian min_{λ≥0} max_π J_R − λ·(J_C − d).
 *
 * Each update:
 *   1. dual step BEFORE the policy epochs on the relative violation (J_C − d)/d, with J_C the mean
 *      undiscounted episode cost over the recent-episode window (plain | adam | pid, see lagrange.ts;
 *      λ is the multiplier of the cost in budget units, so one step size fits every cost scale);
 *   2. policy epochs on the clipped surrogate (Schulman et al. 2017, eq. 7) of the combined advantage
 *        A = (A_R − λ·A_C/d) / (1 + λ)
 *      (the 1/(1+λ) keeps the advantage's scale bounded as λ grows, OmniSafe's normalisation).
 * The reward signal is the task reward only and the cost signal is separate (never folded in).
 * Logged: lambda (after the dual step), jc, and the shared on-policy terms.
 */
import type { Rng } from "../core/rng.js";
import { tf } from "../policy/backend.js";
import type { CategoricalPolicy } from "../policy/policy.js";
import { batchCalibration, LagrangeMultiplier, type LagrangeOptions, type LagrangeState } from "./lagrange.js";
import {
  OnPolicyTrainer,
  type LossTerms,
  type MinibatchTerms,
  type OnPolicyOptions,
  type UpdateContext,
} from "./on-policy.js";
import { clippedSurrogate } from "./surrogate.js";
import type { UpdateMetrics } from "./trainer.js";
import { ppoLagrangianMetricNames } from "./metric-names.js";

export class PpoLagrangianTrainer extends OnPolicyTrainer {
  readonly name = "ppo-lagrangian";
  readonly multiplier: LagrangeMultiplier;

  constructor(policy: CategoricalPolicy, o: OnPolicyOptions, lagrange: LagrangeOptions, initRng: Rng, rng: Rng) {
    super(policy, o, initRng, rng, true, ppoLagrangianMetricNames());
    this.multiplier = new LagrangeMultiplier(lagrange);
  }

  get lambda(): number {
    return this.multiplier.lambda;
  }

  protected override beforeEpochs(ctx: UpdateContext): UpdateMetrics {
    // lambdaInit null: λ_0 from this first batch, on the scale of the advantages the loss uses
    const o = this.o;
    this.multiplier.calibrate(
      batchCalibration(ctx.reward.advantages, ctx.cost!.advantages, this.multiplier.o.budget, o),
    );
    return { lambda: this.multiplier.update(ctx.jc) };
  }

  protected policyLoss(mb: MinibatchTerms): LossTerms {
    const lam = this.multiplier.lambda;
    const adv = tf.div(tf.sub(mb.advR, tf.mul(mb.advC!, lam / this.multiplier.o.budget)), 1 + lam) as tf.Tensor1D;
    return { loss: tf.neg(clippedSurrogate(mb.ratio, adv, this.o.clipRatio)) as tf.Scalar };
  }

  protected override extraState(): Record<string, unknown> {
    return { lagrange: this.multiplier.state() };
  }

  protected override restoreExtra(json: Record<string, unknown>): void {
    if (!json.lagrange) throw new Error("checkpoint has no Lagrange multiplier state (not a ppo-lagrangian run?)");
    this.multiplier.restore(json.lagrange as LagrangeState);
  }
}
