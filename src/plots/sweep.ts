import fs from "node:fs";
import path from "node:path";
import { collectSweep, type TrialOutcome } from "../sweep/summary.js";
import { comparePanels, metricTitles, type RunGroup } from "./group.js";
import { palette, renderPanels, scatterChart, type Panel, type Point } from "./render.js";

/** Short legend label of a trial: its parameters with keys shortened to their last segment when unambiguous. */
export function trialLabel(params: Record<string, unknown>): string {
  const keys = Object.keys(params);
  const last = keys.map((k) => k.split(".").pop()!);
  const short = new Set(last).size === last.length;
  return keys.map((k, i) => `${short ? last[i] : k}=${typeof params[k] === "string" ? params[k] : JSON.stringify(params[k])}`).join(", ") || "base";
}

/** Trials not dominated in (higher success, lower cost), sorted by cost. */
export function paretoFront<T extends { success: number; cost: number }>(points: readonly T[]): T[] {
  const ok = points.filter((p) => Number.isFinite(p.success) && Number.isFinite(p.cost));
  const front = ok.filter((p) => !ok.some((q) => q !== p && q.success >= p.success && q.cost <= p.cost && (q.success > p.success || q.cost < p.cost)));
  return front.sort((a, b) => a.cost - b.cost || b.success - a.success);
}

/**
 * plots/sweep.png of a sweep folder: learning curves of the best trials (mean and 95% band across
 * seeds, at most 8, ranked as in sweep.md) for `metric` and for cost, and the success-vs-cost
 * Pareto front over all trials (each point = a trial's final-window means across seeds).
 */
export async function plotSweep(sweepDir: string, opts: { metric?: string; out?: string; maxCurves?: number } = {}): Promise<string> {
  const { manifest, trials } = collectSweep(sweepDir);
  const withData = trials.filter((t) => t.seeds.some((s) => s.final && fs.existsSync(path.join(s.runDir, "metrics.csv"))));
  // the best trials, listed in parameter order (legend reads like the sweep file) or by rank (long parameter lists)
  const labels = legendLabels(withData);
  const byRank = [...labels.values()].some((l) => l.startsWith("#"));
  const shown = withData.slice(0, opts.maxCurves ?? 8).sort((a, b) => (byRank ? a.rank - b.rank : compareParams(a.params, b.params, manifest.keys)));
  const groups: RunGroup[] = shown.map((t) => ({
    label: `${labels.get(t.id)}${t.status === "stopped" ? " (stopped)" : ""}`,
    runDirs: t.seeds.filter((s) => s.final && fs.existsSync(path.join(s.runDir, "metrics.csv"))).map((s) => s.runDir),
  }));
  const metric = opts.metric ?? "return_mean";
  const metrics = metric === "cost_mean" ? [metric] : [metric, "cost_mean"];
  const panels: Panel[] = comparePanels(groups, metrics, `sweep ${manifest.name}${withData.length > shown.length ? ` (best ${shown.length} of ${withData.length} trials)` : ""}`);
  panels.push(paretoPanel(withData, byRank ? [] : manifest.keys, labels));
  const file = opts.out ?? path.join(sweepDir, "plots", metric === "return_mean" ? "sweep.png" : `sweep-${metric}.png`);
  await renderPanels(panels, file, 900, 300);
  return file;
}

function compareValues(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return JSON.stringify(a).localeCompare(JSON.stringify(b));
}

export function compareParams(a: Record<string, unknown>, b: Record<string, unknown>, keys: readonly string[]): number {
  for (const k of keys) {
    const c = compareValues(a[k], b[k]);
    if (c !== 0) return c;
  }
  return 0;
}

/**
 * Legend labels: the parameters when they are short (e.g. `costPenalty=0.1`), else `#rank trialId`
 * (the rank and parameters are listed in sweep.md), so legends never crowd the chart.
 */
export function legendLabels(trials: readonly TrialOutcome[]): Map<string, string> {
  const full = trials.map((t) => trialLabel(t.params));
  const short = full.every((l) => l.length <= 36);
  return new Map(trials.map((t, i) => [t.id, short ? full[i]! : `#${t.rank} ${t.id}`]));
}

export function paretoPanel(trials: readonly TrialOutcome[], keys: readonly string[] = [], labels = legendLabels(trials)): Panel {
  const sorted = [...trials].sort((a, b) => (keys.length ? compareParams(a.params, b.params, keys) : a.rank - b.rank));
  const pts = sorted.map((t) => ({ t, cost: t.cost.mean, success: t.success.mean }));
  const front = paretoFront(pts);
  const per = trials.length <= 8;
  const groups: { label: string; points: Point[]; colour?: string; line?: boolean; radius?: number }[] = per
    ? pts.map((p, i) => ({ label: labels.get(p.t.id)!, points: [{ x: p.cost, y: p.success }], colour: palette[i % palette.length]! }))
    : [{ label: "trials", points: pts.map((p) => ({ x: p.cost, y: p.success })), colour: palette[0]! }];
  groups.push({ label: "Pareto front", points: front.map((p) => ({ x: p.cost, y: p.success })), colour: "#000000", line: true, radius: 0 });
  const [, yl] = metricTitles.success_rate!;
  return scatterChart("Success vs cost over trials (final-window means across seeds; dashed: Pareto front)", "mean episode cost", yl, groups, [0, 1]);
}
