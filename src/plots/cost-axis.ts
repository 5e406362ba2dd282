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

/** The flags on the trained-for axis (at most 12 listed; the rest are in curve.json), or the line saying there are none. */
export function belowLines(below: readonly BelowFlag[], axis: CostAxis, tolerance: number): string[] {
  if (below.length === 0) return [`on the ${axis} axis it was trained for, the learned curve is at or above every baseline but the oracle (tolerance ${tolerance})`];
  const out = [`BELOW A BASELINE on the ${axis} axis it was trained for (tolerance ${tolerance}):`];
  for (const b of below.slice(0, 12)) out.push(`  ${b.baseline} at x = ${xText(b.x, axis)}: learned ${f(b.learned, 4)} < ${f(b.baselineAccuracy, 4)} (by ${f(b.margin, 4)})`);
  if (below.length > 12) out.push(`  ... ${below.length - 12} more in curve.json ("below")`);
  return out;
}
