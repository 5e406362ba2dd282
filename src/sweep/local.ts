/**
 * src/sweep — many runs: sweep files (spec.ts), the process pool (pool.ts), multi-seed training, local
 * execution (this file) and the Redis/BullMQ queue (queue.ts), summaries. Launches runs through
 * src/run and reads their folders; knows nothing of a trainer's internals.
 */
import fs from "node:fs";
import path from "node:path";
import { InputError, withOsContext } from "../core/errors.js";
import { writeFileAtomic } from "../policy/io.js";
import { configToYaml } from "../config/load.js";
import { folderHolder, lockFolder, type FolderLock } from "../run/lock.js";
import { readMetrics } from "../run/metrics.js";
import { runPool, type PoolJob, type PoolResult } from "./pool.js";
import { createPoolProgress } from "./poolProgress.js";
import type { RunSummary } from "../run/train.js";
import { writeTrialSessions, writeTrialSessionStarts } from "./hparams.js";
import { MedianStopper } from "./median.js";
import { loadSweep, type Sweep } from "./spec.js";
import {
  readJson,
  seedDir,
  trialDir,
  writeJson,
  writeSweepSummary,
  type SweepManifest,
  type TrialOutcome,
  type TrialState,
} from "./summary.js";

export interface SweepRunOptions {
  /** Parallel child processes (default: number of cores). */
  workers?: number;
  /** Parent folder of the sweep folder (default runs/). */
  runsDir?: string;
  quiet?: boolean;
}

export interface SweepRunResult {
  sweepDir: string;
  trials: TrialOutcome[];
  /** Seed runs skipped because an earlier invocation completed them (or their trial was stopped). */
  skipped: number;
  /** Seed runs started (fresh or resumed) by this invocation. */
  ran: number;
  csv: string;
  md: string;
  plot?: string;
}

/** One seed run of a trial that still has to happen. */
export interface PendingRun {
  trial: string;
  seed: number;
  runDir: string;
  resume: boolean;
}

/**
 * Creates or re-opens the sweep folder: sweep.json, and per trial its folder with the resolved
 * config.yaml and trial.json. A trial whose stored config differs from the sweep file's is an error
 * (the file changed under an existing sweep: give it a new name or delete the folder).
 */
export function prepareSweep(sweep: Sweep, runsDir = "runs"): string {
  const sweepDir = path.join(runsDir, sweep.name);
  for (const t of sweep.trials) {
    const file = path.join(trialDir(sweepDir, t.id), "config.yaml");
    if (fs.existsSync(file) && fs.readFileSync(file, "utf8") !== configToYaml(t.config)) {
      throw new InputError(
        `${sweep.file}: trial ${t.id} (${JSON.stringify(t.params)}) already exists in ${sweepDir} with a different config ` +
          `(the base config or the fixed overrides changed): use a new sweep name or delete ${sweepDir}`,
        sweep.file,
      );
    }
  }
  const manifest: SweepManifest = {
    name: sweep.name,
    file: path.resolve(sweep.file),
    base: sweep.spec.base,
    method: sweep.spec.method,
    seeds: sweep.seeds,
    keys: Object.keys(sweep.spec.parameters),
    objective: sweep.spec.objective,
    trials: sweep.trials.map((t) => ({ id: t.id, params: t.params })),
  };
  writeJson(path.join(sweepDir, "sweep.json"), manifest);
  for (const t of sweep.trials) {
    const dir = trialDir(sweepDir, t.id);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, "config.yaml");
    if (!fs.existsSync(file)) writeFileAtomic(file, configToYaml(t.config));
    if (!fs.existsSync(path.join(dir, "trial.json")))
      writeJson(path.join(dir, "trial.json"), { id: t.id, params: t.params, status: "pending" } satisfies TrialState);
  }
  writeTrialSessionStarts(sweep, sweepDir);
  return sweepDir;
}

/**
 * The seed runs still to do: completed runs (summary.json status completed) and stopped trials are
 * skipped; failed runs are cleared and start again; unfinished runs (config.yaml but no summary) are
 * resumed from their last checkpoint.
 */
export function pendingRuns(sweep: Sweep, sweepDir: string): { pending: PendingRun[]; skipped: number; held: HeldRun[] } {
  const pending: PendingRun[] = [];
  const held: HeldRun[] = [];
  let skipped = 0;
  for (const t of sweep.trials) {
    const state = readJson<TrialState>(path.join(trialDir(sweepDir, t.id), "trial.json"));
    if (state?.status === "stopped") {
      skipped += sweep.seeds.length;
      continue;
    }
    for (const s of sweep.seeds) {
      const runDir = seedDir(sweepDir, t.id, s);
      const summary = readJson<RunSummary>(path.join(runDir, "summary.json"));
      if (summary?.status === "completed") {
        skipped++;
        continue;
      }
      // another process (a `train --resume` by hand, another sweep) is writing this run: leave it alone
      const holder = folderHolder(runDir);
      if (holder) {
        held.push({ trial: t.id, seed: s, runDir, pid: holder.pid });
        continue;
      }
      const unfinished = resumable(runDir, summary);
      if (!unfinished && fs.existsSync(runDir)) fs.rmSync(runDir, { recursive: true, force: true });
      pending.push({ trial: t.id, seed: s, runDir, resume: unfinished });
    }
  }
  return { pending, skipped, held };
}

/** A run folder to continue (not restart): no summary yet (killed, or killed during creation) or interrupted. */
export function resumable(runDir: string, summary: Pick<RunSummary, "status"> | undefined): boolean {
  return (summary === undefined || summary.status === "interrupted") && fs.existsSync(path.join(runDir, "config.yaml"));
}

/** A seed run another live process holds (skipped by this invocation). */
export interface HeldRun {
  trial: string;
  seed: number;
  runDir: string;
  pid: number | undefined;
}

/** Updates trial.json of every trial after runs finished. */
export function recordTrialStates(sweep: Sweep, sweepDir: string, results: Map<string, PoolResult>, stopper?: MedianStopper): void {
  for (const t of sweep.trials) {
    const file = path.join(trialDir(sweepDir, t.id), "trial.json");
    const prev = readJson<TrialState>(file) ?? { id: t.id, params: t.params, status: "pending" };
    if (prev.status === "stopped") continue;
    const errors: Record<string, string> = {};
    let done = 0;
    for (const s of sweep.seeds) {
      const r = results.get(`${t.id}/seed${s}`);
      if (r?.status === "failed") errors[String(s)] = `${r.error ?? "failed"} (log: ${r.logFile})`;
      const summary = readJson<RunSummary>(path.join(seedDir(sweepDir, t.id, s), "summary.json"));
      if (summary?.status === "completed") done++;
    }
    const stopped = stopper?.stopped.get(t.id);
    const next: TrialState = {
      id: t.id,
      params: t.params,
      status: stopped ? "stopped" : Object.keys(errors).length ? "failed" : done === sweep.seeds.length ? "completed" : "pending",
      ...(stopped ? { stopped } : {}),
      ...(Object.keys(errors).length ? { errors } : {}),
    };
    writeJson(file, next);
  }
}

/** Writes sweep.csv, sweep.md, plots/sweep.png and the trials' TensorBoard HParams sessions. */
export async function finishSweep(
  sweepDir: string,
  sweep: Sweep,
): Promise<{ csv: string; md: string; trials: TrialOutcome[]; plot?: string }> {
  const s = writeSweepSummary(sweepDir);
  writeTrialSessions(sweep, sweepDir, s.trials);
  let plot: string | undefined;
  if (s.trials.some((t) => t.seeds.some((x) => x.final))) {
    const { plotSweep } = await import("../plots/sweep.js");
    plot = await plotSweep(sweepDir);
  }
  return { ...s, ...(plot ? { plot } : {}) };
}

/**
 * `maestro sweep <file>`: validates the sweep, then runs every pending (trial, seed) as a child
 * process, `workers` at a time, with one combined progress display and optional median-rule early
 * stopping. A failing run never stops the others; the caller reports failures at the end.
 */
export async function runSweepLocal(file: string, opts: SweepRunOptions = {}): Promise<SweepRunResult> {
  const sweep = loadSweep(file);
  // one sweep process per sweep folder: a second `maestro sweep` of the same file is refused
  const lock = await lockSweepFolder(sweep, opts.runsDir);
  try {
    return await runLocked(sweep, opts);
  } finally {
    await lock.release();
  }
}

/** Creates `<runsDir>/<sweep>/` and takes its lock (errors name --runs-dir and the holder's pid). */
export async function lockSweepFolder(sweep: Sweep, runsDir = "runs"): Promise<FolderLock> {
  const sweepDir = path.join(runsDir, sweep.name);
  withOsContext("create the sweep folder", sweepDir, "--runs-dir", () => fs.mkdirSync(sweepDir, { recursive: true }));
  return lockFolder(sweepDir, `run sweep ${sweep.file} in`);
}

/** Tells which seed runs this invocation leaves to the processes holding them. */
export function reportHeld(held: readonly HeldRun[], quiet = false): void {
  if (quiet) return;
  for (const h of held)
    console.error(
      `sweep: skipping ${h.trial} seed ${h.seed}: ${h.runDir} is in use by process ${h.pid ?? "(unknown)"}; re-run the sweep after it ends`,
    );
}

async function runLocked(sweep: Sweep, opts: SweepRunOptions): Promise<SweepRunResult> {
  const sweepDir = withOsContext("write the sweep folder", path.join(opts.runsDir ?? "runs", sweep.name), "--runs-dir", () =>
    prepareSweep(sweep, opts.runsDir),
  );
  const { pending, skipped, held } = pendingRuns(sweep, sweepDir);
  reportHeld(held, opts.quiet);
  const es = sweep.spec.earlyStop;
  const stopper = es ? new MedianStopper(es) : undefined;
  if (stopper) {
    // earlier invocations' runs count as peers of the median rule
    for (const t of sweep.trials) {
      for (const s of sweep.seeds) {
        const m = path.join(seedDir(sweepDir, t.id, s), "metrics.csv");
        if (!fs.existsSync(m)) continue;
        for (const row of readMetrics(m).rows) stopper.record(t.id, s, row.update!, row[es!.metric] ?? NaN);
      }
    }
  }
  const trialOf = new Map<string, string>();
  const jobs: PoolJob[] = pending.map((p) => {
    const key = `${p.trial}/seed${p.seed}`;
    trialOf.set(key, p.trial);
    return {
      key,
      config: path.join(trialDir(sweepDir, p.trial), "config.yaml"),
      seed: p.seed,
      runDir: p.runDir,
      resume: p.resume,
      runDirSource: "sweep --runs-dir",
    };
  });
  const updates = sweep.trials[0]!.config.train.updates;
  const progress = opts.quiet || jobs.length === 0 ? undefined : createPoolProgress(`sweep ${sweep.name}`, jobs.length, updates);
  const results = await runPool(jobs, {
    ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
    skip: (job) => stopper?.stopped.has(trialOf.get(job.key)!) ?? false,
    onStart: (job, total) => progress?.start(job.key, total),
    onUpdate: (job, row) => {
      progress?.update(job.key, row);
      if (!stopper) return false;
      return stopper.report(trialOf.get(job.key)!, job.seed, row.update!, row[es!.metric] ?? NaN);
    },
    onFinish: (job, r) => progress?.finish(job.key, r.status, r.error),
  });
  progress?.stop();
  const byKey = new Map(results.map((r) => [r.key, r]));
  recordTrialStates(sweep, sweepDir, byKey, stopper);
  const fin = await finishSweep(sweepDir, sweep);
  return { sweepDir, trials: fin.trials, skipped, ran: jobs.length, csv: fin.csv, md: fin.md, ...(fin.plot ? { plot: fin.plot } : {}) };
}
