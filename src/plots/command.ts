import fs from "node:fs";
import path from "node:path";
import { InputError } from "../core/errors.js";
import { readMetrics } from "../run/metrics.js";
import { checkMetric, comparePanels, findRuns, groupRuns, hasMetrics, type RunGroup } from "./group.js";
import { renderPanels } from "./render.js";
import { plotRunFiles } from "./run.js";
import { plotSweep } from "./sweep.js";

const isSweep = (d: string) => fs.existsSync(path.join(d, "sweep.json"));

export interface PlotOptions {
  metric?: string;
  out?: string;
  /** Told what the plot groups and leaves out (runs of different configs, repeated seeds). */
  note?: (message: string) => void;
}

/**
 * `maestro plot <runDir|sweepDir|folder of runs>... [--metric m] [--out file]`:
 * - one run folder: its standard plots (learning curve, constraint panels, structure), or with
 *   --metric/--out one chart of that metric;
 * - one sweep folder: plots/sweep.png (best trials' curves with 95% bands, Pareto front);
 * - a folder holding run folders (a `train --seeds` group, runs/<name>/, runs/): the runs found up to
 *   three levels down, grouped by resolved config — only runs whose configs are equal apart from the
 *   seed are averaged (mean and 95% band); each other configuration is its own line, labelled by the
 *   config fields that differ, and `note` says so;
 * - several folders: overlaid, one legend.
 * `--metric` must be a column of the runs' metrics.csv (else an error listing the columns, nothing written).
 * Returns the files written.
 */
export async function plotPaths(inputs: string[], opts: PlotOptions = {}): Promise<string[]> {
  if (inputs.length === 0) throw new InputError("maestro plot: give at least one run or sweep folder");
  const found = new Map<string, string[]>();
  for (const d of inputs) {
    if (!fs.existsSync(d) || !fs.statSync(d).isDirectory()) throw new InputError(`${d}: no such folder`, d);
    if (isSweep(d)) continue;
    const runs = hasMetrics(d) ? [d] : findRuns(d);
    if (runs.length === 0)
      throw new InputError(`${d}: not a run folder (no metrics.csv), a sweep folder (no sweep.json) or a folder of runs`, d);
    found.set(d, runs);
  }
  if (inputs.length === 1 && isSweep(inputs[0]!)) {
    return [await plotSweep(inputs[0]!, { ...(opts.metric ? { metric: opts.metric } : {}), ...(opts.out ? { out: opts.out } : {}) })];
  }
  const allRuns = [...found.values()].flat();
  if (opts.metric) checkMetric(allRuns, opts.metric);
  if (inputs.length === 1 && hasMetrics(inputs[0]!) && !opts.metric && !opts.out) return plotRunFiles(inputs[0]!);
  const groups: RunGroup[] = [];
  for (const d of inputs) {
    if (isSweep(d)) throw new InputError(`${d}: a sweep folder can only be plotted on its own`, d);
    const runs = found.get(d)!;
    const name = path.basename(path.resolve(d));
    if (hasMetrics(d)) {
      groups.push({ label: name, runDirs: runs });
      continue;
    }
    const g = groupRuns(runs, inputs.length > 1 ? name : "");
    for (const dup of g.duplicates) opts.note?.(`${dup.dropped}: same config and seed as ${dup.kept}; plotting ${dup.kept} only`);
    if (g.groups.length > 1) {
      opts.note?.(
        `${d}: ${runs.length - g.duplicates.length} runs in ${g.groups.length} configurations (runs are averaged only when their configs are equal apart from the seed); ` +
          `they differ in ${g.differing.slice(0, 6).join(", ")}${g.differing.length > 6 ? `, … (${g.differing.length} fields)` : ""}`,
      );
    }
    groups.push(...g.groups.map((x) => (inputs.length === 1 && g.groups.length === 1 ? { ...x, label: name } : x)));
  }
  const metrics = opts.metric ? [opts.metric] : ["return_mean", "success_rate", "cost_mean"];
  // constrained runs: λ too (when every run logs it)
  if (!opts.metric && allRuns.every((d) => readMetrics(path.join(d, "metrics.csv")).columns.includes("lambda"))) metrics.push("lambda");
  const single = inputs.length === 1 && !hasMetrics(inputs[0]!);
  const out =
    opts.out ?? path.join(inputs[0]!, "plots", single && !opts.metric ? "learning-curve.png" : `compare-${opts.metric ?? "curves"}.png`);
  await renderPanels(comparePanels(groups, metrics, single && groups.length === 1 ? groups[0]!.label : undefined), out);
  return [out];
}

/** `maestro plot`: draws, says what it grouped, and prints the files written. */
export async function plotCommand(dirs: string[], o: { metric?: string; out?: string }): Promise<void> {
  for (const f of await plotPaths(dirs, { ...o, note: (m) => console.log(`plot: ${m}`) })) console.log(`plot: ${f}`);
}
