/**
 * Lines `maestro curve` prints on both of its paths (a weak/strong pair, a pool of N models): the axis a policy
 * was trained for, and the points where its curve falls below a baseline on that axis.
 */
import type { BelowFlag, CostAxis } from "../analysis/metrics-pool.js";

const f = (v: number, d: number) => v.toFixed(d);

/** The trained-for axis in words. */
export function trainedForText(axis: CostAxis): string {
  return axis === "dollars" ? "dollars (every call's $)" : "strong-model calls (RouteLLM's count)";
}

/** An x on an axis in words: $ per 1,000 items, or a share of strong calls. */
export function xText(x: number, axis: CostAxis): string {
  return axis === "dollars" ? `$${f(x * 1000, 3)}/1k` : f(x, 3);
}

/**
 * The flags on the trained-for axis, one line per baseline (how many points, the x range they span and the
 * worst of them; every point is in curve.json), or the line saying there are none.
 */
export function belowLines(below: readonly BelowFlag[], axis: CostAxis, tolerance: number): string[] {
  if (below.length === 0)
    return [
      `on the ${axis} axis it was trained for, the learned curve is at or above every baseline but the oracle (tolerance ${tolerance})`,
    ];
  const out = [`BELOW A BASELINE on the ${axis} axis it was trained for (tolerance ${tolerance}; every point in curve.json, "below"):`];
  for (const name of [...new Set(below.map((b) => b.baseline))]) {
    const bs = below.filter((b) => b.baseline === name);
    const worst = bs.reduce((a, b) => (b.margin > a.margin ? b : a));
    const xs = bs.map((b) => b.x);
    const span =
      bs.length === 1 ? "" : `${bs.length} points, x from ${xText(Math.min(...xs), axis)} to ${xText(Math.max(...xs), axis)}; worst `;
    out.push(
      `  ${name}: ${span}at x = ${xText(worst.x, axis)}: learned ${f(worst.learned, 4)} < ${f(worst.baselineAccuracy, 4)} (by ${f(worst.margin, 4)})`,
    );
  }
  return out;
}
