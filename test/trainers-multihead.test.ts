import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { rollout } from "../src/env/rollout.js";
import { buildAgents, buildEncoder, buildEnvSpec, buildTaskSource, buildTrainer, RunRngs } from "../src/run/build.js";
import { loadConfig } from "../src/config/load.js";
import { headsOf } from "../src/config/heads.js";
import { readMetrics } from "../src/run/metrics.js";
import { selectBackend, tf } from "../src/policy/backend.js";

const root = path.resolve(import.meta.dirname, "..");
const cli = path.join(root, "dist/cli.js");

const macpoCols = [
  "agent_cpo_case",
  "agent_ls_step",
  "agent_kl",
  "agent_surr_improve",
  "agent_cost_change",
  "agent_nu",
  "tier_cpo_case",
  "tier_ls_step",
  "tier_kl",
  "tier_surr_improve",
  "tier_cost_change",
  "tier_nu",
  "jc",
  "c",
  "value_loss",
  "cost_value_loss",
];

describe.each([
  // default: the joint step (one case, trial and ν for both heads; no head order)
  ["macpo", "configs/sim-tiers.yaml", [], macpoCols],
  [
    "macpo",
    "configs/sim-tiers.yaml",
    ["algo.cpo.fvp=finite-difference", "algo.macpo.step=sequential", "algo.headOrder=fixed"],
    [...macpoCols, "head_order"],
  ],
  [
    "mappo-lagrangian",
    "configs/sim-tiers.yaml",
    ["algo.dual.optimizer=pid"],
    ["agent_kl", "agent_clip_frac", "agent_surr_improve", "agent_epochs", "tier_kl", "tier_clip_frac", "lambda", "jc", "head_order"],
  ],
  [
    "cpo",
    "configs/sim-budget.yaml",
    [],
    ["cpo_case", "ls_step", "kl", "surr_improve", "cost_change", "jc", "c", "value_loss", "cost_value_loss"],
  ],
] as const)("%s %j", (algo, file, sets, columns) => {
  it("logs per-head terms, keeps every value finite and leaks no tensors", async () => {
    const c = loadConfig(path.join(root, file), { sets: [`algo.name=${algo}`, ...sets] });
    await selectBackend(c.backend);
    const rngs = new RunRngs(c.seed);
    const encoder = buildEncoder(c);
    const trainer = buildTrainer(c, encoder, rngs.trainer);
    const agents = buildAgents(c);
    const spec = buildEnvSpec(c);
    const tasks = buildTaskSource(c);
    expect([...trainer.metricNames].sort()).toEqual(expect.arrayContaining([...columns].sort()));
    let tensors = 0;
    const orders = new Set<number>();
    for (let u = 0; u < 5; u++) {
      const batch = await rollout({
        spec,
        agents,
        encoder,
        policy: trainer.policy,
        heads: headsOf(c),
        tasks,
        episodes: 32,
        firstEpisode: u * 32,
        policyRng: rngs.policy,
        envRng: rngs.env,
        taskRng: rngs.tasks,
      });
      const m = await trainer.update(batch);
      for (const col of [...columns, "loss", "entropy"]) expect(Number.isFinite(m[col]), `${col} = ${m[col]}`).toBe(true);
      if (m.cpo_case !== undefined) expect([0, 1, 2, 3, 4]).toContain(m.cpo_case);
      if (m.tier_cpo_case !== undefined) {
        expect([0, 1, 2, 3, 4]).toContain(m.tier_cpo_case);
        // an accepted step keeps KL ≤ δ (the line search's rule); a rejected one leaves KL at 0
        for (const h of ["agent", "tier"]) expect(m[`${h}_kl`]!).toBeLessThanOrEqual(m.target_kl! + 1e-9);
        if (m.head_order === undefined) {
          // the joint step: one step for both heads, whose KLs add up to the joint KL ≤ δ
          expect(m.agent_kl! + m.tier_kl!).toBeLessThanOrEqual(m.target_kl! + 1e-9);
          for (const k of ["cpo_case", "ls_step", "nu", "surr_improve", "cost_change"]) expect(m[`agent_${k}`]).toBe(m[`tier_${k}`]);
        }
      }
      if (m.head_order !== undefined) orders.add(m.head_order);
      if (u === 1) tensors = tf.memory().numTensors;
      if (u > 1) expect(tf.memory().numTensors).toBe(tensors);
    }
    if (sets.some((s) => s === "algo.headOrder=fixed")) expect([...orders]).toEqual([12]);
    if (algo === "macpo" && !columns.includes("head_order")) expect(trainer.metricNames).not.toContain("head_order");
    trainer.dispose();
  });
});

describe("CLI end to end: macpo on sim-tiers", () => {
  it("train → metrics.csv with per-head columns → eval --exact and eval (sampled)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-macpo-cli-"));
    const run = path.join(dir, "run");
    const t = spawnSync(
      process.execPath,
      [
        cli,
        "train",
        "configs/sim-tiers.yaml",
        "--run-dir",
        run,
        "--quiet",
        "--set",
        "algo.name=macpo",
        "--set",
        "train.updates=3",
        "--set",
        "train.episodesPerUpdate=16",
      ],
      { cwd: root, encoding: "utf8" },
    );
    expect(t.status, t.stderr).toBe(0);
    const m = readMetrics(path.join(run, "metrics.csv"));
    for (const col of macpoCols) expect(m.columns).toContain(col);
    expect(m.rows).toHaveLength(3);
    const x = spawnSync(process.execPath, [cli, "eval", run, "--exact", "--json"], { cwd: root, encoding: "utf8" });
    expect(x.status, x.stderr).toBe(0);
    const j = JSON.parse(x.stdout) as Record<string, number>;
    expect(j.cost).toBeGreaterThan(0);
    expect(j.value).toBeGreaterThan(0);
    const e = spawnSync(process.execPath, [cli, "eval", run, "--episodes", "32"], { cwd: root, encoding: "utf8" });
    expect(e.status, e.stderr).toBe(0);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
