import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";

import { cli, metricsWithoutTiming as metricsWithoutWall, root } from "../helpers.js";

function rows(file: string): number {
  return fs.existsSync(file) ? Math.max(0, fs.readFileSync(file, "utf8").trim().split("\n").length - 1) : 0;
}

describe.each(["plain", "pid"])("kill and resume: ppo-lagrangian (%s λ optimiser)", (opt) => {
  it("gives a metrics.csv identical to an uninterrupted run", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-resume-"));
    const sets = [
      "algo.name=ppo-lagrangian",
      `algo.dual.optimizer=${opt}`,
      "train.updates=14",
      "train.episodesPerUpdate=16",
      "train.checkpointEvery=1",
    ].flatMap((s) => ["--set", s]);
    const full = path.join(dir, "full");
    const a = spawnSync(process.execPath, [cli, "train", "configs/sim-budget.yaml", "--run-dir", full, "--quiet", ...sets], {
      cwd: root,
      encoding: "utf8",
    });
    expect(a.status, a.stderr).toBe(0);

    const killed = path.join(dir, "killed");
    const child = spawn(process.execPath, [cli, "train", "configs/sim-budget.yaml", "--run-dir", killed, "--quiet", ...sets], {
      cwd: root,
      stdio: "ignore",
    });
    const metrics = path.join(killed, "metrics.csv");
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        // inside the averaging window (algo.averagePolicy 0.5: updates 8–14), so the checkpoint carries its kept rows
        if (rows(metrics) >= 9) {
          clearInterval(timer);
          child.kill("SIGKILL");
          resolve();
        }
      }, 5);
      child.on("exit", () => {
        clearInterval(timer);
        reject(new Error("the run finished before it could be killed"));
      });
    });
    await new Promise((r) => child.once("exit", r));
    const at = rows(metrics);
    expect(at).toBeLessThan(14);
    const b = spawnSync(process.execPath, [cli, "train", "--resume", killed, "--quiet"], { cwd: root, encoding: "utf8" });
    expect(b.status, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/resumed after update \d+/);
    const m1 = metricsWithoutWall(path.join(full, "metrics.csv"));
    const m2 = metricsWithoutWall(metrics);
    expect(m1).toHaveLength(15);
    expect(m2).toEqual(m1);
    // λ moved during the run, so the resumed run really had to restore it
    const header = m1[0]!.split(",");
    const lam = header.indexOf("lambda");
    expect(new Set(m1.slice(1).map((l) => l.split(",")[lam])).size).toBeGreaterThan(3);
    // the final (averaged) policy is the same: exact evaluation of both last checkpoints
    const exact = (run: string) => {
      const r = spawnSync(process.execPath, [cli, "eval", run, "--exact", "--json"], { cwd: root, encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      const { value, taskReturn, cost } = JSON.parse(r.stdout) as { value: number; taskReturn: number; cost: number };
      return { value, taskReturn, cost };
    };
    expect(exact(killed)).toEqual(exact(full));
  });
});
