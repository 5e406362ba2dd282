import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { budgetBrief, budgetStatus, multipliers } from "../src/run/budget.js";
import { loadConfig } from "../src/config/load.js";
import { configWarnings } from "../src/config/load.js";
import { removeTmpDirs, repoRoot, runCli, tmpDir } from "./helpers.js";

afterAll(removeTmpDirs);

// A budgeted run says where it stands — in every progress line, in summary.json, in the
// final line — and a budget-blind trainer on a budgeted config says the budget is not enforced.
describe("budget status (unit)", () => {
  it("picks the multiplier columns λ, κ, ν (per head) of a row", () => {
    expect(multipliers({ lambda: 0.2, jc: 2, kl: 0.01 })).toEqual({ lambda: 0.2 });
    expect(multipliers({ kappa: 3, penalty_active: 0.4 })).toEqual({ kappa: 3 });
    expect(multipliers({ agent_nu: 0.1, tier_nu: 0.3, nu_x: 1 })).toEqual({ agent_nu: 0.1, tier_nu: 0.3 });
  });

  it("formats the budget part of a progress line", () => {
    expect(budgetBrief({ jc: 2.4, cost_mean: 9, lambda: 0.125 }, 2.5, true)).toBe("J_C 2.400 / d 2.5 = 0.960  λ 0.125");
    expect(budgetBrief({ jc: 2.4, kappa: 3 }, 2.5, true)).toBe("J_C 2.400 / d 2.5 = 0.960  κ 3.00");
    expect(budgetBrief({ cost_mean: 3.1 }, 2.5, false)).toBe("cost 3.100 / d 2.5 = 1.240 (budget not enforced)");
    expect(budgetBrief({ cost_mean: 3.1 }, undefined, false)).toBe("");
  });

  it("summarises the last update and the last 10% of updates", () => {
    const c = loadConfig(path.join(repoRoot, "configs/sim-budget.yaml"));
    const rows = Array.from({ length: 20 }, (_, i) => ({ update: i + 1, jc: i < 18 ? 3 : 2, cost_mean: 9, lambda: i / 10 }));
    const s = budgetStatus(c, rows)!;
    expect(s).toEqual({ d: 2.5, enforced: true, jc: 2, jcOverD: 0.8, windowJc: 2, windowJcOverD: 0.8, multiplier: { lambda: 1.9 } });
    const rf = loadConfig(path.join(repoRoot, "configs/sim-budget.yaml"), { sets: ["algo.name=reinforce"] });
    expect(budgetStatus(rf, rows)!.enforced).toBe(false);
    expect(budgetStatus(rf, rows)!.jc).toBe(9);
    expect(budgetStatus(loadConfig(path.join(repoRoot, "configs/doa-mvp.yaml")), rows)).toBeUndefined();
  });

  it("warns about a budget only for the budget-blind trainers", () => {
    const file = path.join(repoRoot, "configs/sim-budget.yaml");
    expect(configWarnings(loadConfig(file))).toEqual([]);
    for (const algo of ["reinforce", "ppo"]) {
      const w = configWarnings(loadConfig(file, { sets: [`algo.name=${algo}`] }));
      expect(w).toHaveLength(1);
      expect(w[0]).toMatch(/env\.budget \(d = 2\.5\) is not enforced by algo\.name "(reinforce|ppo)".*λ = reward\.costPenalty = 0\.1/);
    }
    expect(configWarnings(loadConfig(path.join(repoRoot, "configs/doa-mvp.yaml")))).toEqual([]);
  });
});

describe("budget status (CLI)", () => {
  const short = ["--set", "train.updates=4", "--set", "train.episodesPerUpdate=8", "--set", "log.plot=false"];

  it("a constrained run: J_C vs d and λ on every progress line, task return, budget block in summary.json", () => {
    const dir = tmpDir("budget");
    const runDir = path.join(dir, "lag");
    const r = runCli(["train", "configs/sim-budget.yaml", "--run-dir", runDir, ...short]);
    expect(r.status).toBe(0);
    // non-TTY progress: about ten lines per run; each with the budget part
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("update "));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).toMatch(/\| J_C \d+\.\d{3} \/ d 2\.5 = \d+\.\d{3} {2}λ \d/);
    expect(r.stderr).not.toContain("warning");
    expect(r.stdout).toMatch(/final task return .*; budget d 2\.5: J_C \d+\.\d+ = \d+\.\d+·d, lambda \d/);
    const s = JSON.parse(fs.readFileSync(path.join(runDir, "summary.json"), "utf8"));
    expect(s.budget.d).toBe(2.5);
    expect(s.budget.enforced).toBe(true);
    expect(s.budget.jc).toBe(s.final.jc);
    expect(s.budget.jcOverD).toBeCloseTo(s.final.jc / 2.5, 12);
    expect(s.budget.multiplier).toEqual({ lambda: s.final.lambda });
    // the "return" of a constrained trainer is the task return: sim-budget has costPenalty 0.1, but with
    // successBonus 1 and failurePenalty 0 a constrained run's return_mean is its success rate
    expect(s.final.return_mean).toBeCloseTo(s.final.success_rate, 12);
  });

  it("p3o shows κ; a budget-blind trainer warns once and says the budget is not enforced", () => {
    const dir = tmpDir("budget");
    const p3o = runCli(["train", "configs/sim-budget.yaml", "--set", "algo.name=p3o", "--run-dir", path.join(dir, "p3o"), ...short]);
    expect(p3o.status).toBe(0);
    expect(p3o.stderr).toMatch(/J_C \d+\.\d{3} \/ d 2\.5 = \d+\.\d{3} {2}κ \d/);
    const rf = runCli(["train", "configs/sim-budget.yaml", "--set", "algo.name=reinforce", "--run-dir", path.join(dir, "rf"), ...short]);
    expect(rf.status).toBe(0);
    expect(rf.stderr.match(/warning: env\.budget \(d = 2\.5\) is not enforced by algo\.name "reinforce"/g)).toHaveLength(1);
    expect(rf.stderr).toMatch(/cost \d+\.\d{3} \/ d 2\.5 = \d+\.\d{3} \(budget not enforced\)/);
    expect(rf.stdout).toMatch(/final return .*; budget d 2\.5: not enforced/);
    const s = JSON.parse(fs.readFileSync(path.join(dir, "rf", "summary.json"), "utf8"));
    expect(s.budget.enforced).toBe(false);
    expect(s.warnings).toHaveLength(1);
  });

  it("oracle and eval --exact say which objective they solved", () => {
    const c = runCli(["oracle", "configs/sim-budget.yaml"]);
    expect(c.status).toBe(0);
    expect(c.stdout).toContain(
      "objective: constrained: max J_R = E[Σ task reward] s.t. J_C = E[episode cost] ≤ d = 2.5 (algo.name ppo-lagrangian is a constrained trainer; reward.costPenalty 0.1 is not used)",
    );
    const p = runCli(["oracle", "configs/sim-budget.yaml", "--set", "algo.name=reinforce"]);
    expect(p.stdout).toContain(
      "objective: penalised: max E[Σ (r_t − λ·c_t)] with λ = reward.costPenalty = 0.1 (algo.name reinforce optimises the configured reward; env.budget 2.5 is not imposed)",
    );
    const dir = tmpDir("budget");
    const runDir = path.join(dir, "cpo");
    expect(runCli(["train", "configs/sim-bandit.yaml", "--set", "algo.name=cpo", "--run-dir", runDir, "--quiet", ...short]).status).toBe(0);
    const x = runCli(["eval", runDir, "--exact"]);
    expect(x.status).toBe(0);
    expect(x.stdout).toContain("objective: constrained: max J_R = E[Σ task reward] s.t. J_C = E[episode cost] ≤ d = 0.5");
    expect(x.stdout).toMatch(/cost +\d+\.\d+ cost units per episode \(budget 0\.5: \d+\.\d+·d\)/);
    const j = JSON.parse(runCli(["eval", runDir, "--exact", "--json"]).stdout);
    expect(j.objective).toMatch(/^constrained: /);
  });
});
