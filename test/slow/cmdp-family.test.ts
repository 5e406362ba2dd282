import { describe, expect, it } from "vitest";
import { describeProblem, familyConfig, familyProblem, familyRawConfig, generateFamily } from "../../src/analysis/cmdp-family.js";
import { solveOracle } from "../../src/analysis/oracle.js";
import { headsOf } from "../../src/config/heads.js";

// The seeded random CMDP family: deterministic, valid configs, references from the LP
// oracle that mean what they say.
describe("the random CMDP family", () => {
  it("is deterministic, and problem i does not depend on which others are drawn", async () => {
    const a = await generateFamily([0, 1, 2, 3], { seed: 5 });
    const b = await familyProblem(2, { seed: 5 });
    const c = await generateFamily([0, 1, 2, 3], { seed: 5 });
    expect(JSON.stringify(a[2])).toBe(JSON.stringify(b));
    expect(JSON.stringify(a)).toBe(JSON.stringify(c));
    const other = await familyProblem(2, { seed: 6 });
    expect(JSON.stringify(other.problem)).not.toBe(JSON.stringify(b.problem));
  });

  it("draws horizons 1–4, budgets between the cheapest and the most expensive policy, binding and slack, with exact references", async () => {
    const fam = await generateFamily(
      Array.from({ length: 24 }, (_, i) => i),
      { seed: 1 },
    );
    const horizons = new Set<number>();
    let slack = 0;
    for (const p of fam) {
      const r = p.reference;
      const raw = p.problem as { env: { maxSteps: number; budget: number }; agents: unknown[] };
      horizons.add(raw.env.maxSteps);
      expect(raw.env.budget).toBe(p.budget);
      expect(p.budget).toBeGreaterThan(r.minCost);
      expect(p.budget).toBeLessThanOrEqual(r.maxCost + 1e-9);
      // the constrained optimum respects the budget; it binds exactly when d is below the cost of
      // the reward-maximising policy, and then λ* > 0
      expect(r.constrained.cost).toBeLessThanOrEqual(p.budget + 1e-7);
      expect(r.binds).toBe(p.budget < r.unconstrainedCost - 1e-9);
      if (r.binds) {
        expect(r.constrained.lambda).toBeGreaterThan(0);
        expect(r.constrained.cost).toBeCloseTo(p.budget, 6);
      } else slack++;
      expect(r.penalised.mode).toBe("penalised");
      expect(r.penalised.value).toBeGreaterThanOrEqual(0.1);
      expect(r.constrained.taskReturn).toBeGreaterThanOrEqual(0.15);
      expect(describeProblem(p)).toContain(p.id);
    }
    expect([...horizons].sort()).toEqual([1, 2, 3, 4]);
    expect(slack).toBeGreaterThan(0);
    expect(slack).toBeLessThan(fam.length / 2);
  });

  it("gives schema-default configs: the constrained form for constrained trainers, the penalised one for reinforce / ppo", async () => {
    const p = await familyProblem(3, { seed: 1 });
    const raw = familyRawConfig(p, "ppo-lagrangian");
    expect(Object.keys(raw.algo as object)).toEqual(["name"]);
    expect(raw.policy).toBeUndefined();
    expect(raw.train).toBeUndefined();
    const lag = familyConfig(p, "ppo-lagrangian");
    expect(lag.env.budget).toBe(p.budget);
    expect(lag.reward.costPenalty).toBe(0);
    const oracle = await solveOracle(lag);
    expect(oracle.mode).toBe("constrained");
    expect(oracle.value).toBeCloseTo(p.reference.constrained.value, 9);
    const rf = familyConfig(p, "reinforce");
    expect(rf.env.budget).toBeUndefined();
    expect(rf.reward.costPenalty).toBe(p.costPenalty);
    expect((await solveOracle(rf)).value).toBeCloseTo(p.reference.penalised.value, 9);
    // overrides reach the config
    expect(familyConfig(p, "p3o", {}, ["algo.lr=0.005"]).algo.lr).toBe(0.005);
  });

  it("has a two-head variant: agent × tier heads, a large tier per solver, the LP over joint actions", async () => {
    const p = await familyProblem(0, { seed: 1, heads: 2 });
    const c = familyConfig(p, "macpo");
    expect(headsOf(c).map((h) => h.name)).toEqual(["agent", "tier"]);
    const solvers = c.agents.filter((a) => a.kind === "sim" && a.solve !== undefined);
    expect(solvers.length).toBeGreaterThan(0);
    for (const s of solvers) expect(s.kind === "sim" && s.tiers?.large?.costMultiplier).toBeGreaterThanOrEqual(2);
    const oracle = await solveOracle(c);
    expect(oracle.lpColumns % 2).toBe(0); // every state has #agents × 2 joint actions
    expect(oracle.value).toBeCloseTo(p.reference.constrained.value, 9);
  });
});
