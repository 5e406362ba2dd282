/**
 * The steps of one training session, each a method the loop in train.ts calls in order: collect a
 * rollout batch, check the LLM traffic, update the trainer, record the update's files, checkpoint, and
 * finish with summary.json. The session keeps the counters a checkpoint holds; every way of stopping
 * early saves the state after the last completed update, so `--resume` continues exactly.
 */
import fs from "node:fs";
import path from "node:path";
import { commandName } from "../core/invocation.js";
import { NonFiniteLossError, type Trainer } from "../algos/trainer.js";
import type { CostKnob } from "../algos/knob.js";
import { readStructure, structureRecord, structureSummary } from "../analysis/structure.js";
import { headsOf } from "../config/heads.js";
import { priceRank, recordedAgents, recordedSplits } from "../config/recorded.js";
import type { Config } from "../config/schema.js";
import { InputError } from "../core/errors.js";
import type { Agent } from "../agents/agent.js";
import type { EnvSpec } from "../env/env.js";
import { rollout, type RolloutBatch } from "../env/rollout.js";
import { emptyStats, type LlmClient, type LlmStats } from "../llm/client.js";
import type { StateEncoder } from "../policy/encoders.js";
import { writeFileAtomic } from "../policy/io.js";
import type { TaskSource } from "../tasks/source.js";
import type { FinalAnswerMode } from "../tasks/evaluators.js";
import { budgetStatus, type BudgetStatus } from "./budget.js";
import type { buildActionMask, RunRngs } from "./build.js";
import { saveCheckpoint, latestCheckpoint, type CheckpointMeta } from "./checkpoint.js";
import { llmMetricColumns } from "./columns.js";
import { finalWindow, MetricsWriter, metricsColumns, readMetrics, type MetricsRow } from "./metrics.js";
import { batchStats, episodeRecords, llmDelta } from "./records.js";
import type { RunFiles, StartPoint } from "./run-folder.js";
import { SpendTracker, type TrainingSpend } from "./spend.js";
import type { RunEventWriter } from "./tensorboard.js";

/** What a run is built from: everything that can fail on bad input, made before its folder exists. */
export interface RunParts {
  config: Config;
  llm: LlmClient | undefined;
  agents: Agent[];
  tasks: TaskSource;
  spec: EnvSpec;
  backend: string;
  encoder: StateEncoder;
  rngs: RunRngs;
  trainer: Trainer;
  actionMask: ReturnType<typeof buildActionMask>;
  knob: CostKnob | undefined;
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
  /** Runs with env.budget: the budget, the cost estimate against it and the multiplier. */
  budget?: BudgetStatus;
  /** configWarnings of the config (e.g. a budget the trainer does not enforce). */
  warnings?: string[];
  /** Recorded pools: the $ of the distinct calls training made against the full training table's (src/run/spend.ts). */
  trainingSpend?: TrainingSpend;
}

/** The run stopped because most of its LLM calls failed (a dead endpoint); the folder stays resumable. */
export class LlmUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LlmUnavailableError";
  }
}

/** The state before an update: what a stop during it saves (nothing changes it until trainer.update). */
export interface UpdateStart {
  update: number;
  rng: ReturnType<RunRngs["state"]>;
  episodes: number;
  envSteps: number;
  llm: LlmStats;
}

export interface SessionOptions {
  files: RunFiles;
  start: StartPoint;
  warnings: string[];
  signal: AbortSignal | undefined;
  plot: ((runDir: string) => Promise<unknown>) | undefined;
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

export class TrainingSession {
  private episodes: number;
  private envSteps: number;
  private best: CheckpointMeta["best"];
  private lastCheckpoint: number;
  private errorStreak = 0;
  private readonly t0 = performance.now();
  private readonly finalMode: FinalAnswerMode;
  private readonly answerRank: ReturnType<typeof priceRank>;

  private constructor(
    private readonly parts: RunParts,
    private readonly o: SessionOptions,
    private readonly writer: MetricsWriter,
    private readonly tb: RunEventWriter | undefined,
    private readonly spend: SpendTracker | undefined,
  ) {
    const { config } = parts;
    this.episodes = o.start.episodes;
    this.envSteps = o.start.envSteps;
    this.best = o.start.best;
    this.lastCheckpoint = latestCheckpoint(o.files.dir)?.update ?? 0;
    this.finalMode = "finalAnswer" in config.tasks ? config.tasks.finalAnswer : "last";
    this.answerRank = priceRank(config);
  }

  /** Opens the writers of the run's files (after the run folder is created or reopened). */
  static async open(parts: RunParts, o: SessionOptions): Promise<TrainingSession> {
    const { config, trainer, knob, llm } = parts;
    const { files } = o;
    const spend =
      config.tasks.source === "recorded" ? new SpendTracker(recordedAgents(config), recordedSplits(config).train, files.calls) : undefined;
    spend?.restore();
    const columns = metricsColumns([...trainer.metricNames, ...(knob?.metricNames ?? []), ...(llm ? llmMetricColumns : [])]);
    const writer = new MetricsWriter(files.metrics, columns);
    // loaded only when on (protobufjs and its message definitions cost start-up time)
    const tb = config.log.tensorboard
      ? new (await import("./tensorboard.js")).RunEventWriter(path.join(files.dir, "tb"), {
          after: o.start.update,
          rows: () => readMetrics(files.metrics).rows,
        })
      : undefined;
    return new TrainingSession(parts, o, writer, tb, spend);
  }

  /** Wall seconds of the whole run, earlier sessions included. */
  private wall(): number {
    return this.o.start.wallSeconds + (performance.now() - this.t0) / 1000;
  }

  /** The state before update `u`, to save if the run stops during it. */
  snapshot(u: number): UpdateStart {
    const { llm, rngs } = this.parts;
    return { update: u, rng: rngs.state(), episodes: this.episodes, envSteps: this.envSteps, llm: llm ? { ...llm.stats } : emptyStats() };
  }

  /** Stops after the last completed update: its state checkpointed, summary.json says `interrupted`. */
  async interrupt(before: UpdateStart): Promise<RunSummary> {
    await this.saveResumePoint(before);
    return this.finish("interrupted");
  }

  /**
   * Runs the episodes of update `before.update`; undefined when the run was aborted meanwhile (the
   * episodes are dropped). An agent or evaluator failure (e.g. a module agent's bad result) stops the run
   * keeping the state after the last update and saying why, so a fixed module continues it with --resume.
   */
  async collect(before: UpdateStart): Promise<RolloutBatch | undefined> {
    const { config, spec, agents, encoder, trainer, tasks, rngs, actionMask, knob, llm } = this.parts;
    const E = config.train.episodesPerUpdate;
    const u = before.update;
    try {
      return await unlessAborted(
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
        this.o.signal,
      );
    } catch (e) {
      await this.saveResumePoint(before);
      const why = e instanceof Error ? e.message : String(e);
      const msg = `${why}\n${this.o.files.dir} keeps the state after update ${u - 1}; after fixing it, continue with: maestro train --resume ${this.o.files.dir}`;
      await this.finish("failed", msg);
      throw e instanceof InputError ? new InputError(msg, e.file, e.field) : e;
    }
  }

  /**
   * A dead endpoint: stops the run before training on a batch of error turns, when more than
   * llm.maxErrorRate of the update's calls failed for llm.errorPatience updates in a row, or all of them.
   */
  async checkLlmHealth(before: UpdateStart, firstUpdate: boolean): Promise<void> {
    const { llm, config } = this.parts;
    if (!llm) return;
    const maxErrorRate = config.llm?.maxErrorRate ?? 1;
    const errorPatience = config.llm?.errorPatience ?? 1;
    const u = before.update;
    const d = llmDelta(llm.stats, before.llm);
    const calls = d.llm_calls!;
    const rate = calls > 0 ? d.llm_errors! / calls : 0;
    this.errorStreak = calls > 0 && rate > maxErrorRate ? this.errorStreak + 1 : 0;
    // an update whose every call failed holds nothing to learn from: never trained on, whatever the patience
    const allFailed = calls > 0 && rate >= 1 && maxErrorRate < 1;
    if (!allFailed && this.errorStreak < errorPatience) return;
    await this.saveResumePoint(before);
    const runDir = this.o.files.dir;
    const msg =
      `llm: ${d.llm_errors} of ${calls} LLM calls failed in update ${u}` +
      (llm.lastError ? ` (last error: ${llm.lastError})` : "") +
      (allFailed && firstUpdate
        ? "; every call of the first update failed"
        : allFailed
          ? "; every call of the update failed"
          : `; more than llm.maxErrorRate = ${maxErrorRate} for ${this.errorStreak} update(s) in a row (llm.errorPatience = ${errorPatience})`) +
      `. Stopped before training on error turns; ${runDir} keeps the state after update ${u - 1}. ` +
      `Check that the LLM server is up (${llm.endpoints().join(", ")}; a local simulated one: ${commandName()} sim-server), ` +
      `then continue with: ${commandName()} train --resume ${runDir}`;
    await this.finish("failed", msg);
    throw new LlmUnavailableError(msg);
  }

  /**
   * Trains on the batch (then one dual step of the cost knob's multipliers, from the same batch) and
   * returns update u's metrics row. A non-finite loss ends the run as failed without checkpointing the
   * broken weights: the last good checkpoint stays the latest.
   */
  async update(before: UpdateStart, batch: RolloutBatch): Promise<MetricsRow> {
    const { trainer, knob, llm } = this.parts;
    this.episodes += batch.episodes.length;
    this.envSteps += batch.envSteps;
    const stats = batchStats(batch);
    let upd;
    try {
      upd = await trainer.update(batch);
    } catch (e) {
      if (e instanceof NonFiniteLossError) await this.finish("failed", e.message);
      throw e;
    }
    const knobRow = knob ? knob.update(batch.episodes) : {};
    return {
      update: before.update,
      episodes: this.episodes,
      env_steps: this.envSteps,
      ...stats,
      ...upd,
      ...knobRow,
      ...(llm ? llmDelta(llm.stats, before.llm) : {}),
      wall_s: this.wall(),
    };
  }

  /** Appends update u to metrics.csv (and TensorBoard), structure.jsonl, the spend record and episodes.jsonl. */
  async record(batch: RolloutBatch, row: MetricsRow): Promise<void> {
    const { config } = this.parts;
    const { files } = this.o;
    const u = row.update!;
    await this.writer.write(row);
    this.tb?.write(row);
    fs.appendFileSync(
      files.structure,
      JSON.stringify(
        structureRecord(
          u,
          config.agents.map((a) => a.name),
          batch.episodes,
          headsOf(config),
        ),
      ) + "\n",
    );
    this.spend?.record(u, batch.episodes);
    if (config.log.episodeSample !== 0)
      fs.appendFileSync(files.episodes, episodeRecords(batch, u, config.log.episodeSample, this.finalMode, this.answerRank));
    if (!this.best || row.return_mean! > this.best.return_mean) this.best = { update: u, return_mean: row.return_mean! };
  }

  /** Checkpoints after update u every train.checkpointEvery updates and after the last one. */
  async checkpointIfDue(u: number): Promise<void> {
    const { train } = this.parts.config;
    if (u % train.checkpointEvery !== 0 && u !== train.updates) return;
    await this.checkpoint(u, this.parts.rngs.state(), this.episodes, this.envSteps);
  }

  /** Saves the state before an update (the trainer has not been touched since) unless a checkpoint has it. */
  private async saveResumePoint(before: UpdateStart): Promise<void> {
    if (before.update - 1 <= this.lastCheckpoint) return;
    // the knob's multipliers change only after trainer.update, so they too are still those before it
    await this.checkpoint(before.update - 1, before.rng, before.episodes, before.envSteps);
  }

  private async checkpoint(done: number, rng: UpdateStart["rng"], episodes: number, envSteps: number): Promise<void> {
    const { trainer, knob, config } = this.parts;
    const state = {
      update: done,
      episodes,
      envSteps,
      wallSeconds: this.wall(),
      rng,
      best: this.best,
      ...(knob ? { knob: knob.state() } : {}),
    };
    await saveCheckpoint(this.o.files.dir, trainer, state, config.train.keepCheckpoints);
    this.lastCheckpoint = done;
  }

  /** Writes summary.json (and structure.json), draws the plots of a run that was not interrupted, and returns the summary. */
  async finish(status: RunSummary["status"], error?: string): Promise<RunSummary> {
    const { config, backend, llm } = this.parts;
    const { files, warnings } = this.o;
    const rows = readMetrics(files.metrics).rows;
    const summary: RunSummary = {
      status,
      ...(error ? { error } : {}),
      name: config.name,
      seed: config.seed,
      backend,
      runDir: files.dir,
      updates: rows.length,
      episodes: this.episodes,
      env_steps: this.envSteps,
      wall_s: this.wall(),
      final: rows[rows.length - 1] ?? null,
      finalWindow: finalWindow(rows) ?? null,
      best: this.best,
      ...(llm ? { llm: { ...llm.stats } } : {}),
    };
    const budget = budgetStatus(config, rows);
    if (budget) summary.budget = budget;
    if (warnings.length > 0) summary.warnings = warnings;
    if (this.spend) summary.trainingSpend = this.spend.summary();
    writeFileAtomic(path.join(files.dir, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
    const structure = structureSummary(readStructure(files.structure));
    if (structure) writeFileAtomic(path.join(files.dir, "structure.json"), JSON.stringify(structure, null, 2) + "\n");
    if (status !== "interrupted" && config.log.plot && rows.length > 0 && this.o.plot) await this.o.plot(files.dir);
    return summary;
  }
}
