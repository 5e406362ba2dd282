import path from "node:path";
import { loadConfig } from "../config/load.js";
import { plotSeeds } from "../plots/group.js";
import { runPool, type PoolJob, type PoolResult } from "./pool.js";
import { createPoolProgress } from "./poolProgress.js";
import { defaultRunDir } from "../run/train.js";

export interface SeedsOptions {
  config: string;
  sets?: string[];
  /** First seed (default: the config's seed); seeds are seed, seed+1, ... */
  seed?: number;
  seeds: number;
  /** Parent folder: runs go to <runDir>/seed<k>/ (default runs/<name>/<timestamp>-seed<k>/). */
  runDir?: string;
  workers?: number;
  quiet?: boolean;
}

export interface SeedsResult {
  results: PoolResult[];
  plot?: string;
}

/**
 * `maestro train <config> --seeds N`: N seeds in parallel child processes (the same pool as local
 * sweeps), one combined progress display, then the multi-seed learning curve (mean and 95% band).
 */
export async function trainSeeds(o: SeedsOptions): Promise<SeedsResult> {
  // validate before anything is spawned or written
  const config = loadConfig(o.config, { sets: o.sets ?? [], ...(o.seed !== undefined ? { seed: o.seed } : {}) });
  const seeds = Array.from({ length: o.seeds }, (_, i) => config.seed + i);
  const stamp = defaultRunDir(config).replace(/seed\d+$/, "seed");
  const jobs: PoolJob[] = seeds.map((s) => {
    const runDir = o.runDir ? path.join(o.runDir, `seed${s}`) : `${stamp}${s}`;
    return { key: `seed${s}`, config: o.config, seed: s, runDir, sets: o.sets ?? [] };
  });
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
  const ok = results.filter((r) => r.status === "completed").map((r) => r.runDir);
  let plot: string | undefined;
  if (ok.length > 0 && config.log.plot) {
    const first = jobs[0]!.runDir;
    plot = o.runDir
      ? path.join(o.runDir, "plots", "learning-curve.png")
      : path.join(path.dirname(first), "plots", `${path.basename(first).replace(/-seed\d+$/, "")}-seeds${seeds[0]}-${seeds[seeds.length - 1]}.png`);
    await plotSeeds(ok, plot, `${config.name}, seeds ${seeds[0]}–${seeds[seeds.length - 1]}`);
  }
  return { results, ...(plot ? { plot } : {}) };
}
