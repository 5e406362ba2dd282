import type CliProgress from "cli-progress";
import { createRequire } from "node:module";
import { budgetBrief } from "./budget.js";
import type { MetricsRow } from "./metrics.js";

export interface Progress {
  update(row: MetricsRow): void;
  stop(): void;
}

/** How episode costs are shown: plain numbers, US dollars (LLM `price` mode) or TFLOPs (`compute` mode). */
export type CostUnit = "plain" | "usd" | "tflop";

/** The cost unit of a config: what its LLM cost rule measures, plain otherwise. */
export function costUnitOf(c: { llm?: { cost: { mode: "price" | "compute"; computeScale: number } } | undefined }): CostUnit {
  if (!c.llm) return "plain";
  if (c.llm.cost.mode === "price") return "usd";
  return c.llm.cost.computeScale === 1e-12 ? "tflop" : "plain";
}

/**
 * An episode cost for a progress line. LLM costs are small (a few 1e-4 USD per episode), which two
 * decimals show as 0.00: dollars get three significant digits ($0.000412), TFLOPs too (1.23 TFLOP).
 */
export function formatCost(v: number | undefined, unit: CostUnit = "plain"): string {
  if (v === undefined || Number.isNaN(v)) return "-";
  if (unit === "plain") return v.toFixed(2);
  // three significant digits, never in exponent notation
  const fixed = v.toLocaleString("en-US", { maximumSignificantDigits: 3, useGrouping: false });
  return unit === "usd" ? `$${fixed}` : `${fixed} TFLOP`;
}

/** The run's budget, shown on every line. */
export interface ProgressBudget {
  /** env.budget. */
  d?: number;
  /** Whether the trainer enforces it (a constrained trainer). */
  enforced: boolean;
}

function brief(row: MetricsRow, unit: CostUnit, budget: ProgressBudget): string {
  const f = (v: number | undefined, d: number) => (v === undefined || Number.isNaN(v) ? "-" : v.toFixed(d));
  const b = budgetBrief(row, budget.d, budget.enforced, unit === "plain" ? undefined : (v) => formatCost(v, unit));
  return `return ${f(row.return_mean, 3)}  success ${f(row.success_rate, 2)}  cost ${formatCost(row.cost_mean, unit)}${b ? "  | " + b : ""}`;
}

/**
 * Training progress: a bar on a terminal, plain periodic lines otherwise (logs, CI, pipes):
 * about ten lines per run, and always the last update. With a budget, each line also says where the run
 * stands against it (the trainer's J_C estimate / d and λ, κ or ν; see budget.ts).
 */
export function createProgress(
  total: number,
  start: number,
  stream: NodeJS.WriteStream = process.stderr,
  unit: CostUnit = "plain",
  budget: ProgressBudget = { enforced: false },
): Progress {
  if (stream.isTTY) {
    // loaded only for a terminal: quiet runs, logs and pipes do not pay for it at start-up
    const cliProgress = createRequire(import.meta.url)("cli-progress") as typeof CliProgress;
    const bar = new cliProgress.SingleBar(
      { format: "update {value}/{total} [{bar}] {percentage}% | {stats} | eta {eta_formatted}", stream, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, start, { stats: "" });
    return {
      update: (row) => bar.update(row.update!, { stats: brief(row, unit, budget) }),
      stop: () => bar.stop(),
    };
  }
  const every = Math.max(1, Math.round(total / 10));
  return {
    update: (row) => {
      const u = row.update!;
      if (u % every === 0 || u === total)
        stream.write(`update ${u}/${total}  ${brief(row, unit, budget)}  (${(row.wall_s ?? 0).toFixed(1)} s)\n`);
    },
    stop: () => {},
  };
}
