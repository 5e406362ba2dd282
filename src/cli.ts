#!/usr/bin/env node
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { InputError } from "./core/errors.js";
import { loadConfig } from "./experiment/config.js";
import { configReference } from "./experiment/docs.js";
import { evaluateRun } from "./experiment/evaluate.js";
import { exactEvaluateRun } from "./experiment/exact.js";
import { solveOracle } from "./experiment/oracle.js";
import { createProgress } from "./experiment/progress.js";
import { train } from "./experiment/train.js";

function fmt(v: number | undefined, digits = 3): string {
  return v === undefined || Number.isNaN(v) ? "-" : v.toFixed(digits);
}

async function main(): Promise<void> {
  await yargs(hideBin(process.argv))
    .scriptName("maestro")
    .usage("$0 <command> [options]")
    .command(
      "train [config]",
      "Train an orchestrator from a YAML config (or continue a run with --resume).",
      (y) =>
        y
          .positional("config", { type: "string", describe: "Path to the experiment config (YAML)." })
          .option("set", { type: "string", array: true, default: [], describe: "Override a config field: --set algo.lr=3e-4" })
          .option("seed", { type: "number", describe: "Override the config's seed." })
          .option("run-dir", { type: "string", describe: "Write the run here instead of runs/<name>/<timestamp>-seed<k>/." })
          .option("resume", { type: "string", describe: "Continue the run in this folder from its last checkpoint." })
          .option("quiet", { type: "boolean", default: false, describe: "No progress output." }),
      async (a) => {
        if (!a.resume && !a.config) throw new InputError("maestro train: give a config file or --resume <runDir>");
        const config = a.resume ? undefined : loadConfig(a.config!, { sets: a.set as string[], seed: a.seed });
        let progress: ReturnType<typeof createProgress> | undefined;
        const summary = await train({
          ...(config ? { config } : {}),
          ...(a.runDir ? { runDir: a.runDir } : {}),
          ...(a.resume ? { resumeDir: a.resume } : {}),
          onStart: (info) => {
            console.log(`backend: ${info.backend}`);
            console.log(
              `run: ${info.runDir}` + (info.resumedFrom !== undefined ? ` (resumed after update ${info.resumedFrom})` : ""),
            );
            if (!a.quiet) progress = createProgress(info.totalUpdates, info.resumedFrom ?? 0);
          },
          onUpdate: (row) => progress?.update(row),
        });
        progress?.stop();
        const f = summary.final;
        console.log(
          `done: ${summary.updates} updates, ${summary.episodes} episodes in ${summary.wall_s.toFixed(2)} s — ` +
            `final return ${fmt(f?.return_mean)}, success ${fmt(f?.success_rate, 2)}, cost ${fmt(f?.cost_mean)}`,
        );
        console.log(`summary: ${summary.runDir}/summary.json`);
      },
    )
    .command(
      "eval <runDir>",
      "Evaluate the last checkpoint of a run.",
      (y) =>
        y
          .positional("runDir", { type: "string", demandOption: true })
          .option("episodes", { type: "number", default: 100, describe: "Episodes to run." })
          .option("greedy", { type: "boolean", default: false, describe: "Take the most probable agent instead of sampling." })
          .option("seed", { type: "number", describe: "Seed of the evaluation episodes (default: the run's seed)." })
          .option("exact", {
            type: "boolean",
            default: false,
            describe: "Simulated configs: exact expected return, success, cost and value of the stochastic policy (no sampling).",
          })
          .option("json", { type: "boolean", default: false, describe: "Print one JSON object." }),
      async (a) => {
        if (a.exact) {
          const x = await exactEvaluateRun(a.runDir);
          if (a.json) {
            console.log(JSON.stringify(x, null, 2));
            return;
          }
          console.log(`backend: ${x.backend}`);
          console.log(`run: ${x.runDir} (checkpoint after update ${x.checkpointUpdate}), exact (${x.mode} problem)`);
          console.log(`value   ${fmt(x.value, 4)}`);
          console.log(`return  ${fmt(x.return, 4)}`);
          console.log(`success ${fmt(x.success, 4)}`);
          console.log(`cost    ${fmt(x.cost, 4)}${x.budget !== null ? ` (budget ${x.budget})` : ""}`);
          return;
        }
        const r = await evaluateRun(a.runDir, { episodes: a.episodes, greedy: a.greedy, ...(a.seed !== undefined ? { seed: a.seed } : {}) });
        if (a.json) {
          console.log(JSON.stringify(r, null, 2));
          return;
        }
        console.log(`backend: ${r.backend}`);
        console.log(`run: ${r.runDir} (checkpoint after update ${r.checkpointUpdate}), ${r.episodes} episodes, ${r.greedy ? "greedy" : "sampled"}`);
        console.log(`return  ${fmt(r.return_mean)} ± ${fmt(r.return_std)}`);
        console.log(`success ${fmt(r.success_rate)}`);
        console.log(`cost    ${fmt(r.cost_mean)}`);
        console.log(`length  ${fmt(r.ep_len_mean, 2)}`);
        console.log(`agents  ${Object.entries(r.agentUsage).map(([k, v]) => `${k} ${(100 * v).toFixed(1)}%`).join(", ")}`);
      },
    )
    .command(
      "oracle <config>",
      "Simulated configs: the exact optimum (occupancy-measure LP solved with HiGHS) — J_R*, J_C*, λ* and the optimal policy.",
      (y) =>
        y
          .positional("config", { type: "string", demandOption: true, describe: "Path to a simulated experiment config (YAML)." })
          .option("set", { type: "string", array: true, default: [], describe: "Override a config field: --set env.budget=2" })
          .option("json", { type: "boolean", default: false, describe: "Print one JSON object." }),
      async (a) => {
        const config = loadConfig(a.config, { sets: a.set as string[] });
        const r = await solveOracle(config, a.config);
        if (a.json) {
          console.log(JSON.stringify(r, null, 2));
          return;
        }
        console.log(`${a.config}: ${r.mode} problem, LP with ${r.lpColumns} columns and ${r.lpRows} rows (HiGHS)`);
        console.log(`value  ${fmt(r.value, 6)}   (${r.mode === "constrained" ? "J_R*, expected task reward" : "expected reward − λ·cost"})`);
        console.log(`J_R*   ${fmt(r.taskReturn, 6)}`);
        console.log(`J_C*   ${fmt(r.cost, 6)}${r.budget !== null ? ` (budget ${r.budget}${r.mode === "constrained" ? (r.budgetBinds ? ", binds" : ", slack") : ", not imposed"})` : ""}`);
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
      },
    )
    .command(
      "config",
      "Print the config reference (every field, its type, default and meaning) as Markdown.",
      (y) => y,
      () => {
        console.log(configReference());
      },
    )
    .demandCommand(1, "Give a command: train, eval, oracle or config (see --help).")
    .strict()
    .fail((msg, err, y) => {
      if (err) throw err;
      console.error(`${msg}\n`);
      y.showHelp();
      process.exit(2);
    })
    .help()
    .parseAsync();
}

main().catch((e: unknown) => {
  if (e instanceof InputError) {
    console.error(`error: ${e.message}`);
    process.exit(2);
  }
  console.error(e instanceof Error ? `error: ${e.message}` : e);
  if (process.env.MAESTRO_DEBUG && e instanceof Error) console.error(e.stack);
  process.exit(1);
});
