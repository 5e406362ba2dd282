import fs from "node:fs";
import path from "node:path";
import { InputError } from "../core/errors.js";
import { readMetrics } from "../run/metrics.js";
import type { RunGroup } from "../run/groups.js";

export { flatConfig, groupRuns, shortFieldNames, type RunGroup, type RunGrouping } from "../run/groups.js";
import { bandAcross } from "../analysis/stats.js";
import { col, refLine, runBudget } from "./run.js";
import { lineChart, renderPanels, seriesColours, type Panel, type Series } from "./render.js";

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

const isDir = (d: string) => fs.existsSync(d) && fs.statSync(d).isDirectory();

/** Run folders directly inside `dir` (e.g. the seed<k>/ folders of a sweep trial or of --seeds). */
export function childRuns(dir: string): string[] {
  if (!isDir(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((d) => path.join(dir, d))
    .filter((d) => isDir(d) && hasMetrics(d))
    .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
}

/**
 * Run folders below `dir`, up to `depth` levels down (runs/ → runs/<name>/<run>/ → runs/<name>/<group>/seed<k>/);
 * a run folder's own subfolders (checkpoints/, plots/) are not searched.
 */
export function findRuns(dir: string, depth = 3): string[] {
  if (!isDir(dir) || depth <= 0) return [];
  const out: string[] = [];
  for (const name of fs.readdirSync(dir).sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))) {
    const d = path.join(dir, name);
    if (!isDir(d)) continue;
    if (hasMetrics(d)) out.push(d);
    else out.push(...findRuns(d, depth - 1));
  }
  return out;
}

/** Columns of the runs' metrics.csv files; a metric that none of them logs is an error listing the columns. */
export function checkMetric(runDirs: readonly string[], metric: string): void {
  const columns = new Set(runDirs.flatMap((d) => readMetrics(path.join(d, "metrics.csv")).columns));
  if (!columns.has(metric)) {
    throw new InputError(
      `--metric ${metric}: no such column in metrics.csv; the runs have: ${[...columns].join(", ")}`,
      undefined,
      "metric",
    );
  }
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
  const style = { ...(colour ? { colour } : {}), ...(g.dashed ? { dashed: true } : {}) };
  if (curves.length === 1) return { label: g.label, x: curves[0]!.x, y: curves[0]!.y, ...style };
  const band = bandAcross(curves, { seed: 0 });
  return {
    label: bareLabel ? g.label : `${g.label} (${curves.length} seeds)`,
    x: band.x,
    y: band.mean,
    lo: band.lo,
    hi: band.hi,
    ...style,
  };
}

/** Panels comparing groups on each metric (one line or band per group, with a legend). */
export function comparePanels(groups: RunGroup[], metrics: string[], title?: string): Panel[] {
  const budgets = [...new Set(groups.flatMap((g) => g.runDirs.map(runBudget)).filter((b): b is number => b !== undefined))];
  // the usual number of seeds is said once in the title; a label names its count only when it differs
  const counts = groups.map((g) => g.runDirs.length);
  const usual =
    [...new Set(counts)].sort((a, b) => counts.filter((c) => c === b).length - counts.filter((c) => c === a).length || b - a)[0] ?? 1;
  const note =
    usual > 1
      ? ` (mean of ${usual} seeds, 95% bootstrap band)`
      : counts.some((c) => c > 1)
        ? " (bands: mean of the seeds, 95% bootstrap)"
        : "";
  const colours = seriesColours(groups.length);
  return metrics.map((m, k) => {
    const series = groups
      .map((g, i) => {
        const s = groupSeries(g, m, colours[i], true);
        return s && g.runDirs.length !== usual
          ? { ...s, label: `${s.label} (${g.runDirs.length} seed${g.runDirs.length === 1 ? "" : "s"})` }
          : s;
      })
      .filter((s): s is Series => s !== undefined);
    const allX = series.flatMap((s) => s.x);
    if (m === "cost_mean" && budgets.length === 1 && allX.length)
      series.push(refLine(`budget d = ${budgets[0]}`, [Math.min(...allX), Math.max(...allX)], budgets[0]!));
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
