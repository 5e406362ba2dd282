import fs from "node:fs";
import path from "node:path";
import { readMetrics } from "../run/metrics.js";
import { bandAcross } from "../analysis/stats.js";
import { col, refLine, runBudget } from "./run.js";
import { lineChart, palette, renderPanels, type Panel, type Series } from "./render.js";

/** Several seeds of one configuration, drawn as one mean curve with a 95% band. */
export interface RunGroup {
  label: string;
  runDirs: string[];
}

export const metricTitles: Record<string, [string, string]> = {
  return_mean: ["Return per episode", "return"],
  success_rate: ["Success rate", "success rate"],
  cost_mean: ["Episode cost", "cost"],
  ep_len_mean: ["Episode length", "steps"],
  lambda: ["Lagrange multiplier λ", "λ"],
  entropy: ["Policy entropy", "entropy"],
  loss: ["Loss", "loss"],
};

export function hasMetrics(dir: string): boolean {
  return fs.existsSync(path.join(dir, "metrics.csv"));
}

/** Run folders directly inside `dir` (e.g. the seed<k>/ folders of a sweep trial or of --seeds). */
export function childRuns(dir: string): string[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) return [];
  return fs
    .readdirSync(dir)
    .map((d) => path.join(dir, d))
    .filter((d) => fs.statSync(d).isDirectory() && hasMetrics(d))
    .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
}

/**
 * One series of a group: a single run is drawn as its curve; several runs as the mean across them
 * with a 95% percentile-bootstrap band (1000 resamples, seeded, so the same runs give the same plot).
 */
export function groupSeries(g: RunGroup, metric: string, colour?: string, bareLabel = false): Series | undefined {
  const curves = g.runDirs
    .map((d) => readMetrics(path.join(d, "metrics.csv")))
    .filter((m) => m.columns.includes(metric))
    .map((m) => ({ x: col(m.rows, "update"), y: col(m.rows, metric) }));
  if (curves.length === 0) return undefined;
  if (curves.length === 1) return { label: g.label, x: curves[0]!.x, y: curves[0]!.y, ...(colour ? { colour } : {}) };
  const band = bandAcross(curves, { seed: 0 });
  return {
    label: bareLabel ? g.label : `${g.label} (mean of ${curves.length} seeds, 95% CI)`,
    x: band.x,
    y: band.mean,
    lo: band.lo,
    hi: band.hi,
    ...(colour ? { colour } : {}),
  };
}

/** Panels comparing groups on each metric (one line or band per group, with a legend). */
export function comparePanels(groups: RunGroup[], metrics: string[], title?: string): Panel[] {
  const budgets = [...new Set(groups.flatMap((g) => g.runDirs.map(runBudget)).filter((b): b is number => b !== undefined))];
  // when every group has the same number of seeds, say it once in the title instead of in each label
  const sizes = new Set(groups.map((g) => g.runDirs.length));
  const same = sizes.size === 1 && groups[0]!.runDirs.length > 1 ? groups[0]!.runDirs.length : 0;
  const note = same ? ` (mean of ${same} seeds, 95% bootstrap band)` : "";
  return metrics.map((m, k) => {
    const series = groups.map((g, i) => groupSeries(g, m, palette[i % palette.length], same > 0)).filter((s): s is Series => s !== undefined);
    const allX = series.flatMap((s) => s.x);
    if (m === "cost_mean" && budgets.length === 1 && allX.length) series.push(refLine(`budget d = ${budgets[0]}`, [Math.min(...allX), Math.max(...allX)], budgets[0]!));
    const [t, y] = metricTitles[m] ?? [m, m];
    return lineChart((k === 0 && title ? `${t} — ${title}` : t) + note, "update", y, series, m === "success_rate" ? [0, 1] : undefined);
  });
}

/** The multi-seed learning curve (mean and 95% band of return, success and cost) of several runs. */
export async function plotSeeds(runDirs: string[], file: string, label: string): Promise<string> {
  const metrics = ["return_mean", "success_rate", "cost_mean"];
  const first = readMetrics(path.join(runDirs[0]!, "metrics.csv"));
  if (first.columns.includes("lambda")) metrics.push("lambda");
  await renderPanels(comparePanels([{ label, runDirs }], metrics, label), file);
  return file;
}
