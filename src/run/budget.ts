/**
 * Where a budgeted run stands: the budget d, the cost estimate against it and the
 * constraint's multiplier — for progress lines and summary.json.
 */
import { mean } from "../core/math.js";
import { constrainedAlgos, type Config } from "../config/schema.js";
import { finalWindowSize, type MetricsRow } from "./metrics.js";

/** The multiplier columns a constrained trainer logs: λ, κ, ν of the CPO step (per head for macpo). */
export function multipliers(row: MetricsRow): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(row)) {
    if ((k === "lambda" || k === "kappa" || k === "nu" || k.endsWith("_nu")) && Number.isFinite(v)) out[k] = v;
  }
  return out;
}

const symbol = (k: string) => (k === "lambda" ? "λ" : k === "kappa" ? "κ" : k === "nu" ? "ν" : `ν_${k.slice(0, -3)}`);

/**
 * The budget part of a progress line: `J_C 2.41 / d 2.5 = 0.96  λ 0.13` for a constrained trainer
 * (J_C = the trainer's own estimate, column jc), `cost 3.10 / d 2.5 = 1.24 (not enforced)` for a
 * budget-blind one; "" without a budget. `money` formats costs in a unit (USD, TFLOP: progress.ts
 * formatCost); plain costs get three decimals.
 */
export function budgetBrief(row: MetricsRow, d: number | undefined, enforced: boolean, money?: (v: number) => string): string {
  if (d === undefined) return "";
  const jc = enforced && row.jc !== undefined ? row.jc : row.cost_mean;
  if (jc === undefined || Number.isNaN(jc)) return "";
  const m = Object.entries(multipliers(row))
    .map(([k, v]) => `${symbol(k)} ${v.toPrecision(3)}`)
    .join(" ");
  const cost = money ?? ((v: number) => v.toFixed(3));
  const dText = money ? money(d) : String(d);
  return enforced
    ? `J_C ${cost(jc)} / d ${dText} = ${(jc / d).toFixed(3)}${m ? "  " + m : ""}`
    : `cost ${cost(jc)} / d ${dText} = ${(jc / d).toFixed(3)} (budget not enforced)`;
}

export interface BudgetStatus {
  /** The budget d (env.budget). */
  d: number;
  /** Whether the trainer enforces it (a constrained trainer) or only sees it (reinforce, ppo). */
  enforced: boolean;
  /** The last update's cost estimate: the trainer's J_C (constrained trainers), else the batch's mean episode cost. */
  jc: number;
  jcOverD: number;
  /** The same averaged over the final window (metrics.ts finalWindow, as summary.json's finalWindow). */
  windowJc: number;
  windowJcOverD: number;
  /** The constraint's multiplier after the last update: lambda, kappa, nu (per head: <head>_nu). */
  multiplier: Record<string, number>;
}

/** The budget block of summary.json, or undefined when the config has no budget. */
export function budgetStatus(c: Config, rows: readonly MetricsRow[]): BudgetStatus | undefined {
  const d = c.env.budget;
  if (d === undefined || rows.length === 0) return undefined;
  const enforced = constrainedAlgos.includes(c.algo.name);
  const est = (r: MetricsRow) => (enforced && r.jc !== undefined ? r.jc : r.cost_mean!);
  const last = rows[rows.length - 1]!;
  const win = rows.slice(-finalWindowSize(rows.length));
  const jc = est(last);
  const windowJc = mean(win.map(est));
  return { d, enforced, jc, jcOverD: jc / d, windowJc, windowJcOverD: windowJc / d, multiplier: multipliers(last) };
}
