import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { P3oTrainer } from "../src/algos/p3o.js";
import { rollout } from "../src/env/rollout.js";
import { buildAgents, buildEncoder, buildEnvSpec, buildTaskSource, buildTrainer, RunRngs } from "../src/run/build.js";
import { loadConfig } from "../src/config/load.js";
import { readMetrics } from "../src/run/metrics.js";
import { selectBackend, tf } from "../src/policy/backend.js";

const root = path.resolve(import.meta.dirname, "..");
const cli = path.join(root, "dist/cli.js");

describe.each([
  ["ppo", [], ["kl", "clip_frac", "value_loss", "grad_norm", "epochs", "lr"]],
  ["ppo-lagrangian", ["algo.dual.optimizer=adam"], ["lambda", "jc", "cost_value_loss", "kl", "clip_frac", "value_loss"]],
  ["ppo-lagrangian", ["algo.dual.optimizer=pid"], ["lambda", "jc", "cost_value_loss"]],
  [
    "p3o",
    ["algo.p3o.kappaSchedule=linear", "algo.p3o.kappa=0.3", "algo.p3o.kappaFinal=2", "algo.p3o.kappaUpdates=4"],
    ["penalty", "penalty_active", "kappa", "jc", "cost_value_loss"],
  ],
] as const)("%s %j on sim-budget.yaml", (algo, sets, columns) => {
  it("logs its loss terms, keeps every value finite and leaks no tensors", async () => {
    const c = loadConfig(path.join(root, "configs/sim-budget.yaml"), { sets: [`algo.name=${algo}`, ...sets] });
    await selectBackend(c.backend);
    const rngs = new RunRngs(c.seed);
    const encoder = buildEncoder(c);
    const trainer = buildTrainer(c, encoder, rngs.trainer);
    const agents = buildAgents(c);
    const spec = buildEnvSpec(c);
    const tasks = buildTaskSource(c);
    for (const col of columns) expect(trainer.metricNames).toContain(col);
    let tensors = 0;
    const kappas: number[] = [];
    for (let u = 0; u < 5; u++) {
      const batch = await rollout({
        spec,
        agents,
        encoder,
        policy: trainer.policy,
        tasks,
        episodes: 32,
        firstEpisode: u * 32,
        policyRng: rngs.policy,
        envRng: rngs.env,
        taskRng: rngs.tasks,
      });
      const m = await trainer.update(batch);
      for (const col of [...columns, "loss", "entropy"]) expect(Number.isFinite(m[col]), `${col} = ${m[col]}`).toBe(true);
      if (m.kappa !== undefined) kappas.push(m.kappa);
      if (u === 1) tensors = tf.memory().numTensors;
      if (u > 1) expect(tf.memory().numTensors).toBe(tensors);
    }
    if (trainer instanceof P3oTrainer) {
      // linear schedule: κ_u = 0.3 + (u/4)·(2 − 0.3), capped at kappaFinal after 4 updates
      expect(kappas.map((k) => Number(k.toFixed(9)))).toEqual([0.3, 0.725, 1.15, 1.575, 2]);
    }
    trainer.dispose();
  });
});

describe("CLI: oracle and exact evaluation", () => {
  it("`maestro oracle --json` prints value, cost, lambda, budget", () => {
    const r = spawnSync(process.execPath, [cli, "oracle", "configs/sim-bandit.yaml", "--json"], { cwd: root, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, number>;
    expect(j.value).toBeCloseTo(0.7, 9);
    expect(j.cost).toBeCloseTo(0.5, 9);
    expect(j.lambda).toBeCloseTo(0.4, 9);
    expect(j.budget).toBe(0.5);
    const text = spawnSync(process.execPath, [cli, "oracle", "configs/sim-budget.yaml"], { cwd: root, encoding: "utf8" });
    expect(text.stdout).toMatch(/J_R\*\s+0\.9135/);
    expect(text.stdout).toMatch(/lambda 0\.15/);
    expect(text.stdout).toMatch(/hard step 1 helpers \{planner\}/);
  });

  it("`maestro eval <run> --exact --json` prints return, success, cost, value; non-sim configs are refused", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-exact-"));
    const run = path.join(dir, "run");
    const t = spawnSync(
      process.execPath,
      [
        cli,
        "train",
        "configs/sim-budget.yaml",
        "--run-dir",
        run,
        "--quiet",
        "--set",
        "train.updates=2",
        "--set",
        "train.episodesPerUpdate=8",
      ],
      { cwd: root, encoding: "utf8" },
    );
    expect(t.status, t.stderr).toBe(0);
    const r = spawnSync(process.execPath, [cli, "eval", run, "--exact", "--json"], { cwd: root, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, number | string>;
    for (const k of ["return", "success", "cost", "value"]) expect(typeof j[k]).toBe("number");
    expect(j.mode).toBe("constrained");
    expect(j.value).toBe(j.taskReturn); // constrained problem: value = J_R
    expect(j.success as number).toBeGreaterThan(0);
    // return = E[Σ reward the trainer optimised]: a constrained trainer's is the task reward (reward.costPenalty
    // is not part of it), so it equals the task return
    expect(j.return as number).toBeCloseTo(j.taskReturn as number, 9);
    const bad = spawnSync(process.execPath, [cli, "oracle", "configs/doa-mvp.yaml"], { cwd: root, encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/doa-mvp\.yaml: tasks\.source: the oracle and exact evaluation need simulated tasks/);
  });

  it("the exact evaluation of a trained run agrees with sampled evaluation", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-exact-"));
    const run = path.join(dir, "run");
    spawnSync(
      process.execPath,
      [
        cli,
        "train",
        "configs/sim-budget.yaml",
        "--run-dir",
        run,
        "--quiet",
        "--set",
        "train.updates=3",
        "--set",
        "train.episodesPerUpdate=16",
      ],
      { cwd: root },
    );
    const exact = JSON.parse(
      spawnSync(process.execPath, [cli, "eval", run, "--exact", "--json"], { cwd: root, encoding: "utf8" }).stdout,
    ) as Record<string, number>;
    const sampled = JSON.parse(
      spawnSync(process.execPath, [cli, "eval", run, "--episodes", "20000", "--json"], { cwd: root, encoding: "utf8" }).stdout,
    ) as Record<string, number>;
    // 20000 episodes: standard error of the success rate < 0.004, of the cost < 0.015
    expect(Math.abs(sampled.success_rate! - exact.success!)).toBeLessThan(0.02);
    expect(Math.abs(sampled.cost_mean! - exact.cost!)).toBeLessThan(0.06);
    expect(readMetrics(path.join(run, "metrics.csv")).columns).toContain("lambda");
  });
});
