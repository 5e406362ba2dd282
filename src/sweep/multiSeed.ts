import fs from "node:fs";
import path from "node:path";
import { loadConfig } from "../config/load.js";
import { plotSeeds } from "../plots/group.js";
import { runPool, type PoolJob, type PoolResult } from "./pool.js";
import { createPoolProgress } from "./poolProgress.js";
import { defaultRunDir } from "../run/train.js";
import { finalWindowFraction } from "../run/metrics.js";
import { writeFileAtomic } from "../policy/io.js";
import { bootstrapMeanCI, type MeanCI } from "../analysis/stats.js";

export interface SeedsOptions {
  config: string;
  sets?: string[];
  /** First seed (default: the config's seed); seeds are seed, seed+1, ... */
  seed?: number;
  seeds: number;
  /** The group folder: runs go to <runDir>/seed<k>/ (default runs/<name>/<timestamp>-seeds<a>-<b>/). */
  runDir?: string;
  workers?: number;
  quiet?: boolean;
}

export interface SeedsResult {
  /** The group folder (seed<k>/ run folders, summary.json, plots/). */
  groupDir: string;
  results: PoolResult[];
  summary: GroupSummary;
  plot?: string;
}

/** summary.json of a seed group (`train --seeds`). */
export interface GroupSummary {
  kind: "seed-group";
  status: "completed" | "failed";
  name: string;
  config: string;
  sets: string[];
  seeds: number[];
  runs: Array<{ seed: number; runDir: string; status: PoolResult["status"]; error?: string }>;
  /** What "final" means here (one definition across maestro: metrics.ts finalWindow). */
  finalDefinition: string;
  /** Per metrics column: mean across the completed seeds of each run's final window, with its 95% CI. */
  final: Record<string, MeanCI>;
}

/**
 * The group's summary: for every metrics column, the mean over completed seeds of each run's final
 * window (summary.json `finalWindow`) with a 95% percentile-bootstrap CI (1000 resamples, seeded by
 * the group name and column, so the same runs always give the same interval).
 */
export function groupSummary(o: { name: string; config: string; sets: string[]; seeds: number[]; results: PoolResult[] }): GroupSummary {
  const done = o.results.filter((r) => r.status === "completed" && r.summary?.finalWindow);
  const columns = [...new Set(done.flatMap((r) => Object.keys(r.summary!.finalWindow!)))];
  const final: Record<string, MeanCI> = {};
  for (const c of columns)
    final[c] = bootstrapMeanCI(
      done.map((r) => r.summary!.finalWindow![c] ?? NaN),
      { seed: `${o.name}:${c}` },
    );
  return {
    kind: "seed-group",
    status: o.results.every((r) => r.status === "completed") ? "completed" : "failed",
    name: o.name,
    config: o.config,
    sets: o.sets,
    seeds: o.seeds,
    runs: o.results.map((r, i) => ({ seed: o.seeds[i]!, runDir: r.runDir, status: r.status, ...(r.error ? { error: r.error } : {}) })),
    finalDefinition: `mean over the last ${finalWindowFraction * 100}% of updates of each run (at least one), then the mean across completed seeds with a 95% percentile-bootstrap CI (1000 resamples, seeded)`,
    final,
  };
}

/**
 * `maestro train <config> --seeds N`: N seeds in parallel child processes (the same pool as local
 * sweeps) into one group folder, one combined progress display, then the group's summary.json (mean
 * and 95% CI of every metric's final window across seeds) and learning curve (mean and 95% band).
 */
export async function trainSeeds(o: SeedsOptions): Promise<SeedsResult> {
  // validate before anything is spawned or written
  const config = loadConfig(o.config, { sets: o.sets ?? [], ...(o.seed !== undefined ? { seed: o.seed } : {}) });
  const seeds = Array.from({ length: o.seeds }, (_, i) => config.seed + i);
  const groupDir = o.runDir ?? defaultRunDir(config).replace(/seed\d+$/, `seeds${seeds[0]}-${seeds[seeds.length - 1]}`);
  const jobs: PoolJob[] = seeds.map((s) => ({
    key: `seed${s}`,
    config: o.config,
    seed: s,
    runDir: path.join(groupDir, `seed${s}`),
    sets: o.sets ?? [],
  }));
  const progress = o.quiet ? undefined : createPoolProgress(`${config.name} × ${o.seeds} seeds`, jobs.length, config.train.updates);
  const results = await runPool(jobs, {
    ...(o.workers !== undefined ? { workers: o.workers } : {}),
    onStart: (job, total) => progress?.start(job.key, total),
    onUpdate: (job, row) => {
      progress?.update(job.key, row);
    },
    onFinish: (job, r) => progress?.finish(job.key, r.status, r.error),
  });
  progress?.stop();
  const summary = groupSummary({ name: config.name, config: o.config, sets: o.sets ?? [], seeds, results });
  fs.mkdirSync(groupDir, { recursive: true });
  writeFileAtomic(path.join(groupDir, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
  const ok = results.filter((r) => r.status === "completed").map((r) => r.runDir);
  let plot: string | undefined;
  if (ok.length > 0 && config.log.plot) {
    plot = path.join(groupDir, "plots", "learning-curve.png");
    await plotSeeds(ok, plot, `${config.name}, seeds ${seeds[0]}–${seeds[seeds.length - 1]}`);
  }
  return { groupDir, results, summary, ...(plot ? { plot } : {}) };
}
