/**
 * src/run — one training run. train.ts owns the loop (rollout → update → metrics row → checkpoint);
 * session.ts its steps, run-folder.ts the run folder's files, records.ts what an update writes; build.ts
 * turns a config into agents, tasks, encoder, policy and trainer.
 * Contains no RL math (that is src/algos) and draws no PNG (callers pass src/plots in `plot`).
 */
import fs from "node:fs";
import path from "node:path";
import { configWarnings } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { isOsError, OsError } from "../core/errors.js";
import { selectBackend } from "../policy/backend.js";
import {
  buildActionMask,
  buildAgents,
  buildEncoder,
  buildEnvSpec,
  buildKnob,
  buildLlm,
  buildTaskSource,
  buildTrainer,
  loadUserModules,
  RunRngs,
} from "./build.js";
import type { FolderLock } from "./lock.js";
import type { MetricsRow } from "./metrics.js";
import { gitStateInBackground } from "./manifest.js";
import { planResume } from "./resume.js";
import { createRunFolder, isUnstartedRunFolder, lockRunFolder, reopenRunFolder, runFiles } from "./run-folder.js";
import { TrainingSession, type RunParts, type RunSummary } from "./session.js";

export interface TrainOptions {
  /** Start a new run from this validated config. */
  config?: Config;
  /** Where the new run goes (default runs/<name>/<timestamp>-seed<k>/). */
  runDir?: string;
  /** Continue the run in this folder from its last checkpoint. */
  resumeDir?: string;
  /**
   * `key=value` changes for the resumed run, only of fields that keep it exact (resume.ts): e.g.
   * `train.updates=200` extends a finished run. A finished run with nothing to extend is left untouched.
   */
  resumeSets?: readonly string[];
  /**
   * Called once the backend is chosen and the run folder exists; `warnings` are what the config may not
   * mean (configWarnings: e.g. a budget that reinforce / ppo do not enforce), to be shown once.
   */
  onStart?(info: { runDir: string; backend: string; config: Config; resumedFrom?: number; totalUpdates: number; warnings: string[] }): void;
  /** Called after every update with its metrics row. */
  onUpdate?(row: MetricsRow, totalUpdates: number): void;
  /**
   * Draws the run's plots when it ends and `log.plot` is on. src/run draws no PNG itself (src/plots
   * sits above it): plots/with-plots.ts passes `plotRun` here for `maestro train`, the sweep pool and
   * the library's `train` export.
   */
  plot?(runDir: string): Promise<unknown>;
  /**
   * Stops the run cleanly when aborted (the CLI aborts on SIGINT/SIGTERM): the state after the last
   * completed update is checkpointed and summary.json says `interrupted`; `--resume` continues exactly.
   */
  signal?: AbortSignal;
  /** Which option or field named the run folder, for error messages (default --run-dir / --resume). */
  runDirSource?: string;
  /** Test-only fault injection points. */
  testHooks?: { beforeManifest?(): void };
}

export { batchStats, turnRecords } from "./records.js";
export { isUnstartedRunFolder } from "./run-folder.js";
export { LlmUnavailableError, type RunSummary } from "./session.js";

function timestamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

export function defaultRunDir(c: Config): string {
  return path.join("runs", c.name, `${timestamp()}-seed${c.seed}`);
}

export { loadRunConfig } from "./resume.js";

/** Builds a run's pieces from its config; everything that can fail on bad input fails here, before the run folder exists. */
async function buildRunParts(config: Config): Promise<RunParts> {
  await loadUserModules(config);
  const llm = buildLlm(config);
  const agents = buildAgents(config, { llm });
  const tasks = buildTaskSource(config);
  const spec = buildEnvSpec(config);
  const backend = await selectBackend(config.backend);
  const encoder = buildEncoder(config, llm);
  const rngs = new RunRngs(config.seed);
  const trainer = buildTrainer(config, encoder, rngs.trainer);
  const actionMask = buildActionMask(config);
  const knob = buildKnob(config);
  return { config, llm, agents, tasks, spec, backend, encoder, rngs, trainer, actionMask, knob };
}

/** An OS error (disk full, a file in the way) names the run folder and the option that named it. */
function withRunFolderContext(e: unknown, runDir: string, source: string): unknown {
  if (isOsError(e) && !(e instanceof OsError)) return new OsError("write the run folder", runDir, e, source);
  if (e instanceof OsError && !e.source) return new OsError(e.what, e.target, e.cause, source);
  return e;
}

/**
 * Trains one run: a new one from `config`, or continues `resumeDir` from its last checkpoint so that
 * the metrics equal those of an uninterrupted run (timing columns aside). The run folder is locked for
 * the whole run (a second process gets a {@link FolderLockedError} naming this one's pid). When
 * `signal` aborts, the run saves its state after the last completed update and returns with status
 * `interrupted`; when most LLM calls fail (llm.maxErrorRate) it saves the same and throws
 * {@link LlmUnavailableError}. Either way `--resume` continues exactly.
 *
 * Each update: collect a rollout batch → check the LLM traffic → update the trainer → record the
 * metrics row and episodes → checkpoint when due (the steps are {@link TrainingSession}'s methods).
 */
export async function train(opts: TrainOptions): Promise<RunSummary> {
  const resuming = opts.resumeDir !== undefined;
  const plan = resuming ? planResume(opts.resumeDir!, opts.resumeSets ?? []) : undefined;
  const config = plan ? plan.config : opts.config;
  if (!config) throw new Error("train: pass config or resumeDir");
  // nothing left to train: the folder stays as it is (a run killed after its last checkpoint but before
  // its summary.json gets the summary written below)
  if (plan?.completed) return JSON.parse(fs.readFileSync(path.join(plan.runDir, "summary.json"), "utf8")) as RunSummary;
  // the manifest's git state of a new run, read while tfjs and the backend load
  const git = resuming ? undefined : gitStateInBackground();
  const parts = await buildRunParts(config);
  const runDir = resuming ? opts.resumeDir! : (opts.runDir ?? defaultRunDir(config));
  const source =
    opts.runDirSource ?? (resuming ? "--resume" : opts.runDir !== undefined ? "--run-dir" : "the default runs/<name>/<timestamp>-seed<k>/");
  const files = runFiles(runDir);
  let lock: FolderLock | undefined;
  try {
    lock = await lockRunFolder(runDir, source, resuming);
    // a kill during creation (config.yaml written, manifest.json not) leaves an unstarted folder: start it
    const unstarted = isUnstartedRunFolder(runDir);
    const start =
      !resuming || unstarted
        ? createRunFolder(files, config, parts.backend, opts.testHooks?.beforeManifest, git ? await git : undefined)
        : await reopenRunFolder(files, plan!, parts.backend, parts);
    const total = config.train.updates;
    const warnings = configWarnings(config);
    opts.onStart?.({
      runDir,
      backend: parts.backend,
      config,
      ...(resuming && !unstarted ? { resumedFrom: start.update } : {}),
      totalUpdates: total,
      warnings,
    });
    const session = await TrainingSession.open(parts, { files, start, warnings, signal: opts.signal, plot: opts.plot });
    for (let u = start.update + 1; u <= total; u++) {
      if (lock.compromised) {
        throw new Error(
          `${runDir}: lost the lock on the run folder (${lock.compromised.message}); stopped so that two processes never write one run`,
        );
      }
      const before = session.snapshot(u);
      // Let the event loop run once per update: with simulated agents and synchronous file writes an update
      // never waits on I/O, so without this a SIGINT/SIGTERM handler (or the lock's refresh timer) would
      // never get to run before the last update.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (opts.signal?.aborted) return await session.interrupt(before);
      const batch = await session.collect(before);
      if (batch === undefined) return await session.interrupt(before);
      await session.checkLlmHealth(before, u === start.update + 1);
      const row = await session.update(before, batch);
      await session.record(batch, row);
      await session.checkpointIfDue(u);
      opts.onUpdate?.(row, total);
    }
    return await session.finish("completed");
  } catch (e) {
    throw withRunFolderContext(e, runDir, source);
  } finally {
    parts.trainer.dispose();
    await lock?.release();
  }
}
