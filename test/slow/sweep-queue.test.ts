import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Queue } from "bullmq";
import { redisConnection, runSweepQueue } from "../../src/sweep/queue.js";
import { findExecutable, freePort, spawnCli, tmpDir, writeSweep, removeTmpDirs } from "../helpers.js";

// The queue tests start their own redis-server on loopback; without one installed they are skipped
// (CI installs it: .ci/run). The unreachable-Redis test needs no server and always runs.
const redisServer = findExecutable("redis-server");
const needsRedis = redisServer ? "" : " (skipped: redis-server is not installed; `apt-get install redis-server` runs them)";
if (!redisServer) console.warn(`test/sweep-queue.test.ts: redis-server is not installed, so the BullMQ tests that need it are skipped`);

let redis: ChildProcess | undefined;
let port = 0;
let dir = "";

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dir = tmpDir("queue");
  if (!redisServer) return;
  port = await freePort();
  let out = "";
  redis = spawn(redisServer, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  redis.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  await waitFor(() => out.includes("Ready to accept connections"), 10_000);
});

afterAll(async () => {
  removeTmpDirs();
  if (redis && redis.exitCode === null) {
    const exited = new Promise((r) => redis!.once("exit", r));
    redis.kill("SIGTERM");
    await exited;
  }
});

describe("distributed sweeps on BullMQ", () => {
  it("fails fast with a clear error, writing nothing, when Redis cannot be reached", async () => {
    const f = writeSweep(dir, `name: unreachable\nbase: BASE\nparameters:\n  reward.costPenalty: { values: [0.1] }\n`, "unreachable.yaml");
    const closed = await freePort();
    const runsDir = path.join(dir, "unreachable-runs");
    await expect(runSweepQueue(f, { url: `redis://127.0.0.1:${closed}`, runsDir, quiet: true, connectTimeoutMs: 500 })).rejects.toThrow(
      /cannot reach Redis/,
    );
    expect(fs.existsSync(runsDir)).toBe(false);
  });

  it.skipIf(!redisServer)(
    `two workers complete a sweep, including a trial that fails once and succeeds on retry${needsRedis}`,
    async () => {
      const url = `redis://127.0.0.1:${port}`;
      const f = writeSweep(
        dir,
        `name: q
base: BASE
seeds: 2
fixed: { train.updates: 5, train.episodesPerUpdate: 4, log.plot: false }
parameters:
  reward.costPenalty: { values: [0.05, 0.1, 0.2] }
`,
      );
      const { loadSweep } = await import("../../src/sweep/spec.js");
      const trials = loadSweep(f).trials;
      const flaky = trials[1]!.id;
      const workers = ["A", "B"].map((w) =>
        spawnCli(["worker", "--queue", url, "--runs-dir", path.join(dir, `worker${w}`), "--workers", "1"], {
          log: path.join(dir, `worker${w}.log`),
          env: { MAESTRO_INJECT_FAIL_ONCE: flaky },
        }),
      );
      try {
        const local = path.join(dir, "local");
        const r = await runSweepQueue(f, { url, runsDir: local, quiet: true, backoffMs: 200 });
        expect(r.trials.map((t) => t.status)).toEqual(["completed", "completed", "completed"]);
        expect(r.ran).toBe(6);
        // results came back with the jobs: summary + metrics stored under the local sweep folder
        for (const t of trials) {
          for (const s of [0, 1]) {
            const d = path.join(local, "q", t.id, `seed${s}`);
            expect(fs.existsSync(path.join(d, "summary.json"))).toBe(true);
            expect(fs.readFileSync(path.join(d, "metrics.csv"), "utf8").trim().split("\n")).toHaveLength(6);
            const remote = JSON.parse(fs.readFileSync(path.join(d, "remote.json"), "utf8")) as { runDir: string };
            // the full run folder lives on the worker's disk
            expect(fs.existsSync(path.join(remote.runDir, "checkpoints"))).toBe(true);
          }
        }
        expect(
          fs
            .readFileSync(path.join(local, "q", "sweep.csv"), "utf8")
            .trim()
            .split("\n"),
        ).toHaveLength(4);
        // the flaky trial ran twice (attempt 1 failed by injection, attempt 2 completed); jobId = trial id
        const q = new Queue("maestro-sweeps", { connection: redisConnection(url) });
        try {
          const job = await q.getJob(`q-${flaky}`);
          expect(job!.attemptsMade).toBe(2);
          expect(await job!.getState()).toBe("completed");
          expect(job!.returnvalue.seeds).toHaveLength(2);
          const other = await q.getJob(`q-${trials[0]!.id}`);
          expect(other!.attemptsMade).toBe(1);
        } finally {
          await q.close();
        }
        const logs = ["A", "B"].map((w) => fs.readFileSync(path.join(dir, `worker${w}.log`), "utf8")).join("\n");
        expect(logs).toContain(`${flaky} failed: injected failure`);
        expect(logs).toContain(`${flaky} started (attempt 2 of 3; before: 1 attempt failed)`);
        // a re-run finds everything done and enqueues nothing
        const again = await runSweepQueue(f, { url, runsDir: local, quiet: true });
        expect(again.ran).toBe(0);
        expect(again.skipped).toBe(6);
      } finally {
        for (const w of workers) {
          const exited = new Promise((res) => w.once("exit", res));
          w.kill("SIGTERM");
          await exited;
        }
      }
    },
  );
});
