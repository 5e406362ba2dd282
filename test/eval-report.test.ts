import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluateGroup, formatGroupEval } from "../src/analysis/evaluate.js";
import { removeTmpDirs, runCli, tmpDir } from "./helpers.js";

afterAll(removeTmpDirs);

/** Numbers that say what they are: coverage of every figure, groups by config, what ended an episode, value*, units. */
describe("eval and orchestrate say what their numbers are", () => {
  let dir = "";
  const train = (config: string, name: string, ...sets: string[]) => {
    const r = runCli([
      "train",
      config,
      "--run-dir",
      path.join(dir, name),
      "--quiet",
      "--set",
      "log.plot=false",
      ...sets.flatMap((s) => ["--set", s]),
    ]);
    expect(r.status, r.stderr).toBe(0);
    return path.join(dir, name);
  };
  let sim = "";
  let doa = "";
  let gsm = "";
  beforeAll(() => {
    dir = tmpDir("evalreport");
    doa = train("configs/doa-mvp.yaml", "doa", "train.updates=2");
    sim = train("configs/sim-budget.yaml", "sim", "train.updates=2", "train.episodesPerUpdate=32");
    gsm = train("configs/gsm8k-router.yaml", "gsm", "train.updates=1", "train.episodesPerUpdate=64");
  }, 300_000);

  it("eval of a recorded-data run covers the whole test split by default and says so", () => {
    const r = runCli(["eval", gsm, "--greedy"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("over 396 episodes (the whole test split: each of its 396 items once)");
    expect(r.stdout).toMatch(/success \d\.\d{3} \(\d+ of 396\)/);
    expect(r.stdout).toMatch(/cost {4}\$[0-9.]+ per episode/);
    const part = runCli(["eval", gsm, "--greedy", "--episodes", "50", "--json"]);
    const j = JSON.parse(part.stdout) as { episodes: number; tasks: { split: string; size: number; distinct: number }; costUnit: string };
    expect(j.episodes).toBe(50);
    expect(j.tasks).toEqual({ split: "test", size: 396, distinct: 50 });
    expect(j.costUnit).toBe("usd");
  }, 120_000);

  it("eval of a folder of unrelated runs averages each configuration on its own", async () => {
    const g = await evaluateGroup(dir, { episodes: 20, greedy: true });
    expect(g.rows).toHaveLength(3);
    // three configurations, three means of one run each; never one mean across DOA, simulated and GSM8K runs
    expect(Object.keys(g.means)).toHaveLength(3);
    for (const m of Object.values(g.means)) expect(m.return_mean!.n).toBe(1);
    expect(new Set(g.rows.map((r) => r.group)).size).toBe(3);
    const text = formatGroupEval(g);
    expect(text).toContain("3 configurations");
    expect(text.split("\n").filter((l) => l.includes("**mean of 1**"))).toHaveLength(3);
    expect(text).toContain("20 episodes per run");
  }, 120_000);

  it("eval --exact prints value*, value/value* and the cost's units", () => {
    const r = runCli(["eval", sim, "--exact"]);
    expect(r.status, r.stderr).toBe(0);
    const value = Number(/^value {3}(-?[0-9.]+)/m.exec(r.stdout)![1]);
    const m = /^value\* +(-?[0-9.]+) +\(the optimum, LP oracle\): value\/value\* = ([0-9.]+), gap value\* − value = (-?[0-9.]+)/m.exec(
      r.stdout,
    );
    expect(m, r.stdout).not.toBeNull();
    const [star, ratio, gap] = [Number(m![1]), Number(m![2]), Number(m![3])];
    expect(ratio).toBeCloseTo(value / star, 2);
    expect(gap).toBeCloseTo(star - value, 3);
    expect(r.stdout).toMatch(/^cost {4}[0-9.]+ cost units per episode \(budget 2\.5: /m);
    const j = JSON.parse(runCli(["eval", sim, "--exact", "--json"]).stdout) as { value: number; optimum: { value: number; ratio: number } };
    expect(j.optimum.ratio).toBeCloseTo(j.value / j.optimum.value, 12);
  }, 120_000);

  it("orchestrate says which agent ended an episode and counts steps in English", () => {
    const r = runCli(["orchestrate", "--run", sim, ...Array.from({ length: 8 }, () => ["--task-type", "easy"]).flat(), "--no-greedy"]);
    expect(r.status, r.stderr).toBe(0);
    const ends = r.stdout.split("\n").filter((l) => /^ {2}(solved by|ended by|reached)/.test(l));
    expect(ends).toHaveLength(8);
    expect(r.stdout).not.toContain("ended by terminator");
    expect(r.stdout).not.toMatch(/\b1 steps\b/);
    // a solver that solved the task is named as such, not as the terminator
    expect(ends.some((l) => /^ {2}solved by (cheap|strong|planner), 1 step, 0 tokens, cost [0-9.]+ cost units$/.test(l))).toBe(true);
    for (const l of ends.filter((x) => x.includes("ended by"))) expect(l).toMatch(/ended by the terminator \(terminator\)/);
    expect(r.stdout).toMatch(/^8 tasks: accuracy [0-9.]+ over 8, mean cost [0-9.]+ cost units per task$/m);
    const d = runCli(["orchestrate", "--run", doa, "--task", "2+2?"]);
    expect(d.status, d.stderr).toBe(0);
    expect(d.stdout).toMatch(
      /^ {2}(ended by the terminator \(terminator\), 1 step|reached env\.maxSteps, 4 steps|ended by the terminator \(terminator\), [2-4] steps), 0 tokens/m,
    );
  }, 120_000);
});
