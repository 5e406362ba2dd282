import { fork, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { MetricsRow } from "./metrics.js";
import type { RunSummary } from "./train.js";

/**
 * A pool of child processes, each running one `maestro train` (one seed of one config) as a normal
 * run folder. Used by `maestro train --seeds N`, local sweeps and the queue worker. Children report
 * progress over the IPC channel (see {@link childHooks}); a failing child never stops the others.
 */

/** One child run: `maestro train <config> --seed <seed> --run-dir <runDir>` (or `--resume <runDir>`). */
export interface PoolJob {
  /** Unique key (e.g. `<trialId>/seed<k>`). */
  key: string;
  config: string;
  seed: number;
  runDir: string;
  /** Extra `--set` overrides. */
  sets?: string[];
  /** Where the child's stdout/stderr go (default `<runDir>.log`). */
  logFile?: string;
  /** Continue the unfinished run in `runDir` from its last checkpoint instead of starting it. */
  resume?: boolean;
}

export interface PoolResult {
  key: string;
  runDir: string;
  status: "completed" | "failed" | "stopped";
  summary?: RunSummary;
  /** Why it failed: the child's last error line, or its exit code. */
  error?: string;
  logFile: string;
}

export interface PoolOptions {
  /** Parallel children (default os.availableParallelism()). */
  workers?: number;
  onStart?(job: PoolJob, totalUpdates: number): void;
  /** After every update of a child; return true to stop that child (early stopping). */
  onUpdate?(job: PoolJob, row: MetricsRow, totalUpdates: number): boolean | void;
  onFinish?(job: PoolJob, result: PoolResult): void;
  /** Checked just before a job starts: true = do not run it (reported as "stopped"). */
  skip?(job: PoolJob): boolean;
  /** Extra environment for the children. */
  env?: NodeJS.ProcessEnv;
}

/** Messages a child sends to its parent. */
export type ChildMessage =
  | { type: "start"; runDir: string; totalUpdates: number; resumedFrom?: number }
  | { type: "update"; row: MetricsRow; totalUpdates: number };

/** The CLI entry point (dist/cli.js), found from this module in both src/ and dist/. */
export function cliPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.resolve(here, "..", "..", "dist", "cli.js");
}

export function defaultWorkers(): number {
  return Math.max(1, os.availableParallelism());
}

/** Runs the jobs, at most `workers` at a time; resolves when all have finished (in job order). */
export async function runPool(jobs: readonly PoolJob[], opts: PoolOptions = {}): Promise<PoolResult[]> {
  const workers = Math.max(1, Math.min(opts.workers ?? defaultWorkers(), jobs.length || 1));
  const cli = cliPath();
  if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: build first (npx tsc -p tsconfig.build.json)`);
  const results: PoolResult[] = new Array(jobs.length);
  let next = 0;
  const runOne = (job: PoolJob): Promise<PoolResult> =>
    new Promise((resolve) => {
      const logFile = job.logFile ?? `${job.runDir.replace(/[\\/]+$/, "")}.log`;
      fs.mkdirSync(path.dirname(logFile), { recursive: true });
      const log = fs.openSync(logFile, job.resume ? "a" : "w");
      const args = job.resume
        ? ["train", "--resume", job.runDir, "--quiet"]
        : ["train", job.config, "--seed", String(job.seed), "--run-dir", job.runDir, "--quiet", ...(job.sets ?? []).flatMap((s) => ["--set", s])];
      const child: ChildProcess = fork(cli, args, {
        stdio: ["ignore", log, log, "ipc"],
        env: { ...process.env, ...opts.env, MAESTRO_CHILD_IPC: "1" },
      });
      let stopped = false;
      let total = 0;
      child.on("message", (m: ChildMessage) => {
        if (m.type === "start") {
          total = m.totalUpdates;
          opts.onStart?.(job, total);
        } else if (m.type === "update") {
          if (opts.onUpdate?.(job, m.row, m.totalUpdates) === true && !stopped) {
            stopped = true;
            child.kill("SIGTERM");
          }
        }
      });
      const done = (code: number | null, signal: NodeJS.Signals | null, err?: Error) => {
        fs.closeSync(log);
        const summaryFile = path.join(job.runDir, "summary.json");
        let summary: RunSummary | undefined;
        if (code === 0 && fs.existsSync(summaryFile)) summary = JSON.parse(fs.readFileSync(summaryFile, "utf8")) as RunSummary;
        let result: PoolResult;
        if (stopped) result = { key: job.key, runDir: job.runDir, status: "stopped", logFile };
        else if (summary && summary.status === "completed") result = { key: job.key, runDir: job.runDir, status: "completed", summary, logFile };
        else {
          const tail = fs.existsSync(logFile) ? lastErrorLine(fs.readFileSync(logFile, "utf8")) : "";
          const why = err?.message ?? (tail || (signal ? `killed by ${signal}` : `exit code ${code}`));
          result = { key: job.key, runDir: job.runDir, status: "failed", error: why, logFile, ...(summary ? { summary } : {}) };
        }
        opts.onFinish?.(job, result);
        resolve(result);
      };
      let finished = false;
      child.on("error", (e) => {
        if (!finished) {
          finished = true;
          done(null, null, e);
        }
      });
      child.on("exit", (code, signal) => {
        if (!finished) {
          finished = true;
          done(code, signal);
        }
      });
    });
  const lanes = Array.from({ length: workers }, async () => {
    while (next < jobs.length) {
      const i = next++;
      const job = jobs[i]!;
      if (opts.skip?.(job)) {
        const r: PoolResult = { key: job.key, runDir: job.runDir, status: "stopped", logFile: job.logFile ?? `${job.runDir}.log` };
        opts.onFinish?.(job, r);
        results[i] = r;
        continue;
      }
      results[i] = await runOne(job);
    }
  });
  await Promise.all(lanes);
  return results;
}

function lastErrorLine(text: string): string {
  const lines = text.split("\n").filter((l) => l.trim().length > 0);
  const err = [...lines].reverse().find((l) => l.startsWith("error:"));
  return (err ?? lines[lines.length - 1] ?? "").slice(0, 500);
}

/**
 * Hooks the `train` command installs when it runs as a pool child (MAESTRO_CHILD_IPC=1): progress
 * goes to the parent over IPC. Also the test-only fault injection: when MAESTRO_INJECT_FAILURE holds
 * a comma-separated list of substrings and the run folder's path contains one of them, the run
 * throws after its first update (used by the tests of "one failing trial does not stop the others").
 */
export function childHooks(): { start(info: { runDir: string; totalUpdates: number; resumedFrom?: number }): void; update(row: MetricsRow, total: number, runDir: string): void } | undefined {
  const ipc = process.env.MAESTRO_CHILD_IPC === "1" && typeof process.send === "function";
  const inject = (process.env.MAESTRO_INJECT_FAILURE ?? "").split(",").filter((s) => s.length > 0);
  if (!ipc && inject.length === 0) return undefined;
  const send = (m: ChildMessage) => {
    if (ipc) process.send!(m);
  };
  return {
    start: (info) => send({ type: "start", ...info }),
    update: (row, total, runDir) => {
      if (inject.some((s) => path.resolve(runDir).includes(s))) throw new Error(`injected failure (MAESTRO_INJECT_FAILURE) in ${runDir}`);
      send({ type: "update", row, totalUpdates: total });
    },
  };
}
