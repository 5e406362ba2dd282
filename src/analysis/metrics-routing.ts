/**
 * RouteLLM's cost–quality metrics (Ong et al., ICLR 2025; code: routellm/evals/evaluate.py), as pure
 * functions of a curve of operating points (x = share of items that reached the strong model,
 * accuracy, $ per item):
 *
 * - APGR (average performance gap recovered): the points sorted by x, the trapezoid area under accuracy
 *   (np.trapz over the points only) minus the weak model's accuracy w times the covered x span, over
 *   (s − w) times that span (`apgr_metric`). With both end points present the span is 1 and
 *   APGR = (∫ a(x) dx − w) / (s − w).
 * - CPT(p) (call-performance threshold): the share of strong calls needed to reach
 *   w + p·(s − w). RouteLLM computes `np.interp(target, accuracies, shares)`, which assumes the
 *   accuracies increase; maestro takes the first crossing of the piecewise-linear curve (a point that
 *   reaches the target exactly counts as reached), which equals np.interp on increasing curves and stays
 *   defined on others (np.interp returns the right end of a plateau at the target and arbitrary values on
 *   a non-monotone curve). null when the curve never reaches the target.
 *
 * When the "strong" model is not more accurate than the weak one (s − w below 0.005, e.g. the pooled
 * MMLU sample), APGR and CPT are null: the normalisation is meaningless.
 */

export interface CurvePoint {
  /** Share of items that reached the strong model. */
  x: number;
  accuracy: number;
  /** Mean cost per item. */
  cost: number;
  /** The knob value that produced the point (budget-conditioned policies). */
  knob?: number;
  /** An end point added to a policy's curve: always-weak (x = 0) or always-strong (x = 1). */
  anchor?: boolean;
}

/** Smallest s − w for which APGR and CPT are computed. */
export const MIN_GAP = 0.005;

function sorted(points: readonly CurvePoint[]): CurvePoint[] {
  return points
    .map((p, i) => ({ p, i }))
    .sort((a, b) => a.p.x - b.p.x || a.i - b.i)
    .map((e) => e.p);
}

/** Trapezoid area under accuracy over x (points sorted by x). */
export function area(points: readonly CurvePoint[]): number {
  const ps = sorted(points);
  let a = 0;
  for (let i = 1; i < ps.length; i++) a += ((ps[i]!.x - ps[i - 1]!.x) * (ps[i]!.accuracy + ps[i - 1]!.accuracy)) / 2;
  return a;
}

/** APGR of a curve, as RouteLLM's apgr_metric; null when s − w < MIN_GAP or the curve spans no x range. */
export function apgr(points: readonly CurvePoint[], w: number, s: number): number | null {
  if (s - w < MIN_GAP || points.length < 2) return null;
  const ps = sorted(points);
  const span = ps[ps.length - 1]!.x - ps[0]!.x;
  if (span <= 0) return null;
  return (area(ps) - w * span) / ((s - w) * span);
}

/**
 * The first crossing of `target` accuracy along the piecewise-linear curve (points sorted by x):
 * x and $ there, linearly interpolated within the crossing segment; null if never reached.
 */
export function firstCrossing(points: readonly CurvePoint[], target: number): { x: number; cost: number } | null {
  const ps = sorted(points);
  const eps = 1e-12;
  if (ps.length === 0) return null;
  if (ps[0]!.accuracy >= target - eps) return { x: ps[0]!.x, cost: ps[0]!.cost };
  for (let i = 1; i < ps.length; i++) {
    const a = ps[i - 1]!;
    const b = ps[i]!;
    if (b.accuracy >= target - eps) {
      const t = b.accuracy === a.accuracy ? 1 : Math.min(1, Math.max(0, (target - a.accuracy) / (b.accuracy - a.accuracy)));
      return { x: a.x + t * (b.x - a.x), cost: a.cost + t * (b.cost - a.cost) };
    }
  }
  return null;
}

/** CPT(p): the share of strong calls at which accuracy first reaches w + p·(s − w). */
export function cpt(points: readonly CurvePoint[], w: number, s: number, p: number): number | null {
  if (s - w < MIN_GAP) return null;
  return firstCrossing(points, w + p * (s - w))?.x ?? null;
}

/** Accuracy and $ of the curve at share x (linear between points; null outside the covered range). */
export function at(points: readonly CurvePoint[], x: number): { accuracy: number; cost: number } | null {
  const ps = sorted(points);
  if (ps.length === 0 || x < ps[0]!.x - 1e-12 || x > ps[ps.length - 1]!.x + 1e-12) return null;
  for (let i = 0; i < ps.length; i++) {
    const b = ps[i]!;
    if (b.x >= x - 1e-12) {
      if (i === 0 || b.x - ps[i - 1]!.x <= 0) return { accuracy: b.accuracy, cost: b.cost };
      const a = ps[i - 1]!;
      const t = (x - a.x) / (b.x - a.x);
      return { accuracy: a.accuracy + t * (b.accuracy - a.accuracy), cost: a.cost + t * (b.cost - a.cost) };
    }
  }
  const last = ps[ps.length - 1]!;
  return { accuracy: last.accuracy, cost: last.cost };
}

/** The share of $ saved against always-strong at equal accuracy (where the curve first reaches s). */
export function savedAtStrong(points: readonly CurvePoint[], s: number, strongCost: number): number | null {
  if (strongCost <= 0) return null;
  const c = firstCrossing(points, s);
  return c ? 1 - c.cost / strongCost : null;
}

export interface CurveMetrics {
  apgr: number | null;
  cpt20: number | null;
  cpt50: number | null;
  cpt80: number | null;
  /** Share of always-strong's $ saved at always-strong's accuracy; null if the curve never reaches it. */
  savedAtStrong: number | null;
  /** Best accuracy on the curve and its $ per item. */
  bestAccuracy: number;
  bestCost: number;
}

export function curveMetrics(points: readonly CurvePoint[], w: number, s: number, strongCost: number): CurveMetrics {
  let best = points[0] ?? { accuracy: NaN, cost: NaN };
  for (const p of points) if (p.accuracy > best.accuracy || (p.accuracy === best.accuracy && p.cost < best.cost)) best = p;
  return {
    apgr: apgr(points, w, s),
    cpt20: cpt(points, w, s, 0.2),
    cpt50: cpt(points, w, s, 0.5),
    cpt80: cpt(points, w, s, 0.8),
    savedAtStrong: savedAtStrong(points, s, strongCost),
    bestAccuracy: best.accuracy,
    bestCost: best.cost,
  };
}

/**
 * The curve of an escalation order on the per-item grid: escalating the first k items of `order`
 * (k = 0..N) gives x = k/N; an escalated item counts the strong model's correctness and `strongCost`,
 * the others the weak model's. N + 1 points, both end points included.
 */
export function orderCurve(
  order: readonly number[],
  weakCorrect: readonly boolean[],
  strongCorrect: readonly boolean[],
  weakCost: readonly number[],
  escalatedCost: readonly number[],
): CurvePoint[] {
  const n = order.length;
  let correct = 0;
  let cost = 0;
  for (let i = 0; i < n; i++) {
    correct += weakCorrect[i] ? 1 : 0;
    cost += weakCost[i]!;
  }
  const pts: CurvePoint[] = [{ x: 0, accuracy: correct / n, cost: cost / n }];
  order.forEach((i, k) => {
    correct += (strongCorrect[i] ? 1 : 0) - (weakCorrect[i] ? 1 : 0);
    cost += escalatedCost[i]! - weakCost[i]!;
    pts.push({ x: (k + 1) / n, accuracy: correct / n, cost: cost / n });
  });
  return pts;
}

/** Items sorted by a score, highest first; ties keep the item order (a stable, deterministic order). */
export function orderByScore(scores: readonly number[]): number[] {
  return scores
    .map((s, i) => ({ s, i }))
    .sort((a, b) => b.s - a.s || a.i - b.i)
    .map((e) => e.i);
}

/** Pointwise mean of curves on one grid (same length, same x). */
export function meanCurve(curves: readonly CurvePoint[][]): CurvePoint[] {
  const first = curves[0]!;
  return first.map((p, k) => ({
    x: p.x,
    accuracy: curves.reduce((s, c) => s + c[k]!.accuracy, 0) / curves.length,
    cost: curves.reduce((s, c) => s + c[k]!.cost, 0) / curves.length,
  }));
}

/**
 * Smallest margin of curve `a` over curve `b` across every x of either (linear interpolation; x outside
 * a curve's range is skipped). Negative = `a` dips below `b` somewhere.
 */
export function minMargin(a: readonly CurvePoint[], b: readonly CurvePoint[]): { margin: number; x: number } {
  let margin = Infinity;
  let where = NaN;
  for (const x of [...a.map((p) => p.x), ...b.map((p) => p.x)]) {
    const pa = at(a, x);
    const pb = at(b, x);
    if (!pa || !pb) continue;
    const m = pa.accuracy - pb.accuracy;
    if (m < margin) {
      margin = m;
      where = x;
    }
  }
  // curves that meet (end points, ties) differ by float rounding only
  return { margin: Math.abs(margin) < 1e-12 ? 0 : margin, x: where };
}
