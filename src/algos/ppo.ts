/**
 * PPO (Schulman et al. 2017) without a constraint: minimise −L^CLIP(A_R) (eq. 7) on the configured
 * reward R_t = r_t − λ·c_t (λ = reward.costPenalty, 0 = cost ignored). Preparing the batch (critic, GAE),
 * the epochs × minibatches loop with its KL early stop and the logged columns are the base's
 * ({@link OnPolicyTrainer}, on-policy.ts); this file is the loss.
 */
import type { Rng } from "../core/rng.js";
import type { CategoricalPolicy } from "../policy/policy.js";
import { OnPolicyTrainer, type LossTerms, type MinibatchTerms, type OnPolicyOptions } from "./on-policy.js";
import { clippedSurrogate } from "./surrogate.js";
import { tf } from "../policy/backend.js";
import { ppoMetricNames } from "./metric-names.js";

export class PpoTrainer extends OnPolicyTrainer {
  readonly name = "ppo";

  constructor(policy: CategoricalPolicy, o: OnPolicyOptions, initRng: Rng, rng: Rng) {
    super(policy, o, initRng, rng, false, ppoMetricNames());
  }

  protected policyLoss(mb: MinibatchTerms): LossTerms {
    return { loss: tf.neg(clippedSurrogate(mb.ratio, mb.adv, this.o.clipRatio)) as tf.Scalar };
  }
}
