/** `maestro eval <runDir>`: the last checkpoint of a run (sampled, greedy or exact), or every run of a folder in one table. */
import fs from "node:fs";
import type { Argv } from "yargs";
import { evaluateGroup, evaluateRun, formatGroupEval } from "../analysis/evaluate.js";
import { InputError } from "../core/errors.js";
import { isRunDir } from "../run/folders.js";
import { costText, fmt, helpOf, knobArg, liveArg, liveOptions, parseSeed, plural, type ArgsOf } from "./args.js";

export function builder(y: Argv) {
  return helpOf(
    y
      .positional("runDir", {
        type: "string",
        demandOption: true,
        describe: "A run folder, or a folder of runs (train --seeds group, sweep folder).",
      })
      .option("episodes", {
        type: "number",
        describe:
          "Episodes to run (default: datasets — recorded outputs, JSONL, arithmetic — every item of the held-out (test) split once; inline and simulated tasks 100).",
      })
      .option("greedy", { type: "boolean", default: false, describe: "Take the most probable agent instead of sampling." })
      .option("seed", { type: "string", coerce: parseSeed, describe: "Seed of the evaluation episodes (default: the run's seed)." })
      .option("exact", {
        type: "boolean",
        default: false,
        describe: "Simulated configs: exact expected return, success, cost and value of the stochastic policy (no sampling).",
      })
      .option("json", { type: "boolean", default: false, describe: "Print one JSON object." })
      .option("lambda", {
        type: "number",
        describe: "Budget-conditioned policies: the cost penalty λ to evaluate at (default: the middle of its range).",
      })
      .option("budget", {
        type: "number",
        describe: "Budget-conditioned policies: the budget (mean cost per task, in cost units) to evaluate at.",
      })
      .options(liveOptions),
    "eval",
    [
      ["eval runs/doa-mvp/<run> --greedy", "the last checkpoint; datasets: the whole held-out split"],
      ["eval runs/sim-budget/<run> --exact", "simulated configs: exact value, value* and value/value*"],
    ],
  );
}

export type Args = ArgsOf<typeof builder>;

export async function handler(a: Args): Promise<void> {
  if (a.episodes !== undefined && (!Number.isInteger(a.episodes) || a.episodes < 1))
    throw new InputError(`--episodes ${a.episodes}: expected a positive integer`);
  const knob = knobArg(a);
  const live = liveArg(a);
  if (live && (a.exact || !isRunDir(a.runDir)))
    throw new InputError("--live evaluates one recorded run by sampling (not --exact, not a folder of runs)");
  if (!isRunDir(a.runDir) && fs.existsSync(a.runDir) && fs.statSync(a.runDir).isDirectory()) {
    // a seed group, a sweep folder or a folder of runs: every run, one table
    if (knob) throw new InputError(`--${knob.name}: evaluates one budget-conditioned run; ${a.runDir} is a folder of runs`);
    const g = await evaluateGroup(a.runDir, {
      ...(a.episodes !== undefined ? { episodes: a.episodes } : {}),
      greedy: a.greedy,
      exact: a.exact,
      ...(a.seed !== undefined ? { seed: a.seed } : {}),
    });
    console.log(a.json ? JSON.stringify(g, null, 2) : formatGroupEval(g));
    const failed = g.rows.filter((r) => r.error);
    if (failed.length > 0) throw new Error(`${failed.length} of ${g.rows.length} runs could not be evaluated (see the table)`);
    return;
  }
  if (a.exact) return await exactEval(a.runDir, a.json);
  const r = await evaluateRun(a.runDir, {
    ...(a.episodes !== undefined ? { episodes: a.episodes } : {}),
    greedy: a.greedy,
    ...(a.seed !== undefined ? { seed: a.seed } : {}),
    ...(knob ? { knob: knob.value, knobName: knob.name } : {}),
    ...(live ? { live } : {}),
  });
  if (a.json) {
    console.log(JSON.stringify(r, null, 2));
    return;
  }
  printEval(r, live);
}

/** `--exact`: the exact value of the stochastic policy against the LP optimum (the LP solver loads only here). */
async function exactEval(runDir: string, json: boolean): Promise<void> {
  const x = await (await import("../analysis/exact.js")).exactEvaluateRun(runDir);
  if (json) {
    console.log(JSON.stringify(x, null, 2));
    return;
  }
  console.log(`backend: ${x.backend}`);
  console.log(`run: ${x.runDir} (checkpoint after update ${x.checkpointUpdate}), exact (${x.mode} problem)`);
  console.log(`objective: ${x.objective}`);
  const o = x.optimum;
  console.log(`value   ${fmt(x.value, 4)}   (${x.mode === "constrained" ? "J_R, expected task reward" : "expected reward − λ·cost"})`);
  console.log(
    `value*  ${fmt(o.value, 4)}   (the optimum, LP oracle): ${o.ratio !== null ? `value/value* = ${fmt(o.ratio, 3)}, ` : ""}gap value* − value = ${fmt(o.gap, 4)}`,
  );
  console.log(`return  ${fmt(x.return, 4)}`);
  console.log(`success ${fmt(x.success, 4)}`);
  console.log(
    `cost    ${fmt(x.cost, 4)} cost units per episode${x.budget !== null ? ` (budget ${x.budget}: ${fmt(x.cost / x.budget, 3)}·d${x.mode === "constrained" ? "" : ", not imposed"})` : ""}; the optimum's ${fmt(o.cost, 4)}`,
  );
}

/** The sampled (or greedy) evaluation of one run, and what its figures cover. */
function printEval(r: Awaited<ReturnType<typeof evaluateRun>>, live: ReturnType<typeof liveArg>): void {
  console.log(`backend: ${r.backend}`);
  // what the figures cover: the episodes, and which tasks they ran
  const t = r.tasks;
  const split =
    t.split === "test" ? "test split" : t.split === "eval" ? "held-out split" : t.split === "inline" ? "config's task list" : "";
  const cover =
    t.split === "sim"
      ? "simulated tasks"
      : t.size !== null && r.episodes === t.size
        ? `the whole ${split}: each of its ${t.size} items once`
        : t.size !== null && r.episodes < t.size
          ? `the first ${r.episodes} of the ${t.size} items of the ${split}`
          : `the ${t.size ?? t.distinct} items of the ${split}, cycled`;
  console.log(
    `run: ${r.runDir} (checkpoint after update ${r.checkpointUpdate}), ${r.greedy ? "greedy" : "sampled"}` +
      (r.knob ? `, ${r.knob.name} ${r.knob.value}` : "") +
      (live ? `, models live at ${live.baseURL}` : ""),
  );
  console.log(`over ${plural(r.episodes, "episode")} (${cover}):`);
  console.log(`return  ${fmt(r.return_mean)} ± ${fmt(r.return_std)} (mean ± std per episode)`);
  console.log(`success ${fmt(r.success_rate)} (${Math.round(r.success_rate * r.episodes)} of ${r.episodes})`);
  console.log(`cost    ${costText(r.cost_mean, r.costUnit, " per episode")}`);
  console.log(`length  ${fmt(r.ep_len_mean, 2)} steps per episode`);
  console.log(
    `agents  ${Object.entries(r.agentUsage)
      .map(([k, v]) => `${k} ${(100 * v).toFixed(1)}%`)
      .join(", ")}`,
  );
}
