import fs from "node:fs";
import path from "node:path";
import { collectSweep, type TrialOutcome } from "../sweep/summary.js";
import { checkMetric, comparePanels, metricTitles, shortFieldNames, type RunGroup } from "./group.js";
import { palette, renderPanels, seriesColours, scatterChart, type Panel, type Point } from "./render.js";

/** A parameter value as a legend shows it: numbers to 2 significant digits (`1.2e-4` when tiny), arrays as JSON. */
export function formatParam(v: unknown): string {
  if (typeof v === "number") {
    if (Number.isInteger(v) || v === 0) return String(v);
    const a = Math.abs(v);
    return a < 1e-3 || a >= 1e5 ? v.toExponential(1).replace(/\.0e/, "e") : String(Number(v.toPrecision(2)));
  }
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** Short legend label of a trial: its parameters (keys shortened to their last segment when unambiguous), e.g. `lr=3e-4, hidden=[64,64]`. */
export function trialLabel(params: Record<string, unknown>, keys: readonly string[] = Object.keys(params)): string {
  const short = shortFieldNames(keys);
  return keys.map((k) => `${short.get(k)}=${formatParam(params[k])}`).join(", ") || "base";
}

/** Trials not dominated in (higher success, lower cost), sorted by cost. */
export function paretoFront<T extends { success: number; cost: number }>(points: readonly T[]): T[] {
  const ok = points.filter((p) => Number.isFinite(p.success) && Number.isFinite(p.cost));
  const front = ok.filter(
    (p) => !ok.some((q) => q !== p && q.success >= p.success && q.cost <= p.cost && (q.success > p.success || q.cost < p.cost)),
  );
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
  // the best trials (by rank), listed in parameter order so the legend reads like the sweep file
  const labels = legendLabels(withData);
  const shown = withData.slice(0, opts.maxCurves ?? 8).sort((a, b) => compareParams(a.params, b.params, manifest.keys));
  const groups: RunGroup[] = shown.map((t) => ({
    label: labels.get(t.id)!,
    dashed: t.status === "stopped",
    runDirs: t.seeds.filter((s) => s.final && fs.existsSync(path.join(s.runDir, "metrics.csv"))).map((s) => s.runDir),
  }));
  const metric = opts.metric ?? "return_mean";
  const runDirs = groups.flatMap((g) => g.runDirs);
  if (runDirs.length > 0) checkMetric(runDirs, metric);
  const metrics = metric === "cost_mean" ? [metric] : [metric, "cost_mean"];
  const best = withData.length > shown.length ? `, best ${shown.length} of ${withData.length} trials` : "";
  const stopped = groups.some((g) => g.dashed) ? "; dashed: stopped early" : "";
  const panels: Panel[] = comparePanels(groups, metrics, `sweep ${manifest.name}${best}${stopped}`);
  panels.push(paretoPanel(withData, manifest.keys, labels));
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
 * Legend labels: each trial's parameters, leaving out those every trial shares, so the labels stay
 * short (the full list, with trial ids, is in sweep.md).
 */
export function legendLabels(trials: readonly TrialOutcome[]): Map<string, string> {
  const keys = [...new Set(trials.flatMap((t) => Object.keys(t.params)))];
  const varying = keys.filter((k) => new Set(trials.map((t) => formatParam(t.params[k]))).size > 1);
  return new Map(trials.map((t) => [t.id, trialLabel(t.params, varying.length ? varying : keys)]));
}

export function paretoPanel(trials: readonly TrialOutcome[], keys: readonly string[] = [], labels = legendLabels(trials)): Panel {
  const sorted = [...trials].sort((a, b) => (keys.length ? compareParams(a.params, b.params, keys) : a.rank - b.rank));
  const pts = sorted.map((t) => ({ t, cost: t.cost.mean, success: t.success.mean }));
  const front = paretoFront(pts);
  const per = trials.length <= 8;
  const colours = seriesColours(pts.length);
  const groups: { label: string; points: Point[]; colour?: string; line?: boolean; radius?: number }[] = per
    ? pts.map((p, i) => ({ label: labels.get(p.t.id)!, points: [{ x: p.cost, y: p.success }], colour: colours[i]! }))
    : [{ label: "trials", points: pts.map((p) => ({ x: p.cost, y: p.success })), colour: palette[0]! }];
  groups.push({ label: "Pareto front", points: front.map((p) => ({ x: p.cost, y: p.success })), colour: "#000000", line: true, radius: 0 });
  const [, yl] = metricTitles.success_rate!;
  return scatterChart(
    "Success vs cost over trials (final-window means across seeds; dashed: Pareto front)",
    "mean episode cost",
    yl,
    groups,
    [0, 1],
  );
}
