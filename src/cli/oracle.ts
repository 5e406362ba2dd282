/** `maestro oracle <config>`: the exact optimum of a simulated config (occupancy-measure LP, HiGHS). */
import type { Argv } from "yargs";
import { solveOracle } from "../analysis/oracle.js";
import { loadConfig } from "../config/load.js";
import { fmt, helpOf, type ArgsOf } from "./args.js";

export function builder(y: Argv) {
  return helpOf(
    y
      .positional("config", { type: "string", demandOption: true, describe: "Path to a simulated experiment config (YAML)." })
      .option("set", { type: "string", array: true, default: [], describe: "Override a config field: --set env.budget=2" })
      .option("json", { type: "boolean", default: false, describe: "Print one JSON object." }),
    "oracle",
    [
      ["oracle configs/sim-budget.yaml", "J_R*, J_C*, λ* and the optimal policy"],
      ["oracle configs/sim-budget.yaml --set env.budget=2 --json", "another budget, as JSON"],
    ],
  );
}

export type Args = ArgsOf<typeof builder>;

export async function handler(a: Args): Promise<void> {
  const config = loadConfig(a.config, { sets: a.set as string[] });
  const r = await solveOracle(config, a.config);
  if (a.json) {
    console.log(JSON.stringify(r, null, 2));
    return;
  }
  console.log(`${a.config}: ${r.mode} problem, LP with ${r.lpColumns} columns and ${r.lpRows} rows (HiGHS)`);
  console.log(`objective: ${r.objective}`);
  console.log(`value  ${fmt(r.value, 6)}   (${r.mode === "constrained" ? "J_R*, expected task reward" : "expected reward − λ·cost"})`);
  console.log(`J_R*   ${fmt(r.taskReturn, 6)}`);
  console.log(
    `J_C*   ${fmt(r.cost, 6)}${r.budget !== null ? ` (budget ${r.budget}${r.mode === "constrained" ? (r.budgetBinds ? ", binds" : ", slack") : ", not imposed"})` : ""}`,
  );
  console.log(`success ${fmt(r.success, 6)}`);
  console.log(`lambda ${fmt(r.lambda, 6)}   (${r.mode === "constrained" ? "λ*, dual of the budget row" : "fixed reward.costPenalty"})`);
  console.log("optimal policy (states the optimal policy reaches):");
  for (const s of r.policy) {
    const acts = Object.entries(s.policy)
      .filter(([, p]) => p > 1e-9)
      .map(([n, p]) => `${n} ${p.toFixed(3)}`)
      .join(", ");
    console.log(`  ${s.type} step ${s.step} helpers {${s.helpers.join(",")}} (occupancy ${s.occupancy.toFixed(4)}): ${acts}`);
  }
}
