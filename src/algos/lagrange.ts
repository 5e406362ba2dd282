/**
 * The Lagrange multiplier λ of a constrained trainer and its optimisers (dual ascent on
 * min_π max_{λ≥0} −J_R(π) + λ·(J_C(π) − d)/d).
 *
 * Units: λ multiplies the cost measured in units of the budget, c/d, and every optimiser
 * steps on the relative violation Δ = (J_C − d)/d. The same η then moves λ at the same pace on a
 * problem whose costs are cents and on one whose costs are thousands of tokens; with raw costs a
 * step size right for one cost scale oscillates (too large) or never arrives (too small) on another.
 * The trainers use λ on the budget-scaled cost advantage A_C/d. (In the LP's units, reward per unit
 * of cost, λ corresponds to λ/d with raw reward advantages, and to λ·std(A_R)/d with standardised ones.)
 *
 * - plain: projected gradient ascent  λ ← clamp(λ + η·Δ, 0, λ_max)  (Altman 1999; OmniSafe's Lagrange).
 * - adam:  OmniSafe's Lagrange: Adam (lr η) minimising −λ·Δ, i.e. gradient −Δ, then the same clamp
 *          to [0, λ_max].
 * - pid:   PID-Lagrangian (Stooke, Achiam & Abbeel 2020, Alg. 2, as in OmniSafe's PIDLagrangian):
 *            Δ = (J_C − d)/d
 *            I ← max(0, I + K_I·Δ)
 *            P ← α_p·P + (1 − α_p)·Δ                      (EMA-smoothed proportional error)
 *            C_D ← α_d·C_D + (1 − α_d)·J_C/d              (EMA-smoothed cost for the derivative)
 *            D = max(0, C_D − C_D[k − dDelay])            (delayed derivative, only when cost rises;
 *                                                          C_D before the first update counts as 0)
 *            λ = clamp(K_P·P + I + K_D·D, 0, λ_max)
 * - pi:   a PI controller in units u = max(λ_0, I) of the starting multiplier or the current integral:
 *            I ← max(0, I + η·u·Δ),   λ = clamp(I + K_P·u·Δ, 0, λ_max),   I starts at λ_0,
 *          with λ_0 = lambdaInit, or calibrated on the first batch (calibrationLambda: the scale of the
 *          multiplier the problem needs). Steps in units of λ_0 make the pace the same whether the
 *          problem needs λ ≈ 0.01 or 10 (an absolute step that reaches a large λ in time overshoots a
 *          small one by far); the proportional term K_P·λ_0·Δ damps the oscillation of integral-only
 *          dual ascent against a policy that best-responds to λ (Stooke, Achiam & Abbeel 2020, the
 *          argument of PID-Lagrangian); linear in λ below λ_0, it leaves 0 as fast as it reaches it (a
 *          multiplicative update spends tens of updates climbing back from a floor after a slack phase).
 *          Above λ_0 the unit is I itself, so the step is relative, η·Δ of the current multiplier (the
 *          multiplicative-weights / exponentiated-gradient form of dual ascent, Arora, Hazan & Kale 2012):
 *          when the first batch underestimates λ* by a factor k (the held-out family: λ_0 = 0.13 against
 *          λ*·d = 0.91), λ closes the gap in O(log k / η) updates instead of O(k / η) — with λ_0 as the
 *          fixed unit that run overspent for most of its 150 updates and ended at 1.03·d.
 *
 * All state is plain JSON (float64), so a checkpointed run resumes bit-exactly.
 */

import { std } from "../core/math.js";

export interface PidOptions {
  kp: number;
  ki: number;
  kd: number;
  dDelay: number;
  pEmaAlpha: number;
  dEmaAlpha: number;
}

export interface LagrangeOptions {
  /** Initial λ; null = calibrated on the first batch ({@link LagrangeMultiplier.calibrate}). */
  init: number | null;
  lr: number;
  max: number;
  optimizer: "plain" | "adam" | "pid" | "pi";
  pid: PidOptions;
  /** pi: proportional gain K_P (in units of λ_0 per unit of relative violation). */
  kp: number;
  /** Cost limit d. */
  budget: number;
}

export interface LagrangeState {
  lambda: number;
  /** λ still waits for its calibration on the first batch (init: null). */
  uncalibrated?: boolean;
  adam: { t: number; m: number; v: number };
  pid: { integral: number; deltaP: number; costD: number; costDs: number[] };
  /** pi: the integral term I and the unit λ_0. */
  pi?: { integral: number; unit: number };
}

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPS = 1e-8;

export class LagrangeMultiplier {
  private s: LagrangeState;

  constructor(readonly o: LagrangeOptions) {
    this.s = {
      lambda: Math.min(Math.max(o.init ?? 1, 0), o.max),
      ...(o.init === null ? { uncalibrated: true } : {}),
      adam: { t: 0, m: 0, v: 0 },
      // OmniSafe's PIDLagrangian starts its delay queue as [0]: the first dDelay updates compare with 0
      pid: { integral: 0, deltaP: 0, costD: 0, costDs: [0] },
    };
    if (o.optimizer === "pi" && o.init !== null) this.setStart(o.init);
  }

  private setStart(lambda: number): void {
    const o = this.o;
    this.s.lambda = Math.min(Math.max(lambda, 0), o.max);
    // pi: steps in units of λ_0 (1 when λ_0 is 0: nothing to scale by)
    if (o.optimizer === "pi") this.s.pi = { integral: this.s.lambda, unit: this.s.lambda > 0 ? this.s.lambda : 1 };
    // PID: the integral term carries λ between updates
    else this.s.pid.integral = this.s.lambda;
  }

  /**
   * With init: null, sets the starting λ once, from the first batch: `lambda0` is the
   * trainer's estimate of the multiplier the problem needs (`calibrationLambda`). Starting there,
   * the dual steps only have to correct a factor, not find the order of magnitude (which spans 0.01 to
   * 10 across problems: a too-large λ_0 makes the policy collapse onto the cheapest action before λ
   * comes down, a too-small one onto the most rewarding one). A later call, or a call with init set,
   * does nothing.
   */
  calibrate(c: Calibration): void {
    if (!this.s.uncalibrated) return;
    delete this.s.uncalibrated;
    this.setStart(Number.isFinite(c.lambda0) && c.lambda0 > 0 ? c.lambda0 : 0);
    if (this.s.pi && !(c.lambda0 > 0) && Number.isFinite(c.unit) && c.unit > 0) this.s.pi.unit = c.unit;
  }

  get lambda(): number {
    return this.s.lambda;
  }

  /** One dual step given the current estimate `jc` of the episode cost J_C; returns the new λ. */
  update(jc: number): number {
    const o = this.o;
    const delta = (jc - o.budget) / o.budget;
    const clamp = (x: number) => Math.min(Math.max(x, 0), o.max);
    switch (o.optimizer) {
      case "plain":
        this.s.lambda = clamp(this.s.lambda + o.lr * delta);
        break;
      case "adam": {
        const a = this.s.adam;
        const g = -delta; // ∂/∂λ of −λ·(J_C − d)
        a.t += 1;
        a.m = BETA1 * a.m + (1 - BETA1) * g;
        a.v = BETA2 * a.v + (1 - BETA2) * g * g;
        const mHat = a.m / (1 - BETA1 ** a.t);
        const vHat = a.v / (1 - BETA2 ** a.t);
        this.s.lambda = clamp(this.s.lambda - (o.lr * mHat) / (Math.sqrt(vHat) + EPS));
        break;
      }
      case "pid": {
        const p = this.s.pid;
        const g = o.pid;
        p.integral = Math.max(0, p.integral + g.ki * delta);
        p.deltaP = g.pEmaAlpha * p.deltaP + (1 - g.pEmaAlpha) * delta;
        p.costD = g.dEmaAlpha * p.costD + (1 - g.dEmaAlpha) * (jc / o.budget);
        const past = p.costDs[0] ?? 0;
        const d = Math.max(0, p.costD - past);
        this.s.lambda = clamp(g.kp * p.deltaP + p.integral + g.kd * d);
        p.costDs.push(p.costD);
        if (p.costDs.length > g.dDelay) p.costDs.shift();
        break;
      }
      case "pi": {
        const pi = (this.s.pi ??= { integral: this.s.lambda, unit: this.s.lambda > 0 ? this.s.lambda : 1 });
        // the step unit is max(λ_0, I): linear at λ_0's pace below λ_0, geometric above it
        const unit = Math.max(pi.unit, pi.integral);
        pi.integral = Math.min(o.max, Math.max(0, pi.integral + o.lr * unit * delta));
        this.s.lambda = clamp(pi.integral + o.kp * unit * delta);
        break;
      }
    }
    return this.s.lambda;
  }

  state(): LagrangeState {
    return structuredClone(this.s);
  }

  restore(s: LagrangeState): void {
    this.s = structuredClone(s);
  }
}

/** A starting multiplier estimated from a batch, and the unit of the pi optimiser's steps. */
export interface Calibration {
  /** The slope estimate of the multiplier (≤ 0: reward does not grow with cost in this batch). */
  lambda0: number;
  /** The step unit when lambda0 ≤ 0: the spread ratio std(A_R)·d/std(A_C). */
  unit: number;
}

/**
 * The starting multiplier of a Lagrangian trainer estimated from its first batch: the
 * least-squares slope of the reward advantage on the cost advantage over the batch's rows,
 * cov(A_R, A_C)/var(A_C) — under the initial (near-uniform) policy, the reward its actions buy per unit
 * of cost, i.e. the scale of the LP's λ* (in a one-step problem exactly the slope of reward on cost
 * across the actions; outcome noise in A_R is uncorrelated with A_C and drops out) — times d for the
 * budget-scaled cost, and converted to the scale of the advantages the loss uses (`rewardScale`,
 * `costScale`: 1, or 1/std when that advantage is standardised). When the slope is ≤ 0 (reward does not
 * grow with cost: the budget may well be slack) λ starts at 0 and the pi optimiser steps in units of the
 * spread ratio std(A_R)·d/std(A_C) instead.
 */
export function calibrationLambda(
  advR: ArrayLike<number>,
  advC: ArrayLike<number>,
  budget: number,
  rewardScale: number,
  costScale: number,
): Calibration {
  const n = advR.length;
  let mr = 0;
  let mc = 0;
  for (let i = 0; i < n; i++) {
    mr += advR[i]!;
    mc += advC[i]!;
  }
  mr /= n;
  mc /= n;
  let cov = 0;
  let varC = 0;
  let varR = 0;
  for (let i = 0; i < n; i++) {
    cov += (advR[i]! - mr) * (advC[i]! - mc);
    varC += (advC[i]! - mc) ** 2;
    varR += (advR[i]! - mr) ** 2;
  }
  if (!(varC > 0)) return { lambda0: 0, unit: 1 };
  const k = (budget * rewardScale) / costScale;
  return { lambda0: (cov / varC) * k, unit: Math.sqrt(varR / varC) * k };
}

/**
 * `calibrationLambda` from a batch's advantages, on the scale the trainer's loss uses them
 * (standardised or raw): the one call PPO-Lagrangian, P3O and MAPPO-Lagrangian make before their first
 * dual step.
 */
export function batchCalibration(
  advR: ArrayLike<number>,
  advC: ArrayLike<number>,
  budget: number,
  o: { normalizeAdvantage: boolean; standardizeCostAdvantage: boolean },
): Calibration {
  return calibrationLambda(advR, advC, budget, o.normalizeAdvantage ? 1 / std(advR) : 1, o.standardizeCostAdvantage ? 1 / std(advC) : 1);
}
