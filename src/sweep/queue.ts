import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Queue, QueueEvents, Worker, type ConnectionOptions, type Job } from "bullmq";
import { InputError } from "../core/errors.js";
import { writeFileAtomic } from "../policy/io.js";
import type { RunSummary } from "../run/train.js";
import { runPool, type PoolJob } from "./pool.js";
import { loadSweep } from "./spec.js";
import { finishSweep, pendingRuns, prepareSweep } from "./local.js";
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

export interface QueueSweepOptions {
  url: string;
  queueName?: string;
  runsDir?: string;
  quiet?: boolean;
  /** Give up when Redis cannot be reached within this time (default 10 s). */
  connectTimeoutMs?: number;
  /** Attempts per trial (default 3) and the first backoff delay in ms (default 2000, doubling). */
  attempts?: number;
  backoffMs?: number;
}

/** Stores a returned result in the local sweep folder (unless the folder already holds the run: shared storage). */
function storeResult(sweepDir: string, r: TrialJobResult): void {
  for (const s of r.seeds) {
    const dir = seedDir(sweepDir, r.trial, s.seed);
    if (fs.existsSync(path.join(dir, "summary.json")) && readJson<RunSummary>(path.join(dir, "summary.json"))?.status === "completed") continue;
    fs.mkdirSync(dir, { recursive: true });
    if (s.metricsCsv !== undefined) writeFileAtomic(path.join(dir, "metrics.csv"), s.metricsCsv);
    if (s.structureJsonl !== undefined) writeFileAtomic(path.join(dir, "structure.jsonl"), s.structureJsonl);
    fs.copyFileSync(path.join(trialDir(sweepDir, r.trial), "config.yaml"), path.join(dir, "config.yaml"));
    if (s.summary) writeJson(path.join(dir, "summary.json"), s.summary);
    writeJson(path.join(dir, "remote.json"), { worker: r.worker, runDir: path.join(r.trialDir, `seed${s.seed}`) });
  }
}

/**
 * Enqueues the sweep's unfinished trials and waits for all of them; results are stored under the
 * local sweep folder, then sweep.csv/sweep.md/plots are written as for a local sweep.
 */
export async function runSweepQueue(file: string, o: QueueSweepOptions) {
  const sweep = loadSweep(file);
  if (sweep.spec.earlyStop && !o.quiet) console.error("note: earlyStop applies to local sweeps only; queued trials run to the end");
  const connection = redisConnection(o.url);
  const name = o.queueName ?? DEFAULT_QUEUE;
  const queue = new Queue<TrialJobData, TrialJobResult>(name, { connection });
  const events = new QueueEvents(name, { connection });
  // connection errors surface through the timeout below; without listeners they would be thrown
  queue.on("error", () => {});
  events.on("error", () => {});
  let sweepDir = "";
  let pending: ReturnType<typeof pendingRuns>["pending"] = [];
  let skipped = 0;
  try {
    // reach Redis before writing anything
    await withTimeout(Promise.all([queue.waitUntilReady(), events.waitUntilReady()]), o.connectTimeoutMs ?? 10_000, () =>
      new InputError(`--queue ${o.url}: cannot reach Redis (is redis-server running there?)`),
    );
    sweepDir = prepareSweep(sweep, o.runsDir);
    ({ pending, skipped } = pendingRuns(sweep, sweepDir));
    const unfinished = [...new Set(pending.map((p) => p.trial))];
    const jobs: Job<TrialJobData, TrialJobResult>[] = [];
    for (const id of unfinished) {
      const t = sweep.trials.find((x) => x.id === id)!;
      const jobId = jobIdOf(sweep.name, id);
      const existing = await queue.getJob(jobId);
      if (existing && (await existing.getState()) === "failed") await existing.remove();
      else if (existing) {
        jobs.push(existing);
        continue;
      }
      const data: TrialJobData = {
        sweep: sweep.name,
        trial: id,
        params: t.params,
        configYaml: fs.readFileSync(path.join(trialDir(sweepDir, id), "config.yaml"), "utf8"),
        seeds: sweep.seeds,
      };
      jobs.push(
        await queue.add(id, data, {
          jobId,
          attempts: o.attempts ?? 3,
          backoff: { type: "exponential", delay: o.backoffMs ?? 2000 },
          removeOnComplete: false,
          removeOnFail: false,
        }),
      );
    }
    if (!o.quiet) console.error(`sweep ${sweep.name}: ${jobs.length} trials on queue ${name} at ${o.url} (${skipped} seed runs already done)`);
    let finished = 0;
    const outcomes = await Promise.allSettled(
      jobs.map(async (job) => {
        try {
          const r = await job.waitUntilFinished(events);
          storeResult(sweepDir, r);
          writeJson(path.join(trialDir(sweepDir, r.trial), "trial.json"), { id: r.trial, params: job.data.params, status: "completed" } satisfies TrialState);
          if (!o.quiet) console.error(`sweep ${sweep.name}: ${r.trial} completed on ${r.worker} (${++finished}/${jobs.length})`);
        } catch (e) {
          const msg = (e as Error).message;
          const errors = Object.fromEntries(job.data.seeds.map((s) => [String(s), `${msg} (after ${job.opts.attempts} attempts on the queue)`]));
          writeJson(path.join(trialDir(sweepDir, job.data.trial), "trial.json"), { id: job.data.trial, params: job.data.params, status: "failed", errors } satisfies TrialState);
          if (!o.quiet) console.error(`sweep ${sweep.name}: ${job.data.trial} failed: ${msg} (${++finished}/${jobs.length})`);
          throw e;
        }
      }),
    );
    void outcomes;
  } finally {
    // close() of a QueueEvents that never connected does not settle: bound the wait
    const grace = () => new Promise<void>((r) => setTimeout(r, 2000).unref());
    await Promise.all([Promise.race([events.close(), grace()]), Promise.race([queue.close(), grace()])]);
  }
  const fin = await finishSweep(sweepDir);
  return { sweepDir, trials: fin.trials as TrialOutcome[], skipped, ran: pending.length, csv: fin.csv, md: fin.md, ...(fin.plot ? { plot: fin.plot } : {}) };
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
  log?: (line: string) => void;
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
  if (failOnce.includes(d.trial) && job.attemptsMade === 0) throw new Error(`injected failure of ${d.trial} on its first attempt (MAESTRO_INJECT_FAIL_ONCE)`);
  const dir = path.resolve(o.runsDir ?? "runs", d.sweep, d.trial);
  fs.mkdirSync(dir, { recursive: true });
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
    const summary = readJson<RunSummary>(path.join(runDir, "summary.json"));
    if (summary?.status === "completed") continue;
    const unfinished = !summary && fs.existsSync(path.join(runDir, "config.yaml"));
    if (!unfinished && fs.existsSync(runDir)) fs.rmSync(runDir, { recursive: true, force: true });
    jobs.push({ key: `seed${s}`, config: configFile, seed: s, runDir, resume: unfinished });
  }
  let done = 0;
  const results = await runPool(jobs, {
    ...(o.workers !== undefined ? { workers: o.workers } : {}),
    onFinish: () => void job.updateProgress(Math.round((100 * ++done) / Math.max(1, jobs.length))),
  });
  const failed = results.filter((r) => r.status !== "completed");
  if (failed.length) throw new Error(failed.map((r) => `${d.trial} ${r.key}: ${r.error ?? r.status} (log on ${os.hostname()}: ${r.logFile})`).join("; "));
  const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : undefined);
  const seeds: SeedResult[] = d.seeds.map((s) => {
    const runDir = path.join(dir, `seed${s}`);
    const summary = readJson<RunSummary>(path.join(runDir, "summary.json"))!;
    const metricsCsv = read(path.join(runDir, "metrics.csv"));
    const structureJsonl = read(path.join(runDir, "structure.jsonl"));
    return { seed: s, status: "completed", summary, ...(metricsCsv !== undefined ? { metricsCsv } : {}), ...(structureJsonl !== undefined ? { structureJsonl } : {}) };
  });
  return { trial: d.trial, worker: `${os.hostname()}:${process.pid}`, trialDir: dir, seeds };
}

/** Starts a worker; resolves to a handle whose close() waits for the running trial to finish. */
export function startWorker(o: WorkerOptions): Worker<TrialJobData, TrialJobResult> {
  const connection = redisConnection(o.url);
  const log = o.log ?? ((l: string) => console.error(l));
  const worker = new Worker<TrialJobData, TrialJobResult>(o.queueName ?? DEFAULT_QUEUE, (job) => processTrial(job, o), {
    connection,
    concurrency: o.concurrency ?? 1,
  });
  worker.on("active", (job) => log(`worker: ${job.data.sweep}/${job.data.trial} started (attempt ${job.attemptsMade + 1})`));
  worker.on("completed", (job) => log(`worker: ${job.data.sweep}/${job.data.trial} completed`));
  worker.on("failed", (job, err) => log(`worker: ${job?.data.sweep}/${job?.data.trial} failed: ${err.message}`));
  let lastError = "";
  worker.on("error", (err) => {
    // Redis unreachable: ioredis keeps reconnecting; say so once, not on every retry
    if (err.message !== lastError) log(`worker: ${err.message}${/ECONNREFUSED|ENOTFOUND|ETIMEDOUT/.test(err.message) ? " (retrying until Redis is reachable)" : ""}`);
    lastError = err.message;
  });
  return worker;
}
