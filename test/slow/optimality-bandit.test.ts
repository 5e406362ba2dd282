import { describe, expect, it } from "vitest";
import { trainAndScore } from "./optimality-helpers.js";

// The trainers on configs/sim-bandit.yaml (the closed-form bandit: J_R* = 0.7, λ* = 0.4).
describe("sim-bandit.yaml: trainers vs the LP optimum", () => {
  it("ppo-lagrangian reaches J_R ≥ 0.95·J_R*, J_C ≤ 1.05·d, and its final λ is within 25% of λ*·d", async () => {
    const { oracle, exact, summary } = await trainAndScore("configs/sim-bandit.yaml", ["algo.name=ppo-lagrangian"]);
    expect(oracle.lambda).toBeCloseTo(0.4, 9);
    expect(exact.taskReturn).toBeGreaterThanOrEqual(0.95 * oracle.value);
    expect(exact.cost).toBeLessThanOrEqual(1.05 * oracle.budget!);
    // the trainer's λ multiplies the cost in budget units (c/d): the LP's λ* = 0.4 per unit of cost is λ*·d = 0.2 there
    const lambda = summary.final!.lambda!;
    const target = oracle.lambda * oracle.budget!;
    expect(Math.abs(lambda - target)).toBeLessThanOrEqual(0.25 * target);
  });

  it("p3o reaches J_R ≥ 0.95·J_R* with J_C ≤ 1.05·d", async () => {
    const { oracle, exact } = await trainAndScore("configs/sim-bandit.yaml", ["algo.name=p3o"]);
    expect(exact.taskReturn).toBeGreaterThanOrEqual(0.95 * oracle.value);
    expect(exact.cost).toBeLessThanOrEqual(1.05 * oracle.budget!);
  });

  it("REINFORCE on the penalised reward (fixed λ = reward.costPenalty = 0.2) reaches ≥ 0.95 of the penalised optimum", async () => {
    const { oracle, exact } = await trainAndScore("configs/sim-bandit.yaml", ["algo.name=reinforce"]);
    expect(oracle.mode).toBe("penalised");
    expect(oracle.value).toBeGreaterThan(0);
    expect(exact.value).toBeGreaterThanOrEqual(0.95 * oracle.value);
  });
});
