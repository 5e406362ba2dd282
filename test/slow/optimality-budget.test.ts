import { describe, expect, it } from "vitest";
import { trainAndScore } from "./optimality-helpers.js";

// The constrained trainers on configs/sim-budget.yaml (two task types, cheap/strong solver, planner,
// Terminator, maxSteps 3, binding budget). Every run uses the config's documented defaults and seed.
describe("sim-budget.yaml: trainers vs the LP optimum", () => {
  it.each(["ppo-lagrangian", "p3o"])("%s reaches J_R ≥ 0.95·J_R* with J_C ≤ 1.05·d", async (algo) => {
    const { oracle, exact } = await trainAndScore("configs/sim-budget.yaml", [`algo.name=${algo}`]);
    expect(oracle.mode).toBe("constrained");
    expect(oracle.budgetBinds).toBe(true);
    expect(exact.taskReturn).toBeGreaterThanOrEqual(0.95 * oracle.value);
    expect(exact.cost).toBeLessThanOrEqual(1.05 * oracle.budget!);
  });

  it("P3O with a fixed κ below the multiplier the budget needs violates it (why κ follows a dual estimate by default)", async () => {
    const { oracle, exact, summary } = await trainAndScore("configs/sim-budget.yaml", [
      "algo.name=p3o",
      "algo.p3o.kappaSchedule=fixed",
      "algo.p3o.kappa=0.02",
    ]);
    // κ multiplies the cost in budget units (c/d): the LP's λ* (reward per unit of cost) is λ*·d there
    expect(0.02).toBeLessThan(oracle.lambda * oracle.budget!);
    expect(exact.cost).toBeGreaterThan(1.05 * oracle.budget!);
    // the penalty was active (J_C > d) and still lost against the reward
    expect(summary.finalWindow!.penalty_active).toBeGreaterThan(0.5);
  });
});
