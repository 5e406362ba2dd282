import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { listCheckpoints } from "../../src/run/checkpoint.js";
import { readMetrics } from "../../src/run/metrics.js";
import { train, type RunSummary } from "../../src/run/train.js";
import { runSweepLocal } from "../../src/sweep/local.js";
import { saveTensors, writeFileAtomic } from "../../src/policy/io.js";
import { tf } from "../../src/policy/backend.js";
import { metricsWithoutTiming, removeTmpDirs, repoRoot, runCli, tmpDir, writeSweep } from "../helpers.js";
import { killAndWait, metricsRows, runCliAsync, startCli, waitUntil } from "../kill-helpers.js";

// Run folders are never corrupted. Every test
// bounds its own time (vitest timeout; spawned processes are killed past their bound).

const mvp = path.join(repoRoot, "configs", "doa-mvp.yaml");
const quick = ["--set", "log.plot=false", "--quiet"];
afterAll(removeTmpDirs);

const summaryOf = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, "summary.json"), "utf8")) as RunSummary;
const updatesColumn = (dir: string) => readMetrics(path.join(dir, "metrics.csv")).rows.map((r) => r.update);
const enospc = () => Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", syscall: "write", errno: -28 });

describe("one process per run folder (item 4)", () => {
  it(
    "a second train --resume (or train --run-dir) of a running run exits with the folder and the holder's pid; kill -9 leaves no lock behind",
    { timeout: 120_000 },
    async () => {
      const dir = path.join(tmpDir("lock"), "run");
      const a = startCli(["train", mvp, "--run-dir", dir, "--set", "train.updates=100000", "--set", "train.checkpointEvery=20", ...quick]);
      try {
        await waitUntil(() => metricsRows(path.join(dir, "metrics.csv")) >= 30, 60_000, "the first run to train");
        for (const args of [
          ["train", "--resume", dir],
          ["train", mvp, "--run-dir", dir],
        ]) {
          const b = runCli(args, { timeout: 60_000 });
          expect(b.status).toBe(2);
          expect(b.stderr).toContain(dir);
          expect(b.stderr).toContain(`in use by process ${a.pid}`);
        }
        // the holder is killed without a chance to clean up: its lock must not block the folder
        expect(await killAndWait(a, "SIGKILL")).toBe(137);
        const c = startCli(["train", "--resume", dir, "--quiet"]);
        const before = metricsRows(path.join(dir, "metrics.csv"));
        await waitUntil(() => c.output().includes("resumed after update"), 60_000, "the resume to start");
        await waitUntil(() => metricsRows(path.join(dir, "metrics.csv")) > before + 5, 60_000, "the resumed run to train");
        expect(await killAndWait(c, "SIGINT")).toBe(130);
      } finally {
        a.child.kill("SIGKILL");
      }
      // never two writers: update numbers are 1..n without repeats
      const ups = updatesColumn(dir);
      expect(ups).toEqual(ups.map((_, i) => i + 1));
    },
  );

  it(
    "a second local sweep of one file exits naming the sweep folder and pid; a sweep skips a run another process holds",
    { timeout: 180_000 },
    async () => {
      const dir = tmpDir("sweeplock");
      const runs = path.join(dir, "runs");
      const f = writeSweep(
        dir,
        `name: lk\nbase: BASE\nseeds: 1\nfixed: { train.updates: 100000, train.checkpointEvery: 50, log.plot: false }\nparameters:\n  reward.costPenalty: { values: [0.1] }\n`,
      );
      const a = startCli(["sweep", f, "--runs-dir", runs, "--workers", "1", "--quiet"]);
      try {
        const { loadSweep } = await import("../../src/sweep/spec.js");
        const id = loadSweep(f).trials[0]!.id;
        const seedDir = path.join(runs, "lk", id, "seed0");
        await waitUntil(() => metricsRows(path.join(seedDir, "metrics.csv")) >= 10, 60_000, "the first sweep to train");
        const b = runCli(["sweep", f, "--runs-dir", runs, "--quiet"], { timeout: 60_000 });
        expect(b.status).toBe(2);
        expect(b.stderr).toContain(path.join(runs, "lk"));
        expect(b.stderr).toContain(`in use by process ${a.pid}`);
        // the sweep process dies; its child run goes on holding the seed folder
        await killAndWait(a, "SIGKILL");
        // (the pool child exits when its parent disconnects; hold the folder with a run of our own instead)
        await waitUntil(
          () => !fs.existsSync(path.join(seedDir, ".lock")) || metricsRows(path.join(seedDir, "metrics.csv")) < 0,
          30_000,
          "the orphan to exit",
        );
        const holder = startCli(["train", "--resume", seedDir, "--quiet"]);
        try {
          await waitUntil(() => holder.output().includes("resumed after update"), 60_000, "the holder to start");
          const r = await runSweepLocal(f, { runsDir: runs, quiet: true, workers: 1 });
          expect(r.ran).toBe(0);
          const rows = metricsRows(path.join(seedDir, "metrics.csv"));
          await waitUntil(() => metricsRows(path.join(seedDir, "metrics.csv")) > rows, 30_000, "the holder to keep training");
        } finally {
          expect(await killAndWait(holder, "SIGINT")).toBe(130);
        }
        const ups = updatesColumn(seedDir);
        expect(ups).toEqual(ups.map((_, i) => i + 1));
      } finally {
        a.child.kill("SIGKILL");
      }
    },
  );
});

describe("a kill during run creation (item 5)", () => {
  it("leaves a folder that --resume, a fresh --run-dir and a sweep re-run all start", { timeout: 120_000 }, async () => {
    const dir = tmpDir("create");
    const sets = ["train.updates=6", "log.plot=false"];
    const ref = path.join(dir, "ref");
    await train({ config: loadConfig(mvp, { sets }), runDir: ref });
    // killed between config.yaml and manifest.json
    const killed = () => {
      throw new Error("killed during creation");
    };
    for (const name of ["a", "b"]) {
      await expect(
        train({ config: loadConfig(mvp, { sets }), runDir: path.join(dir, name), testHooks: { beforeManifest: killed } }),
      ).rejects.toThrow(/killed/);
      expect(fs.existsSync(path.join(dir, name, "config.yaml"))).toBe(true);
      expect(fs.existsSync(path.join(dir, name, "manifest.json"))).toBe(false);
    }
    const resumed = runCli(["train", "--resume", path.join(dir, "a"), "--quiet"], { timeout: 60_000 });
    expect(resumed.stderr).toBe("");
    expect(resumed.status).toBe(0);
    const fresh = runCli(["train", mvp, "--run-dir", path.join(dir, "b"), "--set", "train.updates=6", ...quick], { timeout: 60_000 });
    expect(fresh.status).toBe(0);
    for (const name of ["a", "b"]) {
      expect(summaryOf(path.join(dir, name)).status).toBe("completed");
      expect(metricsWithoutTiming(path.join(dir, name, "metrics.csv"))).toEqual(metricsWithoutTiming(path.join(ref, "metrics.csv")));
    }
    // a sweep whose seed folder was left unstarted: the re-run starts it instead of failing it forever
    const f = writeSweep(
      dir,
      `name: uc\nbase: BASE\nseeds: 1\nfixed: { train.updates: 4, log.plot: false }\nparameters:\n  reward.costPenalty: { values: [0.1] }\n`,
    );
    const runs = path.join(dir, "runs");
    const first = await runSweepLocal(f, { runsDir: runs, quiet: true, workers: 1 });
    const seedDir = path.join(first.sweepDir, first.trials[0]!.id, "seed0");
    for (const e of fs.readdirSync(seedDir)) if (e !== "config.yaml") fs.rmSync(path.join(seedDir, e), { recursive: true, force: true });
    const again = await runSweepLocal(f, { runsDir: runs, quiet: true, workers: 1 });
    expect(again.ran).toBe(1);
    expect(again.trials[0]!.status).toBe("completed");
    expect(summaryOf(seedDir).status).toBe("completed");
  });
});

describe("checked writes on a full disk (items 6, 12)", () => {
  // ENOSPC is injected at the fs layer (vi.spyOn on node:fs): a small tmpfs would need mount
  // privileges, and a short write is what a full disk really does before failing.
  function shortThenFull(limit: number) {
    const real = fs.writeSync.bind(fs) as (fd: number, b: Uint8Array, off: number, len: number) => number;
    let calls = 0;
    return vi.spyOn(fs, "writeSync").mockImplementation(((fd: number, b: Uint8Array | string, off?: number, len?: number) => {
      if (typeof b === "string") b = Buffer.from(b);
      const o = off ?? 0;
      const l = len ?? b.byteLength - o;
      if (calls++ === 0) return real(fd, b, o, Math.min(l, limit));
      throw enospc();
    }) as typeof fs.writeSync);
  }

  it("writeFileAtomic never publishes a truncated file: ENOSPC fails the write before the rename, naming the file", () => {
    const dir = tmpDir("enospc");
    const file = path.join(dir, "weights.bin");
    fs.writeFileSync(file, "old complete version");
    const spy = shortThenFull(57_344);
    try {
      expect(() => writeFileAtomic(file, new Uint8Array(300_000))).toThrow(
        `cannot write ${file}: no space left on the device (ENOSPC in write)`,
      );
    } finally {
      spy.mockRestore();
    }
    expect(fs.readFileSync(file, "utf8")).toBe("old complete version");
    expect(fs.readdirSync(dir)).toEqual(["weights.bin"]);
  });

  it("a checkpoint save on a full disk leaves no half checkpoint under the final name", async () => {
    const dir = path.join(tmpDir("ckpt"), "update-000002");
    const t = tf.zeros([300, 250]);
    const spy = shortThenFull(57_344);
    try {
      await expect(saveTensors(dir, [{ name: "w", tensor: t }], {})).rejects.toThrow(
        `cannot write weights.bin of checkpoint ${dir}: no space left on the device`,
      );
    } finally {
      spy.mockRestore();
      t.dispose();
    }
    expect(fs.existsSync(dir)).toBe(false);
    expect(fs.readdirSync(path.dirname(dir))).toEqual([]);
  });

  it(
    "a disk that fills during training stops the run with the run folder and --run-dir in the message; the last checkpoint resumes",
    { timeout: 60_000 },
    async () => {
      const dir = path.join(tmpDir("full"), "run");
      let updates = 0;
      const real = fs.appendFileSync;
      const spy = vi.spyOn(fs, "appendFileSync").mockImplementation(((...a: Parameters<typeof fs.appendFileSync>) => {
        if (updates >= 3) throw enospc();
        return real(...a);
      }) as typeof fs.appendFileSync);
      try {
        await expect(
          train({
            config: loadConfig(mvp, { sets: ["train.updates=8", "train.checkpointEvery=2", "log.plot=false"] }),
            runDir: dir,
            onUpdate: () => void updates++,
          }),
        ).rejects.toThrow(`cannot write the run folder ${dir} (--run-dir): no space left on the device (ENOSPC in write)`);
      } finally {
        spy.mockRestore();
      }
      expect(listCheckpoints(dir).map((c) => c.update)).toEqual([2]);
      const r = await train({ resumeDir: dir });
      expect(r.status).toBe("completed");
      expect(updatesColumn(dir)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    },
  );

  it("OS errors name what maestro was writing and the option that named the path", { timeout: 60_000 }, () => {
    const dir = tmpDir("oserr");
    const file = path.join(dir, "a-file");
    fs.writeFileSync(file, "x");
    const under = runCli(["train", mvp, "--run-dir", path.join(file, "run"), ...quick], { timeout: 60_000 });
    expect(under.status).not.toBe(0);
    expect(under.stderr).toContain(
      `error: cannot create the run folder ${path.join(file, "run")} (--run-dir): a part of the path is a file, not a folder (ENOTDIR`,
    );
    const isFile = runCli(["train", mvp, "--run-dir", file, ...quick], { timeout: 60_000 });
    expect(isFile.status).toBe(2);
    expect(isFile.stderr).toContain(`${file} (--run-dir): is a file, not a run folder`);
    const sw = writeSweep(dir, `name: os\nbase: BASE\nparameters:\n  reward.costPenalty: { values: [0.1] }\n`);
    const sweep = runCli(["sweep", sw, "--runs-dir", file, "--quiet"], { timeout: 60_000 });
    expect(sweep.status).not.toBe(0);
    expect(sweep.stderr).toContain(
      `cannot create the sweep folder ${path.join(file, "os")} (--runs-dir): a part of the path is a file, not a folder`,
    );
  });
});

describe("Ctrl-C during train", () => {
  it(
    "SIGINT saves a checkpoint and summary.json (interrupted), exits 130, and --resume continues exactly",
    { timeout: 180_000 },
    async () => {
      const dir = tmpDir("sigint");
      const sets = ["--set", "train.updates=600", "--set", "train.checkpointEvery=1000"];
      const ref = path.join(dir, "ref");
      expect(runCli(["train", mvp, "--run-dir", ref, ...sets, ...quick], { timeout: 120_000 }).status).toBe(0);
      const run = path.join(dir, "run");
      const p = startCli(["train", mvp, "--run-dir", run, ...sets, ...quick]);
      await waitUntil(() => metricsRows(path.join(run, "metrics.csv")) >= 40, 60_000, "training to start");
      expect(await killAndWait(p, "SIGINT")).toBe(130);
      // the hint names the command as it was invoked (npx under npm exec, else node …/maestro.js), never a bare
      // `maestro` that only works after npm link
      expect(p.output()).toMatch(/continue with: (npx maestro|node \S*maestro\.js) train --resume /);
      expect(p.output()).toContain(`train --resume ${run}`);
      const s = summaryOf(run);
      expect(s.status).toBe("interrupted");
      expect(s.updates).toBeLessThan(600);
      // the checkpoint holds exactly the rows written (none is checkpointed by the schedule before 600)
      expect(listCheckpoints(run).map((c) => c.update)).toEqual([s.updates]);
      expect(fs.existsSync(path.join(run, ".lock"))).toBe(false);
      const resumed = await runCliAsync(["train", "--resume", run, "--quiet"], { ms: 120_000 });
      expect(resumed.code).toBe(0);
      expect(summaryOf(run).status).toBe("completed");
      expect(metricsWithoutTiming(path.join(run, "metrics.csv"))).toEqual(metricsWithoutTiming(path.join(ref, "metrics.csv")));
    },
  );

  it("SIGTERM does the same and exits 143", { timeout: 120_000 }, async () => {
    const run = path.join(tmpDir("sigterm"), "run");
    const p = startCli([
      "train",
      mvp,
      "--run-dir",
      run,
      "--set",
      "train.updates=100000",
      "--set",
      "train.checkpointEvery=100000",
      ...quick,
    ]);
    await waitUntil(() => metricsRows(path.join(run, "metrics.csv")) >= 5, 60_000, "training to start");
    expect(await killAndWait(p, "SIGTERM")).toBe(143);
    const s = summaryOf(run);
    expect(s.status).toBe("interrupted");
    expect(listCheckpoints(run).map((c) => c.update)).toEqual([s.updates]);
  });
});
