/**
 * The constraint terms shared by the constrained trainers: the Lagrangian advantage of PPO-Lagrangian
 * and MAPPO-Lagrangian, and the scale s of the constraint value s·(J_C − d) of CPO, MACPO and P3O.
 */

/**
 * The advantage of the Lagrangian J_R − λ·(J_C − d)/d, per row, computed once per update in float64:
 *   A = (A_R − λ·A_C/d) / (1 + λ)
 * λ multiplies the cost in units of the budget d (lagrange.ts), and the 1/(1 + λ) keeps the advantage's
 * scale bounded as λ grows (OmniSafe's PPOLag, `_compute_adv_surrogate`).
 */
export function lagrangianAdvantage(advR: ArrayLike<number>, advC: ArrayLike<number>, lambda: number, budget: number): Float32Array {
  const out = new Float32Array(advR.length);
  const perCost = lambda / budget;
  for (let r = 0; r < out.length; r++) out[r] = (advR[r]! - perCost * advC[r]!) / (1 + lambda);
  return out;
}

export type ConstraintScale = "auto" | "one-minus-gamma" | "one" | "inverse-episode-length";

/**
 * The factor s of c = s·(J_C − d): (1 − γ_C) as the reference CPO/MACPO code and P3O's paper do (their J_C
 * is a discounted per-step average), 1 (OmniSafe's P3O), or 1/mean episode length (L_C is a per-step mean
 * while J_C − d is per episode: in an undiscounted episode J_C(θ) − J_C(θ_old) ≈ L̄·L_C). auto = (1 − γ_C)
 * when γ_C < 1, else 1/L̄ ((1 − γ_C) would make c ≡ 0).
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
