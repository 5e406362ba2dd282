import type { ModelSettings, TokenUsage } from "./types.js";

/**
 * How token usage becomes the step cost c_t; the run's config.yaml records the choice.
 * - `price`: input·inputPricePerM/1e6 + output·outputPricePerM/1e6 (currency units, e.g. USD).
 * - `compute`: Puppeteer's compute proxy, FLOPs ≈ 2 · parameters · tokens (Dang et al. 2025, §3.2),
 *   times `computeScale` (default 1e-12: TFLOPs); with `logStepPhi` = φ set, scaled by log(1 + t/φ)
 *   where t is the 1-based step index, so later steps cost more (Puppeteer's step-aware cost term).
 */
export interface CostSettings {
  mode: "price" | "compute";
  computeScale: number;
  logStepPhi?: number;
}

export function usageCost(usage: TokenUsage, model: ModelSettings, c: CostSettings, step: number): number {
  if (c.mode === "price") {
    return (usage.inputTokens * model.inputPricePerM + usage.outputTokens * model.outputPricePerM) / 1e6;
  }
  const tokens = usage.inputTokens + usage.outputTokens;
  let cost = 2 * model.paramsB * 1e9 * tokens * c.computeScale;
  if (c.logStepPhi !== undefined) cost *= Math.log(1 + (step + 1) / c.logStepPhi);
  return cost;
}
