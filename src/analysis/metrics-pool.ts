/**
 * Cost–quality metrics of curves over a pool of N models (pure functions), on either cost axis:
 *
 * - `dollars`: x = mean $ per item (every call counts, the cheap ones too);
 * - `strong-calls`: x = the share of items that called the strong model (the pool's most expensive model),
 *   the axis of RouteLLM's APGR and CPT (src/analysis/metrics-routing.ts).
 *
 * A curve is read through its frontier: the points sorted by x, dominated points dropped (another point
 * is at most as expensive and at least as accurate), linear between consecutive frontier points (mixing
 * two operating points at random, item by item, reaches every point of the segment between them). Below the
 * frontier's smallest x accuracy is undefined (the policy cannot run that cheaply); above its largest x it
 * stays at the frontier's best accuracy (spending more is never forced).
 */

import { InputError } from "../core/errors.js";

/** x = mean $ per item, or the share of items that called the strong model. */
export type CostAxis = "dollars" | "strong-calls";

/** One operating point of a policy on a split's items. */
export interface PoolPoint {
  /** Mean $ per item (every call counts). */
  cost: number;
  /** Share of items that called the strong model (the pool's most expensive model by mean train $). */
  strongShare: number;
  /** Share of items answered correctly. */
  accuracy: number;
  /** Mean model calls per item. */
  calls: number;
  /** What produced the point: a knob value, a rule's name, a share. */
  param?: number | string;
}

/** What the axis functions read of a point: its $, its share of strong calls and its accuracy. */
export type AxisPoint = Pick<PoolPoint, "cost" | "strongShare" | "accuracy">;

/** Smallest a_best − a_cheapest for which the normalised area is computed (as RouteLLM's MIN_GAP). */
export const MIN_POOL_GAP = 0.005;

const EPS = 1e-12;

/** The x of a point on an axis: mean $ per item, or the share of items that called the strong model. */
export function xOf(p: AxisPoint, axis: CostAxis): number {
  return axis === "dollars" ? p.cost : p.strongShare;
}

/** A frontier vertex: x on the chosen axis, its accuracy and the point it came from. */
export interface FrontierPoint<P extends AxisPoint = PoolPoint> {
  x: number;
  accuracy: number;
  point: P;
}

/**
 * The frontier of a curve on an axis: points sorted by x, then every point dropped that another point
 * dominates (x ≤ and accuracy ≥, one of them strictly; of equal points the first is kept). The result has
 * strictly increasing x and strictly increasing accuracy.
 */
export function frontier<P extends AxisPoint>(points: readonly P[], axis: CostAxis): FrontierPoint<P>[] {
  const ps = points
    .map((p, i) => ({ x: xOf(p, axis), accuracy: p.accuracy, point: p, i }))
    .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.accuracy))
    .sort((a, b) => a.x - b.x || b.accuracy - a.accuracy || a.i - b.i);
  const out: FrontierPoint<P>[] = [];
  for (const p of ps) {
    const last = out[out.length - 1];
    if (last && p.accuracy <= last.accuracy + EPS) continue;
    out.push({ x: p.x, accuracy: p.accuracy, point: p.point });
  }
  return out;
}

function frontierAt(f: readonly FrontierPoint<AxisPoint>[], x: number): number | undefined {
  if (f.length === 0 || x < f[0]!.x - EPS) return undefined;
  for (let i = 1; i < f.length; i++) {
    const b = f[i]!;
    if (x <= b.x) {
      const a = f[i - 1]!;
      return a.accuracy + ((x - a.x) / (b.x - a.x)) * (b.accuracy - a.accuracy);
    }
  }
  return f[f.length - 1]!.accuracy;
}

/** Accuracy of the curve's frontier at x (undefined below its smallest x, flat at its best above its largest). */
export function accuracyAt(points: readonly AxisPoint[], x: number, axis: CostAxis): number | undefined {
  return frontierAt(frontier(points, axis), x);
}

function reach(f: readonly FrontierPoint<AxisPoint>[], target: number): number | null {
  for (let i = 0; i < f.length; i++) {
    const b = f[i]!;
    if (b.accuracy >= target - EPS) {
      if (i === 0) return b.x;
      const a = f[i - 1]!;
      return a.x + (Math.max(0, target - a.accuracy) / (b.accuracy - a.accuracy)) * (b.x - a.x);
    }
  }
  return null;
}

/** The x at which the curve's frontier first reaches `target` accuracy (linear within a segment); null if never. */
export function firstReach(points: readonly AxisPoint[], target: number, axis: CostAxis): number | null {
  return reach(frontier(points, axis), target);
}

/** ∫ of the frontier's accuracy over [lo, hi] (the frontier must be defined on the whole interval). */
function integral(f: readonly FrontierPoint<AxisPoint>[], lo: number, hi: number): number {
  // breakpoints inside (lo, hi), then the trapezoids of the piecewise-linear function between them
  const xs = [lo, ...f.map((p) => p.x).filter((x) => x > lo && x < hi), hi];
  let s = 0;
  for (let i = 1; i < xs.length; i++) s += ((xs[i]! - xs[i - 1]!) * (frontierAt(f, xs[i - 1]!)! + frontierAt(f, xs[i]!)!)) / 2;
  return s;
}

export interface DollarMetrics {
  /** Frontier accuracy at the best single model's $ per item (undefined if the curve starts above it). */
  accuracyAtBestCost: number | undefined;
  /** $ per item where the curve first reaches the best model's accuracy, as a share of the best model's $; null if never. */
  costShareAtBestAccuracy: number | null;
  /**
   * APGR on the $ axis (see {@link dollarMetrics}); null when the best model is not more accurate than the
   * cheapest one by {@link MIN_POOL_GAP} or not more expensive.
   */
  apgrDollars: number | null;
}

/**
 * Metrics of a curve on the $ axis against two single-model points: `cheapest` (the pool's cheapest model)
 * and `best` (its most accurate model), both measured on the same items as the curve.
 *
 * - `accuracyAtBestCost` = acc(x_best): what the curve buys for the best model's money.
 * - `costShareAtBestAccuracy` = x* / x_best with x* the first x where acc(x) ≥ a_best.
 * - `apgrDollars`: RouteLLM's APGR (average performance gap recovered) moved to the $ axis,
 *
 *       apgrDollars = ( (1 / (x_best − x_cheapest)) · ∫_{x_cheapest}^{x_best} acc(x) dx − a_cheapest ) / (a_best − a_cheapest)
 *
 *   where acc is the frontier of the curve's points together with the cheapest model's point (any policy
 *   can be mixed with always-cheapest, so that point is always reachable), linear between frontier points
 *   and flat at the best accuracy reached beyond the last one. Reading it: 0 = no better than always
 *   cheapest, 0.5 = the straight line from the cheapest to the best model (mixing the two at random, or the
 *   best model alone), 1 = the best model's accuracy already at the cheapest model's $, above 1 = more.
 */
export function dollarMetrics(points: readonly AxisPoint[], cheapest: AxisPoint, best: AxisPoint): DollarMetrics {
  const f = frontier(points, "dollars");
  const atBest = frontierAt(f, best.cost);
  const x = reach(f, best.accuracy);
  let apgr: number | null = null;
  const gap = best.accuracy - cheapest.accuracy;
  if (gap >= MIN_POOL_GAP && best.cost > cheapest.cost) apgr = (meanAccuracyOver(points, cheapest, best.cost) - cheapest.accuracy) / gap;
  return {
    accuracyAtBestCost: atBest,
    costShareAtBestAccuracy: x === null || best.cost <= 0 ? null : x / best.cost,
    apgrDollars: apgr,
  };
}

/**
 * The mean accuracy over $ per item in [cheapest.cost, hi] of the frontier of `points` together with the
 * cheapest model's point (the integral of {@link dollarMetrics}' APGR$ divided by the span); `hi` must exceed
 * cheapest.cost. Also a $-axis area to rank curves by where APGR$ is undefined.
 */
export function meanAccuracyOver(points: readonly AxisPoint[], cheapest: AxisPoint, hi: number): number {
  return integral(frontier([...points, cheapest], "dollars"), cheapest.cost, hi) / (hi - cheapest.cost);
}

/** One place where a learned curve falls below a baseline's. */
export interface BelowFlag {
  baseline: string;
  /** x on the axis (of either curve's points). */
  x: number;
  learned: number;
  baselineAccuracy: number;
  /** baseline − learned accuracy (> tol). */
  margin: number;
}

/**
 * Every x of either curve's frontier where the learned frontier is below a baseline's frontier by more than
 * `tol`, for each baseline, sorted by baseline then x. x where either frontier is undefined (below its
 * smallest x) are skipped.
 */
export function belowBaselines(
  learned: readonly AxisPoint[],
  baselines: readonly { name: string; points: readonly AxisPoint[] }[],
  axis: CostAxis,
  tol = 0,
): BelowFlag[] {
  const fl = frontier(learned, axis);
  const out: BelowFlag[] = [];
  for (const b of baselines) {
    const fb = frontier(b.points, axis);
    const xs = [...new Set([...fl.map((p) => p.x), ...fb.map((p) => p.x)])].sort((u, v) => u - v);
    for (const x of xs) {
      const a = frontierAt(fl, x);
      const c = frontierAt(fb, x);
      if (a === undefined || c === undefined) continue;
      if (c - a > tol + EPS) out.push({ baseline: b.name, x, learned: a, baselineAccuracy: c, margin: c - a });
    }
  }
  return out;
}

/**
 * The flags `maestro curve` reports: {@link belowBaselines} against every baseline but the per-item oracle
 * (it knows which answer is right: a ceiling to read the curve against, not something a user could do
 * instead, so it is drawn but never flagged), and the warning line that sums them up (undefined if none).
 */
export function flagBelow(
  learned: readonly AxisPoint[],
  baselines: readonly { name: string; points: readonly AxisPoint[] }[],
  axis: CostAxis,
  tol: number,
): { below: BelowFlag[]; warning: string | undefined } {
  const below = belowBaselines(
    learned,
    baselines.filter((b) => b.name !== "oracle"),
    axis,
    tol,
  );
  return { below, warning: belowWarning(below, axis) };
}

/** The warning line of a list of flags (undefined if none). */
export function belowWarning(below: readonly BelowFlag[], axis: CostAxis): string | undefined {
  if (below.length === 0) return undefined;
  const names = [...new Set(below.map((b) => b.baseline))];
  return `the learned curve falls below ${names.join(", ")} on the ${axis} axis it was trained for (by up to ${Math.max(...below.map((b) => b.margin)).toFixed(4)} accuracy): see "below"`;
}

/** Accuracy margin under which a baseline above the learned curve is not flagged (one item in 200). */
export const DEFAULT_TOLERANCE = 0.005;

/** Checks a flag tolerance (an accuracy margin ≥ 0). */
export function checkTolerance(tol: number): number {
  if (typeof tol !== "number" || !Number.isFinite(tol) || tol < 0)
    throw new InputError(`--tolerance ${String(tol)}: expected an accuracy margin ≥ 0 (e.g. 0.005)`, undefined, "tolerance");
  return tol;
}
