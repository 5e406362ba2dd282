import fs from "node:fs";
import path from "node:path";
import { Queue } from "bullmq";
import { afterAll, describe, expect, it } from "vitest";
import { redisConnection, runSweepQueue } from "../../src/sweep/queue.js";
import { loadSweep } from "../../src/sweep/spec.js";
import { removeTmpDirs, tmpDir, writeSweep } from "../helpers.js";
import { killAndWait, startCli, waitUntil, type Proc } from "../kill-helpers.js";
import { noRedisReason, redisServerBin, startRedis, type RedisInstance } from "../redis-helpers.js";

// Distributed sweeps survive Redis and worker
// faults. Every test starts its own redis-server on a loopback port and bounds its own time.

const procs: Proc[] = [];
const redises: RedisInstance[] = [];
afterAll(async () => {
  for (const p of procs) p.child.kill("SIGKILL");
  for (const r of redises) await r.stop("SIGKILL");
  removeTmpDirs();
});

async function redis(dir: string, port?: number): Promise<RedisInstance> {
  const r = await startRedis(dir, port);
  redises.push(r);
  return r;
}

function worker(url: string, runsDir: string, extra: string[] = []): Proc {
  const p = startCli(["worker", "--queue", url, "--runs-dir", runsDir, "--workers", "1", "--stall-timeout", "1", "--grace", "2", ...extra]);
  procs.push(p);
  return p;
}

function sweepFile(dir: string, name: string, updates: number, queue = "{}"): string {
  return writeSweep(
    dir,
    `name: ${name}\nbase: BASE\nseeds: 1\nfixed: { train.updates: ${updates}, train.checkpointEvery: 50, log.plot: false }\n` +
      `parameters:\n  reward.costPenalty: { values: [0.1] }\nqueue: ${queue}\n`,
    `${name}.yaml`,
  );
}

describe.skipIf(!redisServerBin)(`queued sweeps under faults${noRedisReason ? ` (${noRedisReason})` : ""}`, () => {
  it(
    "Redis killed mid-sweep and not restarted: said once, then a bounded give-up with the command to resume (item 7)",
    { timeout: 60_000 },
    async () => {
      const dir = tmpDir("qgone");
      const r = await redis(dir);
      const f = sweepFile(dir, "gone", 100_000, "{ redisTimeoutS: 3 }");
      const lines: string[] = [];
      const sweep = runSweepQueue(f, { url: r.url, runsDir: path.join(dir, "runs"), log: (l) => lines.push(l), pollMs: 100 });
      await waitUntil(() => lines.some((l) => l.includes("trials on queue")), 20_000, "the trials to be enqueued");
      await r.stop("SIGKILL");
      const err = (await sweep.catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(Error);
      expect(err.message).toMatch(/Redis has been unreachable for \d+ s \(queue\.redisTimeoutS = 3\)/);
      expect(err.message).toContain(`resume with: npx maestro sweep ${f} --queue ${r.url}`);
      expect(lines.filter((l) => l.includes("is unreachable"))).toHaveLength(1);
    },
  );

  it(
    "Redis restarted empty: the worker survives the lost job, the sweep re-enqueues it and completes (item 8)",
    { timeout: 120_000 },
    async () => {
      const dir = tmpDir("qempty");
      const r = await redis(path.join(dir));
      const wdir = path.join(dir, "worker");
      const w = worker(r.url, wdir);
      const f = sweepFile(dir, "empty", 600);
      const lines: string[] = [];
      const sweep = runSweepQueue(f, { url: r.url, runsDir: path.join(dir, "runs"), log: (l) => lines.push(l), pollMs: 200 });
      await waitUntil(() => w.output().includes("started (attempt 1 of 3)"), 60_000, "the worker to start the trial");
      // Redis goes down and comes back on the same port without the sweep's data
      await r.stop("SIGKILL");
      const dir2 = path.join(dir, "redis2");
      fs.mkdirSync(dir2);
      await redis(dir2, r.port);
      const res = await sweep;
      expect(res.trials.map((t) => t.status)).toEqual(["completed"]);
      expect(lines.some((l) => l.includes("is no longer in Redis (restarted empty?); enqueued again"))).toBe(true);
      // the worker is still running (no crash on "Missing key for job")
      expect(w.child.exitCode).toBe(null);
      expect(w.output()).not.toContain("Unhandled");
      expect(await killAndWait(w, "SIGTERM", 20_000)).toBe(0);
    },
  );

  for (const [limit, outcome] of [
    [3, "completed"],
    [2, "failed"],
  ] as const) {
    it(
      `a trial whose worker is killed twice with queue.attempts ${limit}: stalls count as attempts, honestly told (item 9)`,
      { timeout: 150_000 },
      async () => {
        const dir = tmpDir(`qstall${limit}`);
        const r = await redis(dir);
        const wdir = path.join(dir, "worker");
        const f = sweepFile(dir, `stall${limit}`, 600, `{ attempts: ${limit}, backoffMs: 100 }`);
        const trial = loadSweep(f).trials[0]!.id;
        const lines: string[] = [];
        const sweep = runSweepQueue(f, { url: r.url, runsDir: path.join(dir, "runs"), log: (l) => lines.push(l), pollMs: 200 });
        for (const k of [1, 2]) {
          const w = worker(r.url, wdir);
          await waitUntil(() => w.output().includes(`${trial} started (attempt ${k} of ${limit}`), 60_000, `attempt ${k}`);
          await waitUntil(
            () => fs.existsSync(path.join(wdir, `stall${limit}`, trial, "seed0", "metrics.csv")),
            30_000,
            "the seed run to start",
          );
          expect(await killAndWait(w, "SIGKILL")).toBe(137);
        }
        const last = worker(r.url, wdir);
        const res = await sweep;
        expect(res.trials.map((t) => t.status)).toEqual([outcome]);
        if (outcome === "completed") {
          expect(last.output()).toContain(
            `${trial} started (attempt 3 of 3; before: 2 attempts ended with the worker dying or losing Redis (stalled))`,
          );
        } else {
          const state = JSON.parse(fs.readFileSync(path.join(res.sweepDir, trial, "trial.json"), "utf8")) as {
            errors: Record<string, string>;
          };
          expect(state.errors["0"]).toContain(
            "gave up (2 attempts ended with the worker dying or losing Redis (stalled); limit 2 attempts (queue.attempts))",
          );
          expect(state.errors["0"]).not.toContain("stalled more than allowable limit");
        }
        await killAndWait(last, "SIGTERM", 20_000);
      },
    );
  }

  it(
    "maestro worker stops on SIGTERM within its grace period when Redis is gone, or was never there (item 10)",
    { timeout: 90_000 },
    async () => {
      const dir = tmpDir("qstop");
      const r = await redis(dir);
      const w = worker(r.url, path.join(dir, "w"));
      await waitUntil(() => w.output().includes("waiting for trials"), 30_000, "the worker to connect");
      await r.stop("SIGKILL");
      await new Promise((res) => setTimeout(res, 500));
      // 137 would mean killAndWait had to SIGKILL it after 20 s
      expect(await killAndWait(w, "SIGTERM", 20_000)).not.toBe(137);
      expect(w.output()).toContain("SIGTERM: stopping");
      const never = worker(r.url, path.join(dir, "w2"));
      await waitUntil(() => never.output().includes("retrying until Redis is reachable"), 30_000, "the worker to try Redis");
      expect(await killAndWait(never, "SIGINT", 20_000)).not.toBe(137);
    },
  );

  it("a worker refuses a trial from a sweep made with another maestro version, without failing it", { timeout: 60_000 }, async () => {
    const dir = tmpDir("qver");
    const r = await redis(dir);
    const q = new Queue("maestro-sweeps", { connection: redisConnection(r.url) });
    try {
      await q.add(
        "t1",
        { sweep: "old", trial: "t1", params: {}, configYaml: "name: x\n", seeds: [0], maestroVersion: "0.0.1-other" },
        { jobId: "old-t1", attempts: 3 },
      );
      const w = worker(r.url, path.join(dir, "w"));
      await waitUntil(() => w.output().includes("refuses old/t1"), 30_000, "the refusal");
      expect(w.output()).toContain("the sweep was made with maestro 0.0.1-other");
      const job = (await q.getJob("old-t1"))!;
      expect(["delayed", "waiting", "wait", "prioritized"]).toContain(await job.getState());
      expect(job.attemptsMade).toBe(0);
      expect((job.progress as { refused: string }).refused).toContain("0.0.1-other");
      expect(fs.existsSync(path.join(dir, "w", "old"))).toBe(false);
      await killAndWait(w, "SIGTERM", 20_000);
    } finally {
      await q.close();
    }
  });
});
