import cliProgress from "cli-progress";
import { budgetBrief } from "./budget.js";
import type { MetricsRow } from "./metrics.js";

export interface Progress {
  update(row: MetricsRow): void;
  stop(): void;
}

/** The run's budget, shown on every line (issue 14). */
export interface ProgressBudget {
  /** env.budget. */
  d?: number;
  /** Whether the trainer enforces it (a constrained trainer). */
  enforced: boolean;
}

function brief(row: MetricsRow, budget: ProgressBudget): string {
  const f = (v: number | undefined, d: number) => (v === undefined || Number.isNaN(v) ? "-" : v.toFixed(d));
  const b = budgetBrief(row, budget.d, budget.enforced);
  return `return ${f(row.return_mean, 3)}  success ${f(row.success_rate, 2)}  cost ${f(row.cost_mean, 2)}${b ? "  | " + b : ""}`;
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
  budget: ProgressBudget = { enforced: false },
): Progress {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: "update {value}/{total} [{bar}] {percentage}% | {stats} | eta {eta_formatted}", stream, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, start, { stats: "" });
    return {
      update: (row) => bar.update(row.update!, { stats: brief(row, budget) }),
      stop: () => bar.stop(),
    };
  }
  const every = Math.max(1, Math.round(total / 10));
  return {
    update: (row) => {
      const u = row.update!;
      if (u % every === 0 || u === total) stream.write(`update ${u}/${total}  ${brief(row, budget)}  (${(row.wall_s ?? 0).toFixed(1)} s)\n`);
    },
    stop: () => {},
  };
}
