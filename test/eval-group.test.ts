import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluateRun, type GroupEvalResult } from "../src/analysis/evaluate.js";
import { exactEvaluateRun } from "../src/analysis/exact.js";
import { loadConfig } from "../src/config/load.js";
import { selectBackend } from "../src/policy/backend.js";
import { train } from "../src/run/train.js";
import { removeTmpDirs, repoRoot, runCli, tmpDir, writeSweep } from "./helpers.js";

const cfg = (name: string) => path.join(repoRoot, "configs", name);
const short = ["train.updates=4", "train.episodesPerUpdate=8", "log.plot=false"];

beforeAll(async () => {
  await selectBackend("auto");
});
afterAll(removeTmpDirs);

async function seedGroup(file: string, seeds: number[], sets: string[] = []): Promise<string> {
  const group = path.join(tmpDir("evalg"), "group");
  for (const seed of seeds)
    await train({ config: loadConfig(cfg(file), { seed, sets: [...short, ...sets] }), runDir: path.join(group, `seed${seed}`) });
  return group;
}

describe("eval on a folder of runs", () => {
  it("a seed group: every run evaluated as `eval <run>` would, one table with the mean and CI, --json", async () => {
    const group = await seedGroup("doa-mvp.yaml", [0, 1]);
    const r = runCli(["eval", group, "--episodes", "20", "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const g = JSON.parse(r.stdout) as GroupEvalResult;
    expect(g.kind).toBe("group");
    expect(g.rows.map((x) => path.basename(x.runDir))).toEqual(["seed0", "seed1"]);
    for (const row of g.rows) {
      const one = await evaluateRun(row.runDir, { episodes: 20 });
      expect(row.metrics).toEqual({
        return_mean: one.return_mean,
        return_std: one.return_std,
        success_rate: one.success_rate,
        cost_mean: one.cost_mean,
        ep_len_mean: one.ep_len_mean,
      });
      expect(row.checkpointUpdate).toBe(4);
      expect(row.trainFinal?.return_mean).toBeTypeOf("number");
    }
    expect(g.means[""]!.return_mean!.n).toBe(2);
    expect(g.means[""]!.return_mean!.mean).toBeCloseTo((g.rows[0]!.metrics!.return_mean! + g.rows[1]!.metrics!.return_mean!) / 2, 12);
    const t = runCli(["eval", group, "--episodes", "20"]);
    expect(t.status, t.stderr).toBe(0);
    expect(t.stdout).toContain("| run | seed | checkpoint | episodes | return | success | cost | length | train final return |");
    expect(t.stdout).toMatch(/^\| seed1 \| 1 \| 4 \| /m);
    expect(t.stdout).toContain("| **mean of 2** |");
  });

  it("exact evaluation of a group of simulated runs", async () => {
    const group = await seedGroup("sim-budget.yaml", [0, 1], ["algo.annealLr=false"]);
    const r = runCli(["eval", group, "--exact", "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const g = JSON.parse(r.stdout) as GroupEvalResult;
    for (const row of g.rows) {
      const x = await exactEvaluateRun(row.runDir);
      expect(row.metrics).toEqual({ value: x.value, value_ratio: x.optimum.ratio, return: x.return, success: x.success, cost: x.cost });
    }
  });

  it("a sweep folder: rows per trial (with its parameters) and seed; a run that cannot be evaluated is reported and fails the command", () => {
    const dir = tmpDir("evalg");
    const sweep = writeSweep(
      dir,
      "name: ev\nbase: BASE\nfixed: { train.updates: 3, log.plot: false }\nparameters:\n  reward.costPenalty: { values: [0.1, 0.2] }\n",
    );
    const runs = path.join(dir, "runs");
    expect(runCli(["sweep", sweep, "--runs-dir", runs, "--workers", "1", "--quiet"]).status).toBe(0);
    const r = runCli(["eval", path.join(runs, "ev"), "--episodes", "10"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("| trial | run | seed |");
    expect(r.stdout).toMatch(/^\| t[0-9a-f]{10} \(reward\.costPenalty=0\.1\) \| seed0 \| 0 \| 3 \| /m);
    expect(r.stdout).toMatch(/^\| t[0-9a-f]{10} \(reward\.costPenalty=0\.2\) \| \*\*mean of 1\*\* /m);
    // remove one run's checkpoints: its row says why, the other is still evaluated, exit code 1
    const trial = fs.readdirSync(path.join(runs, "ev")).find((d) => d.startsWith("t"))!;
    fs.rmSync(path.join(runs, "ev", trial, "seed0", "checkpoints"), { recursive: true });
    const bad = runCli(["eval", path.join(runs, "ev"), "--episodes", "10", "--json"]);
    expect(bad.status).toBe(1);
    const g = JSON.parse(bad.stdout) as GroupEvalResult;
    expect(g.rows.filter((x) => x.error).map((x) => x.error)).toEqual([
      `${path.join(runs, "ev", trial, "seed0")}: the run has no checkpoint yet`,
    ]);
    expect(g.rows.filter((x) => x.metrics)).toHaveLength(1);
    expect(bad.stderr).toContain("1 of 2 runs could not be evaluated");
    // a folder without runs
    const empty = runCli(["eval", tmpDir("evalg")]);
    expect(empty.status).toBe(2);
    expect(empty.stderr).toContain("no run folders inside it");
  });
});

describe("orchestrate on a simulated run", () => {
  it("refuses free text with a clear message, and solves simulated tasks given by --task-type", async () => {
    const group = await seedGroup("sim-budget.yaml", [0], ["algo.annealLr=false"]);
    const run = path.join(group, "seed0");
    const text = runCli(["orchestrate", "--run", run, "--task", "What is 2+2?"]);
    expect(text.status).toBe(2);
    expect(text.stderr).toContain("a simulated run (tasks.source: sim) solves simulated tasks of its types (easy, hard)");
    expect(text.stderr).toContain("--task-type <easy|hard>");
    const typo = runCli(["orchestrate", "--run", run, "--task-type", "hadr"]);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain("--task-type hadr: not a task type");
    expect(typo.stderr).toContain('did you mean "hard"?');
    const ok = runCli(["orchestrate", "--run", run, "--task-type", "easy", "--task-type", "hard", "--json"]);
    expect(ok.status, ok.stderr).toBe(0);
    const traces = JSON.parse(ok.stdout) as Array<{ task: { type: string }; success: boolean; steps: unknown[] }>;
    expect(traces.map((t) => t.task.type)).toEqual(["easy", "hard"]);
    for (const t of traces) {
      expect(typeof t.success).toBe("boolean");
      expect(t.steps.length).toBeGreaterThan(0);
    }
    const plain = runCli(["orchestrate", "--run", run, "--task-type", "easy"]);
    expect(plain.stdout).toMatch(/outcome: {2}\((solved|not solved)\)/);
    // --task-type on a run that is not simulated
    const doa = await seedGroup("doa-mvp.yaml", [0]);
    const notSim = runCli(["orchestrate", "--run", path.join(doa, "seed0"), "--task-type", "easy"]);
    expect(notSim.status).toBe(2);
    expect(notSim.stderr).toContain("--task-type is for simulated runs");
  });
});
