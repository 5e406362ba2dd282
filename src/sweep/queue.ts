import fs from "node:fs";
import { commandName } from "../core/invocation.js";
import os from "node:os";
import path from "node:path";
import { DelayedError, Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job } from "bullmq";
import { InputError, withOsContext } from "../core/errors.js";
import { writeFileAtomic } from "../policy/io.js";
import type { RunSummary } from "../run/train.js";
import { runPool, type PoolJob } from "./pool.js";
import { loadSweep } from "./spec.js";
import { finishSweep, lockSweepFolder, pendingRuns, prepareSweep, reportHeld, resumable, type HeldRun } from "./local.js";
import { folderHolder, type FolderLock } from "../run/lock.js";
import { maestroVersion } from "../run/manifest.js";
import { readJson, seedDir, trialDir, writeJson, type TrialOutcome, type TrialState } from "./summary.js";

/**
 * Distributed sweeps on BullMQ (Redis): `maestro sweep <file> --queue redis://host:port` enqueues one
 * job per trial (jobId = <sweep>-<trialId>, so a trial is enqueued at most once and a re-run waits
 * for the existing job or reuses its result); `maestro worker --queue ...` on any machine runs trials
 * (all their seeds, as child processes) into its own runs folder and returns summary + metrics with
 * the job. Failed trials are retried with exponential backoff.
 */

export const DEFAULT_QUEUE = "maestro-sweeps";

/** What a job carries: everything a worker needs, so workers need no copy of the sweep's files. */
export interface TrialJobData {
  sweep: string;
  trial: string;
  params: Record<string, unknown>;
  /** The trial's resolved config (agents inline). */
  configYaml: string;
  seeds: number[];
  /** The maestro version that made the sweep: workers of another version refuse the trial. */
  maestroVersion?: string;
}

export interface SeedResult {
  seed: number;
  status: "completed" | "failed";
  summary?: RunSummary;
  /** metrics.csv and structure.jsonl as text. */
  metricsCsv?: string;
  structureJsonl?: string;
  error?: string;
}

export interface TrialJobResult {
  trial: string;
  worker: string;
  /** Where the worker wrote the trial's run folders (on the worker's disk or shared storage). */
  trialDir: string;
  seeds: SeedResult[];
}

/** redis://[:password@]host:port[/db] → ioredis connection options. */
export function redisConnection(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InputError(`--queue ${url}: expected redis://host:port`);
  }
  if (u.protocol !== "redis:") throw new InputError(`--queue ${url}: expected redis://host:port`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  return {
    host: u.hostname || "127.0.0.1",
    port: u.port ? Number(u.port) : 6379,
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(db !== undefined && Number.isInteger(db) ? { db } : {}),
  };
}

async function withTimeout<T>(p: Promise<T>, ms: number, err: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(err()), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

const jobIdOf = (sweep: string, trial: string) => `${sweep}-${trial}`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface QueueSweepOptions {
  url: string;
  queueName?: string;
  runsDir?: string;
  quiet?: boolean;
  /** Give up when Redis cannot be reached at the start within this time (default 10 s). */
  connectTimeoutMs?: number;
  /** Attempts per trial (default: the sweep file's queue.attempts) and the first backoff delay in ms (doubling). */
  attempts?: number;
  backoffMs?: number;
  /** How long Redis may stay unreachable mid-sweep before the sweep gives up (default: queue.redisTimeoutS). */
  redisTimeoutMs?: number;
  /** How often the sweep checks its trials (default 500 ms). */
  pollMs?: number;
  /** Where progress lines go (default stderr; nothing when quiet). */
  log?: (line: string) => void;
}

/** Stores a returned result in the local sweep folder (unless the folder already holds the run: shared storage). */
function storeResult(sweepDir: string, r: TrialJobResult): void {
  for (const s of r.seeds) {
    const dir = seedDir(sweepDir, r.trial, s.seed);
    if (fs.existsSync(path.join(dir, "summary.json")) && readJson<RunSummary>(path.join(dir, "summary.json"))?.status === "completed")
      continue;
    fs.mkdirSync(dir, { recursive: true });
    if (s.metricsCsv !== undefined) writeFileAtomic(path.join(dir, "metrics.csv"), s.metricsCsv);
    if (s.structureJsonl !== undefined) writeFileAtomic(path.join(dir, "structure.jsonl"), s.structureJsonl);
    fs.copyFileSync(path.join(trialDir(sweepDir, r.trial), "config.yaml"), path.join(dir, "config.yaml"));
    if (s.summary) writeJson(path.join(dir, "summary.json"), s.summary);
    writeJson(path.join(dir, "remote.json"), { worker: r.worker, runDir: path.join(r.trialDir, `seed${s.seed}`) });
  }
}

/** What a finished or failed job went through, told honestly: failures and stalls (a worker that died) both count. */
export function attemptsStory(job: Pick<Job, "attemptsMade" | "stalledCounter" | "opts">): string {
  const stalls = job.stalledCounter ?? 0;
  const failures = job.attemptsMade;
  const parts = [
    failures > 0 ? `${failures} attempt${failures > 1 ? "s" : ""} failed` : "",
    stalls > 0 ? `${stalls} attempt${stalls > 1 ? "s" : ""} ended with the worker dying or losing Redis (stalled)` : "",
  ].filter(Boolean);
  return `${parts.join(", ") || "no attempt finished"}; limit ${job.opts.attempts ?? 1} attempts (queue.attempts)`;
}

/**
 * Enqueues the sweep's unfinished trials and waits for all of them; results are stored under the
 * local sweep folder, then sweep.csv/sweep.md/plots are written as for a local sweep. The wait polls
 * Redis: a Redis that goes away is reported once and retried for `redisTimeoutMs` before the sweep
 * gives up (re-running the command resumes it); a job that vanished (Redis restarted empty) is
 * enqueued again — its worker keeps the seed runs it already finished.
 */
export async function runSweepQueue(file: string, o: QueueSweepOptions) {
  const sweep = loadSweep(file);
  const log = o.log ?? ((l: string) => (o.quiet ? undefined : console.error(l)));
  if (sweep.spec.earlyStop) log("note: earlyStop applies to local sweeps only; queued trials run to the end");
  const q = sweep.spec.queue;
  const attempts = o.attempts ?? q.attempts;
  const backoffMs = o.backoffMs ?? q.backoffMs;
  const redisTimeoutMs = o.redisTimeoutMs ?? q.redisTimeoutS * 1000;
  const connection = redisConnection(o.url);
  const name = o.queueName ?? DEFAULT_QUEUE;
  const queue = new Queue<TrialJobData, TrialJobResult>(name, { connection });
  // connection errors surface through the timeouts below; without a listener they would be thrown
  queue.on("error", () => {});
  let sweepDir = "";
  let pending: ReturnType<typeof pendingRuns>["pending"] = [];
  let skipped = 0;
  let lock: FolderLock | undefined;
  const resumeHint = `${commandName()} sweep ${sweep.file} --queue ${o.url}${o.runsDir ? ` --runs-dir ${o.runsDir}` : ""}`;
  try {
    // reach Redis before writing anything
    await withTimeout(
      queue.waitUntilReady(),
      o.connectTimeoutMs ?? 10_000,
      () => new InputError(`--queue ${o.url}: cannot reach Redis (is redis-server running there?)`),
    );
    lock = await lockSweepFolder(sweep, o.runsDir);
    sweepDir = withOsContext("write the sweep folder", path.join(o.runsDir ?? "runs", sweep.name), "--runs-dir", () =>
      prepareSweep(sweep, o.runsDir),
    );
    let held: HeldRun[];
    ({ pending, skipped, held } = pendingRuns(sweep, sweepDir));
    reportHeld(held, o.quiet);
    const unfinished = [...new Set(pending.map((p) => p.trial))];
    const dataOf = (id: string): TrialJobData => ({
      sweep: sweep.name,
      trial: id,
      params: sweep.trials.find((x) => x.id === id)!.params,
      configYaml: fs.readFileSync(path.join(trialDir(sweepDir, id), "config.yaml"), "utf8"),
      seeds: sweep.seeds,
      maestroVersion: maestroVersion(),
    });
    const enqueue = (id: string) =>
      queue.add(id, dataOf(id), {
        jobId: jobIdOf(sweep.name, id),
        attempts,
        backoff: { type: "exponential", delay: backoffMs },
        removeOnComplete: false,
        removeOnFail: false,
      });
    for (const id of unfinished) {
      const existing = await queue.getJob(jobIdOf(sweep.name, id));
      const state = existing ? await existing.getState() : undefined;
      // a failed job is retried by a re-run; one of another maestro version is replaced
      if (existing && (state === "failed" || existing.data.maestroVersion !== maestroVersion())) await existing.remove();
      else if (existing) continue;
      await enqueue(id);
    }
    log(`sweep ${sweep.name}: ${unfinished.length} trials on queue ${name} at ${o.url} (${skipped} seed runs already done)`);

    const waiting = new Set(unfinished);
    const refusals = new Set<string>();
    let finished = 0;
    let downSince: number | undefined;
    const check = async () => {
      for (const id of [...waiting]) {
        const job = await queue.getJob(jobIdOf(sweep.name, id));
        if (!job) {
          // Redis lost the job (restarted without its data): enqueue it again
          log(
            `sweep ${sweep.name}: trial ${id} is no longer in Redis (restarted empty?); enqueued again (seed runs a worker finished are kept)`,
          );
          await enqueue(id);
          continue;
        }
        const state = await job.getState();
        const progress = job.progress as { refused?: string } | number;
        if (typeof progress === "object" && progress?.refused && !refusals.has(progress.refused)) {
          refusals.add(progress.refused);
          log(`sweep ${sweep.name}: ${progress.refused}`);
        }
        if (state === "completed") {
          // a job that completed between getJob and getState was fetched without its result: read it again,
          // else at the next check
          const r = (job.returnvalue ?? (await queue.getJob(jobIdOf(sweep.name, id)))?.returnvalue) as TrialJobResult | null | undefined;
          if (!r) continue;
          storeResult(sweepDir, r);
          writeJson(path.join(trialDir(sweepDir, id), "trial.json"), {
            id,
            params: job.data.params,
            status: "completed",
          } satisfies TrialState);
          waiting.delete(id);
          log(`sweep ${sweep.name}: ${id} completed on ${r.worker} (${++finished}/${unfinished.length})`);
        } else if (state === "failed") {
          // the worker's own give-up message already tells the attempts; other failures get the story here
          const msg = job.failedReason.includes("(queue.attempts)") ? job.failedReason : `${job.failedReason} (${attemptsStory(job)})`;
          const errors = Object.fromEntries(job.data.seeds.map((s) => [String(s), msg]));
          writeJson(path.join(trialDir(sweepDir, id), "trial.json"), {
            id,
            params: job.data.params,
            status: "failed",
            errors,
          } satisfies TrialState);
          waiting.delete(id);
          log(`sweep ${sweep.name}: ${id} failed: ${msg} (${++finished}/${unfinished.length})`);
        }
      }
    };
    while (waiting.size > 0) {
      try {
        await withTimeout(check(), Math.max(2000, Math.min(10_000, redisTimeoutMs)), () => new Error("no answer from Redis"));
        if (downSince !== undefined) log(`sweep ${sweep.name}: Redis at ${o.url} is reachable again`);
        downSince = undefined;
      } catch (e) {
        if (e instanceof InputError || !isRedisFault(e)) throw e;
        const now = Date.now();
        if (downSince === undefined) {
          downSince = now;
          log(
            `sweep ${sweep.name}: Redis at ${o.url} is unreachable (${(e as Error).message}); waiting for it for up to ${Math.round(redisTimeoutMs / 1000)} s ` +
              `(queue.redisTimeoutS); workers keep running their trials`,
          );
        } else if (now - downSince >= redisTimeoutMs) {
          throw new Error(
            `--queue ${o.url}: Redis has been unreachable for ${Math.round((now - downSince) / 1000)} s (queue.redisTimeoutS = ${Math.round(redisTimeoutMs / 1000)}); gave up waiting for ${waiting.size} trial(s). ` +
              `Finished trials are stored in ${sweepDir}; once Redis is back, resume with: ${resumeHint}`,
          );
        }
      }
      if (waiting.size > 0) await sleep(o.pollMs ?? 500);
    }
  } finally {
    // close() of a connection that never came back does not settle: bound the wait
    let closed = false;
    await Promise.race([queue.close().then(() => void (closed = true)), sleep(2000)]);
    if (!closed) void queue.disconnect().catch(() => {});
    await lock?.release();
  }
  const fin = await finishSweep(sweepDir, sweep);
  return {
    sweepDir,
    trials: fin.trials as TrialOutcome[],
    skipped,
    ran: pending.length,
    csv: fin.csv,
    md: fin.md,
    ...(fin.plot ? { plot: fin.plot } : {}),
  };
}

/** Errors that mean "Redis is not answering" (as opposed to a bug or bad input). */
function isRedisFault(e: unknown): boolean {
  const m = e instanceof Error ? e.message : String(e);
  return /no answer from Redis|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|Connection is closed|max retries|Stream isn't writeable|LOADING|MISCONF|closed/i.test(
    m,
  );
}

export interface WorkerOptions {
  url: string;
  queueName?: string;
  /** Where this worker writes run folders: <runsDir>/<sweep>/<trialId>/seed<k>/ (default runs/). */
  runsDir?: string;
  /** Child processes per trial for its seeds (default: number of cores). */
  workers?: number;
  /** Trials run at the same time by this worker (default 1). */
  concurrency?: number;
  /**
   * How long a trial's lock lives without renewal (ms, default 30 s): a worker that died (kill -9,
   * machine lost) is noticed this long after, and its trial counts one stalled attempt.
   */
  stallTimeoutMs?: number;
  log?: (line: string) => void;
}

/** A seed folder another process still holds (e.g. the run of a worker killed a moment ago): wait for it, bounded. */
async function waitForRelease(runDir: string, ms: number): Promise<void> {
  const t0 = Date.now();
  for (let h = folderHolder(runDir); h; h = folderHolder(runDir)) {
    if (Date.now() - t0 > ms)
      throw new Error(`${runDir}: still in use by process ${h.pid ?? "(unknown)"} after ${Math.round(ms / 1000)} s`);
    await sleep(250);
  }
}

/**
 * Runs one trial job: all its seeds as child processes (completed seeds of an earlier attempt are
 * kept), then returns summary + metrics of every seed. Throws when a seed failed, so BullMQ retries.
 * Test-only fault injection: MAESTRO_INJECT_FAIL_ONCE=<trialId,...> makes the first attempt of those
 * trials fail before running anything.
 */
export async function processTrial(job: Job<TrialJobData, TrialJobResult>, o: WorkerOptions): Promise<TrialJobResult> {
  const d = job.data;
  const failOnce = (process.env.MAESTRO_INJECT_FAIL_ONCE ?? "").split(",").filter(Boolean);
  if (failOnce.includes(d.trial) && job.attemptsMade === 0)
    throw new Error(`injected failure of ${d.trial} on its first attempt (MAESTRO_INJECT_FAIL_ONCE)`);
  const dir = path.resolve(o.runsDir ?? "runs", d.sweep, d.trial);
  withOsContext("create the trial folder", dir, "worker --runs-dir", () => fs.mkdirSync(dir, { recursive: true }));
  const configFile = path.join(dir, "config.yaml");
  if (fs.existsSync(configFile) && fs.readFileSync(configFile, "utf8") !== d.configYaml) {
    // a different sweep under the same name ran here before: its runs do not belong to this trial
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
  }
  if (!fs.existsSync(configFile)) writeFileAtomic(configFile, d.configYaml);
  const jobs: PoolJob[] = [];
  for (const s of d.seeds) {
    const runDir = path.join(dir, `seed${s}`);
    await waitForRelease(runDir, 30_000);
    const summary = readJson<RunSummary>(path.join(runDir, "summary.json"));
    if (summary?.status === "completed") continue;
    const unfinished = resumable(runDir, summary);
    if (!unfinished && fs.existsSync(runDir)) fs.rmSync(runDir, { recursive: true, force: true });
    jobs.push({ key: `seed${s}`, config: configFile, seed: s, runDir, resume: unfinished, runDirSource: "worker --runs-dir" });
  }
  let done = 0;
  const results = await runPool(jobs, {
    ...(o.workers !== undefined ? { workers: o.workers } : {}),
    // progress is informative only: a job that vanished from Redis must not crash the worker
    onFinish: () => void job.updateProgress(Math.round((100 * ++done) / Math.max(1, jobs.length))).catch(() => {}),
  });
  const failed = results.filter((r) => r.status !== "completed");
  if (failed.length)
    throw new Error(failed.map((r) => `${d.trial} ${r.key}: ${r.error ?? r.status} (log on ${os.hostname()}: ${r.logFile})`).join("; "));
  const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : undefined);
  const seeds: SeedResult[] = d.seeds.map((s) => {
    const runDir = path.join(dir, `seed${s}`);
    const summary = readJson<RunSummary>(path.join(runDir, "summary.json"))!;
    const metricsCsv = read(path.join(runDir, "metrics.csv"));
    const structureJsonl = read(path.join(runDir, "structure.jsonl"));
    return {
      seed: s,
      status: "completed",
      summary,
      ...(metricsCsv !== undefined ? { metricsCsv } : {}),
      ...(structureJsonl !== undefined ? { structureJsonl } : {}),
    };
  });
  return { trial: d.trial, worker: `${os.hostname()}:${process.pid}`, trialDir: dir, seeds };
}

/**
 * Starts a worker. Each trial is checked first: one from a sweep made with another maestro version is
 * refused (put back for a worker of that version, not failed); one whose honest attempt count —
 * failures plus stalls, i.e. workers that died running it — reached its limit fails for good with a
 * message saying so. BullMQ's own stall limit is set out of the way so that this count is the one
 * that decides.
 */
export function startWorker(o: WorkerOptions): Worker<TrialJobData, TrialJobResult> {
  const connection = redisConnection(o.url);
  const log = o.log ?? ((l: string) => console.error(l));
  const me = `${os.hostname()}:${process.pid}`;
  const version = maestroVersion();
  const refused = new Set<string>();
  const stallMs = o.stallTimeoutMs ?? 30_000;
  const worker = new Worker<TrialJobData, TrialJobResult>(
    o.queueName ?? DEFAULT_QUEUE,
    async (job, token) => {
      const d = job.data;
      if (d.maestroVersion !== version) {
        const msg =
          `worker ${me} (maestro ${version}) refuses ${d.sweep}/${d.trial}: the sweep was made with maestro ${d.maestroVersion ?? "(unknown: older than 0.1.0)"}; ` +
          `run a worker of that version, or re-run the sweep with this one`;
        if (!refused.has(job.id!)) log(msg);
        refused.add(job.id!);
        await job.updateProgress({ refused: msg }).catch(() => {});
        // back to the queue for another worker, without using an attempt
        await job.moveToDelayed(Date.now() + 5000, token);
        throw new DelayedError();
      }
      const limit = job.opts.attempts ?? 1;
      const attempt = job.attemptsMade + (job.stalledCounter ?? 0) + 1;
      if (attempt > limit) {
        throw new UnrecoverableError(`${d.sweep}/${d.trial}: gave up (${attemptsStory(job)})`);
      }
      const earlier = attempt > 1 ? `; before: ${attemptsStory(job).replace(/; limit.*/, "")}` : "";
      log(`worker: ${d.sweep}/${d.trial} started (attempt ${attempt} of ${limit}${earlier})`);
      return processTrial(job, o);
    },
    {
      connection,
      concurrency: o.concurrency ?? 1,
      lockDuration: stallMs,
      stalledInterval: stallMs,
      // stalls are counted (honestly, with failures) by the check above, not by BullMQ's own limit
      maxStalledCount: 1_000_000,
    },
  );
  worker.on("completed", (job) => log(`worker: ${job.data.sweep}/${job.data.trial} completed`));
  worker.on("failed", (job, err) => {
    if (err instanceof DelayedError || err.name === "DelayedError") return;
    log(`worker: ${job?.data.sweep}/${job?.data.trial} failed: ${err.message}`);
  });
  let lastError = "";
  worker.on("error", (err) => {
    // Redis unreachable: ioredis keeps reconnecting; say so once, not on every retry
    if (err.message !== lastError)
      log(`worker: ${err.message}${/ECONNREFUSED|ENOTFOUND|ETIMEDOUT/.test(err.message) ? " (retrying until Redis is reachable)" : ""}`);
    lastError = err.message;
  });
  return worker;
}

/**
 * Stops a worker within `graceMs` whatever Redis does: close() waits for the
 * running trial and for Redis, which may never answer; past the grace period the worker is
 * abandoned (its trial's seed runs keep their checkpoints; the job stalls and is retried elsewhere).
 * Resolves true when it closed cleanly.
 */
export async function stopWorker(w: Worker, graceMs: number): Promise<boolean> {
  let closed = false;
  await Promise.race([
    w.close().then(
      () => void (closed = true),
      () => undefined,
    ),
    sleep(graceMs),
  ]);
  if (!closed) void w.disconnect().catch(() => {});
  return closed;
}
