/**
 * PPO-Lagrangian (Ray, Achiam & Amodei 2019; OmniSafe's PPOLag) on the CMDP
 *   max_π J_R(π)  s.t.  J_C(π) ≤ d,
 * via the Lagrangian min_{λ≥0} max_π J_R − λ·(J_C − d)/d.
 *
 * Its base, {@link OnPolicyTrainer} (on-policy.ts), prepares each update — critics V_R and V_C, GAE of the
 * task reward and of the cost (never folded into the reward), J_C = mean undiscounted episode cost over
 * the recent-episode window — and runs the epochs × minibatches loop. This file adds, per update:
 *   1. the dual step, before the policy epochs, on the relative violation (J_C − d)/d (plain | adam | pid |
 *      pi, lagrange.ts; λ multiplies the cost in budget units, so one step size fits every cost scale);
 *      with lambdaInit null, λ_0 is calibrated on the first batch;
 *   2. the combined advantage A = (A_R − λ·A_C/d)/(1 + λ) (constraint.ts);
 *   3. the loss: PPO's clipped surrogate of A (Schulman et al. 2017, eq. 7).
 * Logged: lambda (after the dual step), jc, and the base's columns.
 */
import type { Rng } from "../core/rng.js";
import { tf } from "../policy/backend.js";
import type { CategoricalPolicy } from "../policy/policy.js";
import { lagrangianAdvantage } from "./constraint.js";
import type { ConstrainedBatch, PreparedBatch } from "./critics.js";
import { batchCalibration, LagrangeMultiplier, type LagrangeOptions, type LagrangeState } from "./lagrange.js";
import { OnPolicyTrainer, type DualStep, type LossTerms, type MinibatchTerms, type OnPolicyOptions } from "./on-policy.js";
import { clippedSurrogate } from "./surrogate.js";
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

  protected override dualStep(prepared: PreparedBatch): DualStep {
    const p = prepared as ConstrainedBatch;
    const d = this.multiplier.o.budget;
    this.multiplier.calibrate(batchCalibration(p.reward.advantages, p.cost.advantages, d, this.o));
    const lambda = this.multiplier.update(p.jc);
    return { metrics: { lambda }, advantage: lagrangianAdvantage(p.advR, p.advC, lambda, d) };
  }

  protected policyLoss(mb: MinibatchTerms): LossTerms {
    return { loss: tf.neg(clippedSurrogate(mb.ratio, mb.adv, this.o.clipRatio)) as tf.Scalar };
  }

  protected override extraState(): Record<string, unknown> {
    return { lagrange: this.multiplier.state() };
  }

  protected override restoreExtra(json: Record<string, unknown>): void {
    if (!json.lagrange) throw new Error("checkpoint has no Lagrange multiplier state (not a ppo-lagrangian run?)");
    this.multiplier.restore(json.lagrange as LagrangeState);
  }
}
