import path from "node:path";
import { describe, expect, it } from "vitest";
import type { SystemState } from "../src/core/types.js";
import { validateConfig, loadConfig, type Config } from "../src/config/index.js";
import { exactEvaluate, type PolicyProbs } from "../src/analysis/exact.js";
import { markovKey, solveOracle, type OracleResult } from "../src/analysis/oracle.js";

const root = path.resolve(import.meta.dirname, "..");

function simConfig(over: Record<string, unknown>): Config {
  return validateConfig(
    {
      name: "t",
      agents: [],
      tasks: { source: "sim", types: { any: 1 } },
      env: { maxSteps: 1 },
      reward: { successBonus: 1, failurePenalty: 0, gamma: 1 },
      encoder: { name: "features", view: "markov" },
      algo: { name: "ppo-lagrangian" },
      train: { updates: 1, episodesPerUpdate: 1 },
      ...over,
    },
    "test.yaml",
    root,
  );
}

/** The oracle's optimal policy as a table over Markov states (uniform where it is undefined). */
function tabular(c: Config, r: OracleResult): PolicyProbs {
  const names = c.agents.map((a) => a.name);
  const helpers = c.agents.filter((a) => a.kind === "sim" && a.boost).map((a) => a.name);
  const table = new Map(r.policy.map((s) => [markovKey(s.type, s.step, s.helpers), s.policy]));
  return (states: readonly SystemState[]) => {
    const out = new Float64Array(states.length * names.length);
    states.forEach((s, j) => {
      const key = markovKey(
        s.task.type!,
        s.step,
        s.history.map((t) => t.agent).filter((a) => helpers.includes(a)),
      );
      const p = table.get(key);
      names.forEach((n, a) => (out[j * names.length + a] = p ? (p[n] ?? 0) : 1 / names.length));
    });
    return out;
  };
}

describe("oracle: the closed-form constrained bandit", () => {
  // maxSteps 1; A: p = 0.9, cost 1; B: p = 0.5, cost 0; budget 0.5; successBonus 1, failurePenalty 0.
  // max 0.9x + 0.5(1 − x) s.t. x ≤ 0.5  ⇒  x = 0.5, J_R* = 0.7, J_C* = 0.5, λ* = 0.9 − 0.5 = 0.4.
  it("J_R* = 0.7, J_C* = 0.5, λ* = 0.4, policy A/B = 0.5/0.5", async () => {
    const c = loadConfig(path.join(root, "configs/sim-bandit.yaml"));
    const r = await solveOracle(c);
    expect(r.mode).toBe("constrained");
    expect(r.value).toBeCloseTo(0.7, 9);
    expect(r.taskReturn).toBeCloseTo(0.7, 9);
    expect(r.cost).toBeCloseTo(0.5, 9);
    expect(r.lambda).toBeCloseTo(0.4, 9);
    expect(r.budget).toBe(0.5);
    expect(r.budgetBinds).toBe(true);
    expect(r.policy).toHaveLength(1);
    expect(r.policy[0]!.policy.A).toBeCloseTo(0.5, 9);
    expect(r.policy[0]!.policy.B).toBeCloseTo(0.5, 9);
    // exact evaluation of that policy reproduces the optimum on the same objective
    const x = exactEvaluate(c, tabular(c, r));
    expect(x.value).toBeCloseTo(0.7, 9);
    expect(x.cost).toBeCloseTo(0.5, 9);
  });

  it("penalised problem (reinforce, fixed λ = costPenalty): value = max(0.9 − λ, 0.5)", async () => {
    const c = loadConfig(path.join(root, "configs/sim-bandit.yaml"), { sets: ["algo.name=reinforce", "reward.costPenalty=0.2"] });
    const r = await solveOracle(c);
    expect(r.mode).toBe("penalised");
    expect(r.value).toBeCloseTo(0.7, 9); // A: 0.9 − 0.2 = 0.7 > 0.5
    expect(r.cost).toBeCloseTo(1, 9);
    expect(r.lambda).toBe(0.2);
    const c2 = loadConfig(path.join(root, "configs/sim-bandit.yaml"), { sets: ["algo.name=reinforce", "reward.costPenalty=0.6"] });
    const r2 = await solveOracle(c2);
    expect(r2.value).toBeCloseTo(0.5, 9); // B: 0.5 > 0.9 − 0.6
    expect(r2.cost).toBeCloseTo(0, 9);
  });
});

describe("oracle: an episodic case solved by hand", () => {
  // maxSteps 2; S: p = 0.5, cost 1; H: cost 0.5, boosts S by +0.5; Terminator T (cost 0); budget 1.2.
  // Deterministic plans (J_C, J_R): T (0, 0); S,T (1, 0.5); S,S (1.5, 0.75); H,S (1.5, 1.0); S,H (1.5, 0.5).
  // Upper concave hull: (0,0) — (1.5, 1.0) (S,T lies below it: 0.5 < 1.2·... at J_C = 1: 0.667 > 0.5).
  // Budget 1.2 ⇒ mix H,S with prob 0.8 and T with 0.2: J_R* = 0.8, J_C* = 1.2, λ* = 1.0/1.5 = 2/3.
  const cfg = () =>
    simConfig({
      agents: [
        { name: "S", kind: "sim", cost: 1, solve: { any: 0.5 } },
        { name: "H", kind: "sim", cost: 0.5, boost: { S: 0.5 } },
        { name: "T", kind: "terminator" },
      ],
      env: { maxSteps: 2, budget: 1.2 },
    });

  it("J_R* = 0.8, J_C* = 1.2, λ* = 2/3, step-0 policy H 0.8 / T 0.2, then S", async () => {
    const c = cfg();
    const r = await solveOracle(c);
    expect(r.value).toBeCloseTo(0.8, 9);
    expect(r.cost).toBeCloseTo(1.2, 9);
    expect(r.lambda).toBeCloseTo(2 / 3, 9);
    const s0 = r.policy.find((s) => s.step === 0)!;
    expect(s0.policy.H).toBeCloseTo(0.8, 9);
    expect(s0.policy.T).toBeCloseTo(0.2, 9);
    const s1 = r.policy.find((s) => s.step === 1 && s.helpers.includes("H"))!;
    expect(s1.policy.S).toBeCloseTo(1, 9);
    expect(s1.occupancy).toBeCloseTo(0.8, 9);
    const x = exactEvaluate(c, tabular(c, r));
    expect(x.value).toBeCloseTo(0.8, 9);
    expect(x.success).toBeCloseTo(0.8, 9);
    expect(x.cost).toBeCloseTo(1.2, 9);
  });

  it("a slack budget has λ* = 0; exact evaluation of the uniform policy matches a hand sum", async () => {
    const c = simConfig({
      agents: [
        { name: "S", kind: "sim", cost: 1, solve: { any: 0.5 } },
        { name: "H", kind: "sim", cost: 0.5, boost: { S: 0.5 } },
        { name: "T", kind: "terminator" },
      ],
      env: { maxSteps: 2, budget: 5 },
    });
    const r = await solveOracle(c);
    expect(r.value).toBeCloseTo(1, 9);
    expect(r.lambda).toBeCloseTo(0, 9);
    expect(r.budgetBinds).toBe(false);
    // uniform policy: step 0 S (1/3): success 0.5, else step 1 (uniform): S 0.5, H 0, T 0 → 0.5 + 0.5·(1/3·0.5) = 0.5833…
    //                 H (1/3): step 1: S succeeds w.p. 1 → 1/3
    //                 T (1/3): 0
    // success = (1/3)(0.5 + 0.5/6) + (1/3)(1/3) = 0.30556
    const uniform: PolicyProbs = (states) => new Float64Array(states.length * 3).fill(1 / 3);
    const x = exactEvaluate(c, uniform);
    expect(x.success).toBeCloseTo((1 / 3) * (0.5 + 0.5 / 6) + 1 / 9, 12);
    // cost: S first: 1 + 0.5·(1/3·1 + 1/3·0.5) = 1.25;  H first: 0.5 + (1/3·1 + 1/3·0.5) = 1.0;  T: 0
    expect(x.cost).toBeCloseTo((1 / 3) * 1.25 + (1 / 3) * 1.0, 12);
  });

  it("the optimal policy of sim-budget.yaml reproduces the oracle value under exact evaluation", async () => {
    const c = loadConfig(path.join(root, "configs/sim-budget.yaml"));
    const r = await solveOracle(c);
    expect(r.budgetBinds).toBe(true);
    expect(r.lambda).toBeGreaterThan(0);
    const x = exactEvaluate(c, tabular(c, r));
    expect(x.value).toBeCloseTo(r.value, 9);
    expect(x.cost).toBeCloseTo(r.cost, 9);
  });
});
