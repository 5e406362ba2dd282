/**
 * CPO — Constrained Policy Optimization (Achiam, Held, Tamar & Abbeel 2017) as a single-head trainer:
 * max J_R s.t. J_C ≤ d by one trust-region step per update (cpo-step.ts: conjugate gradient on the
 * categorical Fisher, the closed-form dual with its five cases, a backtracking line search on KL ≤ δ,
 * reward improvement and cost-surrogate rise ≤ max(−c, 0)), with reward and cost critics fitted by
 * GAE (critics.ts) and c = s·(J_C − d).
 *
 * It is MACPO (macpo.ts) with one head, so the sequential-correction weights are M ≡ 1. On a config
 * with several heads (policy.heads) the one head is a categorical over the joint actions.
 * Logged: cpo_case (0–4), ls_step (accepted line-search trial, 0 = rejected), kl, surr_improve,
 * cost_change, nu (ν*, the cost multiplier of the step's dual), jc, c, value_loss, cost_value_loss; `loss` = −L_R at the accepted point.
 */
import type { Rng } from "../core/rng.js";
import type { CategoricalPolicy } from "../policy/policy.js";
import { MacpoTrainer, type CpoOptions } from "./macpo.js";
import type { OnPolicyOptions } from "./on-policy.js";

export class CpoTrainer extends MacpoTrainer {
  override readonly name = "cpo";

  constructor(policy: CategoricalPolicy, o: OnPolicyOptions, cpo: CpoOptions, initRng: Rng, rng: Rng) {
    super(policy, [{ name: "policy", policy }], o, cpo, { headOrder: "fixed" }, initRng, rng, true);
  }
}
