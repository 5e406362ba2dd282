/**
 * src/run — one training run. train.ts owns the loop (rollout → update → metrics row → checkpoint) and
 * the run folder's files; build.ts turns a config into agents, tasks, encoder, policy and trainer.
 * Contains no RL math (that is src/algos) and draws no PNG (callers pass src/plots in `plot`).
 */
import { commandName } from "../core/invocation.js";
import fs from "node:fs";
import path from "node:path";
import { NonFiniteLossError, type Trainer } from "../algos/trainer.js";
import { InputError, isOsError, OsError, withOsContext } from "../core/errors.js";
import { mean, std } from "../core/math.js";
import type { AgentOutput, Turn } from "../core/types.js";
import { rollout, type RolloutBatch } from "../env/rollout.js";
import { selectBackend } from "../policy/backend.js";
import { writeFileAtomic } from "../policy/io.js";
import { buildActionMask, buildAgents, buildEncoder, buildEnvSpec, buildKnob, buildTaskSource, buildTrainer, RunRngs } from "./build.js";
import { headsOf } from "../config/heads.js";
import { latestCheckpoint, loadCheckpoint, saveCheckpoint, type CheckpointMeta } from "./checkpoint.js";
import { configToYaml, configWarnings } from "../config/load.js";
import { priceRank, recordedAgents, recordedSplits } from "../config/recorded.js";
import { SpendTracker, type TrainingSpend } from "./spend.js";
import { planResume } from "./resume.js";
import type { Config } from "../config/schema.js";
import { budgetStatus, type BudgetStatus } from "./budget.js";
import { gitStateInBackground, makeManifest, type Manifest } from "./manifest.js";
import { finalWindow, MetricsWriter, metricsColumns, readMetrics, truncateJsonl, truncateMetrics, type MetricsRow } from "./metrics.js";
import { readStructure, structureRecord, structureSummary } from "../analysis/structure.js";
import { buildLlm, loadUserModules } from "./build.js";
import { llmMetricColumns } from "./columns.js";
import { emptyStats, type LlmClient, type LlmStats } from "../llm/client.js";
import { finalAnswer, type FinalAnswerMode } from "../tasks/evaluators.js";
import { lockEntries, lockFolder, type FolderLock } from "./lock.js";

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

export interface RunSummary {
  status: "completed" | "failed" | "interrupted";
  error?: string;
  name: string;
  seed: number;
  backend: string;
  runDir: string;
  updates: number;
  episodes: number;
  env_steps: number;
  wall_s: number;
  /** The last update's metrics row. */
  final: MetricsRow | null;
  /** THE "final" figures of the run: column means over the last 10% of updates, at least one (metrics.ts finalWindow). */
  finalWindow: MetricsRow | null;
  best: { update: number; return_mean: number } | null;
  /** LLM traffic of this process (runs with LLM agents). */
  llm?: LlmStats;
  /** Runs with env.budget: the budget, the cost estimate against it and the multiplier (issue 14). */
  budget?: BudgetStatus;
  /** configWarnings of the config (e.g. a budget the trainer does not enforce). */
  warnings?: string[];
  /** Recorded pools: the $ of the distinct calls training made against the full training table's (src/run/spend.ts). */
  trainingSpend?: TrainingSpend;
}

function llmDelta(now: LlmStats, before: LlmStats): MetricsRow {
  return {
    llm_calls: now.calls - before.calls,
    llm_requests: now.requests - before.requests,
    llm_errors: now.errors - before.errors,
    cache_hits: now.cacheHits - before.cacheHits,
    saved_cost: now.savedCost - before.savedCost,
    tokens_in: now.inputTokens - before.inputTokens,
    tokens_out: now.outputTokens - before.outputTokens,
  };
}

/** The per-turn view of an episode written to episodes.jsonl for LLM runs (no prompts, no keys). */
export function turnRecords(agents: readonly string[], outputs: readonly AgentOutput[]): Record<string, unknown>[] {
  return outputs.map((o, i) => ({
    agent: agents[i],
    ...(o.answer !== undefined ? { answer: o.answer } : {}),
    cost: o.cost,
    ...(o.usage ? { tokens_in: o.usage.inputTokens, tokens_out: o.usage.outputTokens } : {}),
    ...(o.meta?.cached === true ? { cached: true } : {}),
    ...(o.meta?.error !== undefined ? { error: o.meta.error } : {}),
    excerpt: o.content.slice(0, 160),
  }));
}

function timestamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

export function defaultRunDir(c: Config): string {
  return path.join("runs", c.name, `${timestamp()}-seed${c.seed}`);
}

export { loadRunConfig } from "./resume.js";

/** The metrics row describing a batch (before the update it feeds). */
export function batchStats(batch: RolloutBatch): MetricsRow {
  const eps = batch.episodes;
  return {
    return_mean: mean(eps.map((e) => e.return)),
    return_std: std(eps.map((e) => e.return)),
    success_rate: mean(eps.map((e) => (e.success ? 1 : 0))),
    cost_mean: mean(eps.map((e) => e.cost)),
    ep_len_mean: mean(eps.map((e) => e.length)),
  };
}

function episodeRecords(batch: RolloutBatch, update: number, sample: number, finalMode: FinalAnswerMode = "last", rank?: (t: Turn) => number): string {
  const n = sample < 0 ? batch.episodes.length : Math.min(sample, batch.episodes.length);
  let out = "";
  for (const e of batch.episodes.slice(0, n)) {
    out +=
      JSON.stringify({
        update,
        episode: e.index,
        task: e.taskId,
        agents: e.agents,
        ...(e.options ? { options: e.options } : {}),
        rewards: e.rows.map((r) => batch.rewards[r]),
        costs: e.rows.map((r) => batch.costs[r]),
        return: e.return,
        cost: e.cost,
        success: e.success,
        length: e.length,
        ...(e.outputs
          ? {
              final_answer: finalAnswer(
                e.outputs.map((output, i) => ({ agent: e.agents[i]!, agentIndex: batch.actions[e.rows[i]!]!, output })),
                finalMode,
                rank,
              ) ?? null,
              turns: turnRecords(e.agents, e.outputs),
            }
          : {}),
      }) + "\n";
  }
  return out;
}

/** Files run creation writes before `manifest.json`, the mark of a started run (issue 12 item 5). */
const creationEntries = ["config.yaml", "checkpoints", "episodes.jsonl", "structure.jsonl", "metrics.csv"];

/**
 * A folder that holds nothing but what an interrupted run creation leaves (a kill after config.yaml,
 * before manifest.json): no manifest, no checkpoint, no metrics rows. Such a run is started afresh.
 */
export function isUnstartedRunFolder(dir: string): boolean {
  if (!fs.existsSync(dir) || fs.existsSync(path.join(dir, "manifest.json"))) return false;
  for (const e of fs.readdirSync(dir)) {
    if (lockEntries.includes(e) || e.includes(".tmp-")) continue;
    if (!creationEntries.includes(e)) return false;
    if (e === "checkpoints" && fs.readdirSync(path.join(dir, e)).some((d) => !d.startsWith("."))) return false;
  }
  return true;
}

/** The run stopped because most of its LLM calls failed (a dead endpoint); the folder stays resumable. */
export class LlmUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LlmUnavailableError";
  }
}

/** Resolves with `p`, or with `undefined` as soon as `signal` aborts (p goes on, its result ignored). */
function unlessAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T | undefined> {
  if (!signal) return p;
  if (signal.aborted) {
    p.catch(() => {});
    return Promise.resolve(undefined);
  }
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = () => {
      p.catch(() => {});
      resolve(undefined);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * Trains one run: a new one from `config`, or continues `resumeDir` from its last checkpoint so that
 * the metrics equal those of an uninterrupted run (timing columns aside). The run folder is locked for
 * the whole run (a second process gets a {@link FolderLockedError} naming this one's pid). When
 * `signal` aborts, the run saves its state after the last completed update and returns with status
 * `interrupted`; when most LLM calls fail (llm.maxErrorRate) it saves the same and throws
 * {@link LlmUnavailableError}. Either way `--resume` continues exactly.
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
  // Everything that can fail on bad input happens before the run folder is created.
  await loadUserModules(config);
  const llm: LlmClient | undefined = buildLlm(config);
  const agents = buildAgents(config, { llm });
  const tasks = buildTaskSource(config);
  const spec = buildEnvSpec(config);
  const backend = await selectBackend(config.backend);
  const encoder = buildEncoder(config, llm);
  const rngs = new RunRngs(config.seed);
  const trainer: Trainer = buildTrainer(config, encoder, rngs.trainer);
  const actionMask = buildActionMask(config);
  const knob = buildKnob(config);

  const runDir = resuming ? opts.resumeDir! : (opts.runDir ?? defaultRunDir(config));
  const source = opts.runDirSource ?? (resuming ? "--resume" : opts.runDir !== undefined ? "--run-dir" : "the default runs/<name>/<timestamp>-seed<k>/");
  const metricsFile = path.join(runDir, "metrics.csv");
  const episodesFile = path.join(runDir, "episodes.jsonl");
  const manifestFile = path.join(runDir, "manifest.json");
  const structureFile = path.join(runDir, "structure.jsonl");
  const callsFile = path.join(runDir, "training-calls.jsonl");
  const agentNames = config.agents.map((a) => a.name);
  let startUpdate = 0;
  let episodes = 0;
  let envSteps = 0;
  let wallOffset = 0;
  let best: CheckpointMeta["best"] = null;
  const columns = metricsColumns([...trainer.metricNames, ...(knob?.metricNames ?? []), ...(llm ? llmMetricColumns : [])]);
  const finalMode = "finalAnswer" in config.tasks ? config.tasks.finalAnswer : "last";
  const answerRank = priceRank(config);

  let lock: FolderLock | undefined;
  try {
    const isFile = fs.existsSync(runDir) && !fs.statSync(runDir).isDirectory();
    if (isFile) throw new InputError(`${runDir} (${source}): is a file, not a run folder`, runDir);
    withOsContext("create the run folder", runDir, source, () => fs.mkdirSync(runDir, { recursive: true }));
    lock = await lockFolder(runDir, resuming ? "resume" : "train into");
    // a kill during creation (config.yaml written, manifest.json not) leaves an unstarted folder: start it
    const unstarted = isUnstartedRunFolder(runDir);
    if (!resuming || unstarted) {
      const others = fs.readdirSync(runDir).filter((e) => !lockEntries.includes(e));
      if (others.length > 0 && !unstarted) {
        throw new InputError(`${runDir}: run folder already exists and is not empty (use --resume to continue it)`, runDir);
      }
      for (const e of others) fs.rmSync(path.join(runDir, e), { recursive: true, force: true });
      // manifest.json last: it marks a started run
      fs.mkdirSync(path.join(runDir, "checkpoints"), { recursive: true });
      writeFileAtomic(path.join(runDir, "config.yaml"), configToYaml(config));
      fs.writeFileSync(episodesFile, "");
      fs.writeFileSync(structureFile, "");
      if (config.tasks.source === "recorded") fs.writeFileSync(callsFile, "");
      opts.testHooks?.beforeManifest?.();
      writeFileAtomic(manifestFile, JSON.stringify(makeManifest(config.name, config.seed, backend, git ? await git : undefined), null, 2) + "\n");
    } else {
      const ck = latestCheckpoint(runDir);
      if (ck) {
        const meta = await loadCheckpoint(ck.dir, trainer);
        rngs.restore(meta.rng);
        knob?.restore(meta.knob);
        startUpdate = meta.update;
        episodes = meta.episodes;
        envSteps = meta.envSteps;
        wallOffset = meta.wallSeconds;
        best = meta.best;
      }
      truncateMetrics(metricsFile, startUpdate);
      truncateJsonl(episodesFile, startUpdate);
      truncateJsonl(structureFile, startUpdate);
      truncateJsonl(callsFile, startUpdate);
      const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8")) as Manifest;
      const changed = plan!.changes.map((c) => `${c.key} ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`);
      manifest.resumes.push(`${new Date().toISOString()} from update ${startUpdate} on ${backend}${changed.length ? `; --set ${changed.join(", ")}` : ""}`);
      if (changed.length) writeFileAtomic(path.join(runDir, "config.yaml"), configToYaml(config));
      writeFileAtomic(manifestFile, JSON.stringify(manifest, null, 2) + "\n");
    }
    const total = config.train.updates;
    const warnings = configWarnings(config);
    opts.onStart?.({ runDir, backend, config, ...(resuming && !unstarted ? { resumedFrom: startUpdate } : {}), totalUpdates: total, warnings });

    const spend = config.tasks.source === "recorded" ? new SpendTracker(recordedAgents(config), recordedSplits(config).train, callsFile) : undefined;
    spend?.restore();
    const writer = new MetricsWriter(metricsFile, columns);
    // loaded only when on (protobufjs and its message definitions cost start-up time)
    const tb = config.log.tensorboard
      ? new (await import("./tensorboard.js")).RunEventWriter(path.join(runDir, "tb"), { after: startUpdate, rows: () => readMetrics(metricsFile).rows })
      : undefined;
    const t0 = performance.now();
    const wall = () => wallOffset + (performance.now() - t0) / 1000;
    const E = config.train.episodesPerUpdate;
    const maxErrorRate = config.llm?.maxErrorRate ?? 1;
    const errorPatience = config.llm?.errorPatience ?? 1;
    let errorStreak = 0;
    let lastCheckpoint = latestCheckpoint(runDir)?.update ?? 0;

    const finish = async (status: RunSummary["status"], error?: string): Promise<RunSummary> => {
      const rows = readMetrics(metricsFile).rows;
      const summary: RunSummary = {
        status,
        ...(error ? { error } : {}),
        name: config.name,
        seed: config.seed,
        backend,
        runDir,
        updates: rows.length,
        episodes,
        env_steps: envSteps,
        wall_s: wall(),
        final: rows[rows.length - 1] ?? null,
        finalWindow: finalWindow(rows) ?? null,
        best,
        ...(llm ? { llm: { ...llm.stats } } : {}),
      };
      const budget = budgetStatus(config, rows);
      if (budget) summary.budget = budget;
      if (warnings.length > 0) summary.warnings = warnings;
      if (spend) summary.trainingSpend = spend.summary();
      writeFileAtomic(path.join(runDir, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
      const structure = structureSummary(readStructure(structureFile));
      if (structure) writeFileAtomic(path.join(runDir, "structure.json"), JSON.stringify(structure, null, 2) + "\n");
      if (status !== "interrupted" && config.log.plot && rows.length > 0 && opts.plot) await opts.plot(runDir);
      return summary;
    };

    /** Saves the state after update `done` (the trainer has not been touched since) unless a checkpoint has it. */
    const saveResumePoint = async (done: number, rng: ReturnType<RunRngs["state"]>, eps: number, steps: number) => {
      if (done <= lastCheckpoint) return;
      // the knob's multipliers change only after trainer.update, so they too are still those after update `done`
      const state = { update: done, episodes: eps, envSteps: steps, wallSeconds: wall(), rng, best, ...(knob ? { knob: knob.state() } : {}) };
      await saveCheckpoint(runDir, trainer, state, config.train.keepCheckpoints);
      lastCheckpoint = done;
    };

    for (let u = startUpdate + 1; u <= total; u++) {
      if (lock.compromised) {
        throw new Error(`${runDir}: lost the lock on the run folder (${lock.compromised.message}); stopped so that two processes never write one run`);
      }
      // the state before update u: what a stop during this update saves (nothing below changes it until trainer.update)
      const rngBefore = rngs.state();
      const episodesBefore = episodes;
      const stepsBefore = envSteps;
      // Let the event loop run once per update: with simulated agents and synchronous file writes an update
      // never waits on I/O, so without this a SIGINT/SIGTERM handler (or the lock's refresh timer) would
      // never get to run before the last update.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (opts.signal?.aborted) {
        await saveResumePoint(u - 1, rngBefore, episodesBefore, stepsBefore);
        return await finish("interrupted");
      }
      const llmBefore = llm ? { ...llm.stats } : emptyStats();
      let batch: RolloutBatch | undefined;
      try {
        batch = await unlessAborted(
          rollout({
            spec,
            agents,
            encoder,
            policy: trainer.policy,
            heads: headsOf(config),
            tasks,
            episodes: E,
            firstEpisode: (u - 1) * E,
            policyRng: rngs.policy,
            envRng: rngs.env,
            taskRng: rngs.tasks,
            recordOutputs: llm !== undefined,
            ...(actionMask ? { actionMask } : {}),
            ...(knob ? { knob } : {}),
          }),
          opts.signal,
        );
      } catch (e) {
        // an agent or the evaluator failed (e.g. a module agent's bad result): the run keeps the state after
        // the last update and says why, so a fixed module continues it with --resume
        await saveResumePoint(u - 1, rngBefore, episodesBefore, stepsBefore);
        const why = e instanceof Error ? e.message : String(e);
        const msg = `${why}\n${runDir} keeps the state after update ${u - 1}; after fixing it, continue with: maestro train --resume ${runDir}`;
        await finish("failed", msg);
        throw e instanceof InputError ? new InputError(msg, e.file, e.field) : e;
      }
      if (batch === undefined) {
        // interrupted during the rollout: its episodes are dropped, the state before it is kept
        await saveResumePoint(u - 1, rngBefore, episodesBefore, stepsBefore);
        return await finish("interrupted");
      }
      if (llm) {
        // a dead endpoint: stop before training on a batch of error turns (issue 11)
        const d = llmDelta(llm.stats, llmBefore);
        const calls = d.llm_calls!;
        const rate = calls > 0 ? d.llm_errors! / calls : 0;
        errorStreak = calls > 0 && rate > maxErrorRate ? errorStreak + 1 : 0;
        // an update whose every call failed holds nothing to learn from: never trained on, whatever the patience
        const allFailed = calls > 0 && rate >= 1 && maxErrorRate < 1;
        const deadFromStart = allFailed && u === startUpdate + 1;
        if (allFailed || errorStreak >= errorPatience) {
          await saveResumePoint(u - 1, rngBefore, episodesBefore, stepsBefore);
          const msg =
            `llm: ${d.llm_errors} of ${calls} LLM calls failed in update ${u}` +
            (llm.lastError ? ` (last error: ${llm.lastError})` : "") +
            (deadFromStart ? "; every call of the first update failed" : allFailed ? "; every call of the update failed" : `; more than llm.maxErrorRate = ${maxErrorRate} for ${errorStreak} update(s) in a row (llm.errorPatience = ${errorPatience})`) +
            `. Stopped before training on error turns; ${runDir} keeps the state after update ${u - 1}. ` +
            `Check that the LLM server is up (${llm.endpoints().join(", ")}; a local simulated one: ${commandName()} sim-server), ` +
            `then continue with: ${commandName()} train --resume ${runDir}`;
          await finish("failed", msg);
          throw new LlmUnavailableError(msg);
        }
      }
      episodes += batch.episodes.length;
      envSteps += batch.envSteps;
      const stats = batchStats(batch);
      let upd;
      try {
        upd = await trainer.update(batch);
      } catch (e) {
        // the broken weights are not checkpointed: the last good checkpoint stays the latest
        if (e instanceof NonFiniteLossError) await finish("failed", e.message);
        throw e;
      }
      // budget knob: one dual step of the per-bin multipliers (after the policy update, from the same batch)
      const knobRow = knob ? knob.update(batch.episodes) : {};
      const row: MetricsRow = {
        update: u,
        episodes,
        env_steps: envSteps,
        ...stats,
        ...upd,
        ...knobRow,
        ...(llm ? llmDelta(llm.stats, llmBefore) : {}),
        wall_s: wall(),
      };
      await writer.write(row);
      tb?.write(row);
      fs.appendFileSync(structureFile, JSON.stringify(structureRecord(u, agentNames, batch.episodes, headsOf(config))) + "\n");
      spend?.record(u, batch.episodes);
      if (config.log.episodeSample !== 0) fs.appendFileSync(episodesFile, episodeRecords(batch, u, config.log.episodeSample, finalMode, answerRank));
      if (!best || stats.return_mean! > best.return_mean) best = { update: u, return_mean: stats.return_mean! };
      if (u % config.train.checkpointEvery === 0 || u === total) {
        await saveCheckpoint(
          runDir,
          trainer,
          { update: u, episodes, envSteps, wallSeconds: wall(), rng: rngs.state(), best, ...(knob ? { knob: knob.state() } : {}) },
          config.train.keepCheckpoints,
        );
        lastCheckpoint = u;
      }
      opts.onUpdate?.(row, total);
    }
    return await finish("completed");
  } catch (e) {
    // an OS error (disk full, a file in the way) names the run folder and the option that named it
    if (isOsError(e) && !(e instanceof OsError)) throw new OsError("write the run folder", runDir, e, source);
    if (e instanceof OsError && !e.source) throw new OsError(e.what, e.target, e.cause, source);
    throw e;
  } finally {
    trainer.dispose();
    await lock?.release();
  }
}
