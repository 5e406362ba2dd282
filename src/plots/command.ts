import fs from "node:fs";
import path from "node:path";
import { InputError } from "../core/errors.js";
import { childRuns, comparePanels, hasMetrics, plotSeeds, type RunGroup } from "./group.js";
import { renderPanels } from "./render.js";
import { plotRunFiles } from "./run.js";
import { plotSweep } from "./sweep.js";

const isSweep = (d: string) => fs.existsSync(path.join(d, "sweep.json"));

/**
 * `maestro plot <runDir|sweepDir>... [--metric m] [--out file]`:
 * - one run folder: its standard plots (learning curve, constraint panels, structure), or with
 *   --metric/--out one chart of that metric;
 * - one sweep folder: plots/sweep.png (best trials' curves with 95% bands, Pareto front);
 * - a folder of seed runs (e.g. `train --seeds` with --run-dir, or a sweep trial): mean and 95% band;
 * - several folders: overlaid (each run a line, each folder of seeds a mean with band), one legend.
 * Returns the files written.
 */
export async function plotPaths(inputs: string[], opts: { metric?: string; out?: string } = {}): Promise<string[]> {
  if (inputs.length === 0) throw new InputError("maestro plot: give at least one run or sweep folder");
  for (const d of inputs) {
    if (!fs.existsSync(d) || !fs.statSync(d).isDirectory()) throw new InputError(`${d}: no such folder`, d);
    if (!hasMetrics(d) && !isSweep(d) && childRuns(d).length === 0) {
      throw new InputError(`${d}: not a run folder (no metrics.csv), a sweep folder (no sweep.json) or a folder of runs`, d);
    }
  }
  if (inputs.length === 1) {
    const d = inputs[0]!;
    if (isSweep(d)) return [await plotSweep(d, { ...(opts.metric ? { metric: opts.metric } : {}), ...(opts.out ? { out: opts.out } : {}) })];
    if (hasMetrics(d) && !opts.metric && !opts.out) return plotRunFiles(d);
    if (!hasMetrics(d) && !opts.metric) {
      return [await plotSeeds(childRuns(d), opts.out ?? path.join(d, "plots", "learning-curve.png"), path.basename(path.resolve(d)))];
    }
  }
  const groups: RunGroup[] = inputs.map((d) => {
    if (isSweep(d)) throw new InputError(`${d}: a sweep folder can only be plotted on its own`, d);
    return { label: path.basename(path.resolve(d)), runDirs: hasMetrics(d) ? [d] : childRuns(d) };
  });
  const metrics = opts.metric ? [opts.metric] : ["return_mean", "success_rate", "cost_mean"];
  const out = opts.out ?? path.join(inputs[0]!, "plots", `compare-${opts.metric ?? "curves"}.png`);
  await renderPanels(comparePanels(groups, metrics), out);
  return [out];
}

/** `maestro plot`: draws and prints the files written. */
export async function plotCommand(dirs: string[], o: { metric?: string; out?: string }): Promise<void> {
  for (const f of await plotPaths(dirs, o)) console.log(`plot: ${f}`);
}
