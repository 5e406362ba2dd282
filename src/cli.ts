#!/usr/bin/env node
import fs from "node:fs";
import path from "node:path";
import v8 from "node:v8";
import yargs, { type Argv } from "yargs";
import { hideBin } from "yargs/helpers";
import { InputError, zodToInputError } from "./core/errors.js";
import { commandName } from "./core/invocation.js";
import { skipUnusedTfjsPackages } from "./policy/tfjs-trim.js";
import { maestroVersion } from "./run/manifest.js";
import type { OrchestrationTrace } from "./serve/orchestrate.js";
import type { CostUnit } from "./run/progress.js";

// Each command loads what it needs when it runs: start-up (and `--help`) does not pay for the LLM SDKs,
// the LP solver, BullMQ or chart.js unless the command uses them.
const load = {
  config: () => import("./config/load.js"),
  docs: () => import("./config/docs.js"),
  evaluate: () => import("./analysis/evaluate.js"),
  exact: () => import("./analysis/exact.js"),
  oracle: () => import("./analysis/oracle.js"),
  progress: () => import("./run/progress.js"),
  resume: () => import("./run/resume.js"),
  folders: () => import("./run/folders.js"),
  train: () => import("./plots/with-plots.js"),
  multiSeed: () => import("./sweep/multiSeed.js"),
  sweep: () => import("./sweep/command.js"),
  queue: () => import("./sweep/queue.js"),
  orchestrate: () => import("./serve/orchestrate.js"),
  serve: () => import("./serve/server.js"),
  plots: () => import("./plots/command.js"),
  curve: () => import("./plots/curve.js"),
  keys: () => import("./serve/keys.js"),
  limits: () => import("./serve/limits.js"),
  launcher: () => import("./run/launcher.js"),
};

/**
 * A --seed value: a non-negative integer, as the config's `seed` field takes. yargs would turn
 * "abc" into NaN and 1e400 into Infinity, and every request or episode would then share one stream.
 */
function parseSeed(v: unknown): number {
  const s = String(Array.isArray(v) ? v[v.length - 1] : v).trim();
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n)) throw new InputError(`--seed ${s}: expected a non-negative integer (at most ${Number.MAX_SAFE_INTEGER})`);
  return n;
}

/** A non-negative number of seconds for an option. */
function seconds(name: string): (v: unknown) => number {
  return (v) => {
    const n = Number(v);
    if (!(Number.isFinite(n) && n > 0)) throw new InputError(`--${name} ${String(v)}: expected a positive number of seconds`);
    return n;
  };
}

/** The --lambda / --budget value of a budget-conditioned policy (at most one of them). */
function knobArg(a: { lambda?: number; budget?: number }): { name: "lambda" | "budget"; value: number } | undefined {
  if (a.lambda !== undefined && a.budget !== undefined) throw new InputError("give --lambda or --budget, not both");
  if (a.lambda !== undefined) return { name: "lambda", value: a.lambda };
  if (a.budget !== undefined) return { name: "budget", value: a.budget };
  return undefined;
}

/** Keeps a started sim-server (simulated or replaying) up until SIGINT/SIGTERM, then closes it and exits 0. */
function serveUntilSignal(server: { close(): Promise<unknown>; stats: { requests: number } }): Promise<never> {
  const stop = () => {
    void server.close().then(() => {
      console.log(`sim-server: stopped after ${server.stats.requests} requests`);
      process.exit(0);
    });
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return new Promise<never>(() => undefined);
}

/** The --live endpoint of a recorded run (with --live-api-key-env), if given. */
function liveArg(a: { live?: string; liveApiKeyEnv?: string }): { baseURL: string; apiKeyEnv?: string } | undefined {
  if (a.live === undefined) {
    if (a.liveApiKeyEnv !== undefined) throw new InputError("--live-api-key-env names the API key of the --live endpoint; give --live URL too");
    return undefined;
  }
  return { baseURL: a.live, ...(a.liveApiKeyEnv !== undefined ? { apiKeyEnv: a.liveApiKeyEnv } : {}) };
}

const liveOptions = {
  live: {
    type: "string",
    describe: "Recorded runs: ask each recorded model live at this OpenAI-compatible base URL (your provider, or `maestro sim-server --replay`), same prices and answer form (docs/replay.md).",
  },
  "live-api-key-env": { type: "string", describe: "--live: environment variable holding the endpoint's API key (none: no key, e.g. a local server)." },
} as const;

function checkKnobName(want: { name: string } | undefined, has: { name: string } | undefined, runDir: string): void {
  if (want && has && want.name !== has.name) {
    throw new InputError(`${runDir}: the policy is conditioned on its ${has.name}, not a ${want.name}: use --${has.name}`);
  }
}

/** One or two examples and the command's docs page, shown by `<command> --help`, in the form the user invoked. */
function helpOf<T>(y: Argv<T>, section: string, examples: Array<[string, string]>): Argv<T> {
  const cmd = commandName();
  for (const [args, what] of examples) y.example(`${cmd} ${args}`, what);
  return y.epilogue(`Docs: docs/cli.md#${section} in the maestro repository (all commands: docs/cli.md).`);
}

/** `1 step`, `2 steps`. */
function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** A cost with its unit: dollars or TFLOPs for LLM runs, else the agents' own cost units. */
function costText(v: number | undefined, unit: CostUnit, what = ""): string {
  if (v === undefined || Number.isNaN(v)) return "-";
  if (unit === "usd") return `$${v.toLocaleString("en-US", { maximumSignificantDigits: 3, useGrouping: false })}${what}`;
  if (unit === "tflop") return `${v.toLocaleString("en-US", { maximumSignificantDigits: 3, useGrouping: false })} TFLOP${what}`;
  return `${fmt(v)} cost units${what}`;
}

function printTrace(t: OrchestrationTrace, unit: CostUnit): void {
  console.log(`task ${t.task.id}: ${t.task.prompt.replace(/\s+/g, " ").slice(0, 160)}`);
  for (const s of t.steps) {
    const tok = s.tokensIn + s.tokensOut > 0 ? `  tokens ${s.tokensIn}+${s.tokensOut}` : "";
    const flags = `${s.cached ? "  [cached]" : ""}${s.error ? "  [error]" : ""}`;
    const ans = s.answer !== undefined ? `  answer ${s.answer}` : "";
    const opts = s.options ? ` [${Object.entries(s.options).map(([k, v]) => `${k} ${v}`).join(", ")}]` : "";
    console.log(`  ${String(s.step).padStart(2)}. ${s.agent}${s.model ? ` (${s.model})` : ""}${opts}${tok}  cost ${s.cost.toPrecision(3)}${ans}${flags}`);
    if (s.excerpt && s.excerpt !== "TERMINATE") console.log(`      ${s.excerpt}`);
  }
  const verdict =
    t.success === undefined ? "" : t.task.answer === undefined ? (t.success ? "  (solved)" : "  (not solved)") : t.success ? "  (correct)" : `  (wrong; expected ${t.task.answer})`;
  // simulated tasks have no answers, only an outcome
  console.log(t.finalAnswer === undefined && t.task.answer === undefined && t.success !== undefined ? `  outcome:${verdict}` : `  final answer: ${t.finalAnswer ?? "(none)"}${verdict}`);
  const ended = t.endedBy === "maxSteps" ? "reached env.maxSteps" : t.endedBy === "terminator" ? `ended by the terminator (${t.endedByAgent})` : `solved by ${t.endedByAgent}`;
  console.log(`  ${ended}, ${plural(t.steps.length, "step")}, ${plural(t.tokens, "token")}, cost ${costText(t.cost, unit)}`);
}

async function loadTaskFile(file: string) {
  const { defaultFieldMap, loadJsonlTasks } = await import("./tasks/jsonl.js");
  return loadJsonlTasks(file, defaultFieldMap, { requireAnswer: false });
}

function fmt(v: number | undefined, digits = 3): string {
  if (v === undefined || Number.isNaN(v)) return "-";
  // tiny non-zero values (LLM costs in USD) would print as 0.000
  return v !== 0 && Math.abs(v) < 10 ** -digits ? v.toExponential(2) : v.toFixed(digits);
}

/**
 * V8 grows the young generation from 1 to 16 MiB per semi-space as soon as allocation picks up, which a run's
 * start-up (tfjs, the first updates, the plots) does: ~25 MiB of peak memory that a short run never uses.
 * The young generation keeps its starting size for the first 1.5 s, then may grow as usual (a longer run's
 * scavenges stay as cheap as before). Measured on configs/doa-mvp.yaml with plots: peak RSS 151–158 → 124–131
 * MiB, CPU time unchanged (scripts/bench-startup-vs-doa.mjs --baseline).
 */
function smallYoungGenerationAtStart(): void {
  v8.setFlagsFromString("--semi-space-growth-factor=1");
  setTimeout(() => v8.setFlagsFromString("--semi-space-growth-factor=2"), 1500).unref();
}

async function main(): Promise<void> {
  smallYoungGenerationAtStart();
  skipUnusedTfjsPackages();
  // seed and sweep runs in child processes print resume hints in the form the user typed
  process.env.MAESTRO_COMMAND = commandName();
  await yargs(hideBin(process.argv))
    .scriptName("maestro")
    // the package's own version (yargs alone would look for a package.json from the working directory)
    .version(maestroVersion())
    .usage("$0 <command> [options]")
    .command(
      "train [config]",
      "Train an orchestrator from a YAML config (or continue a run with --resume).",
      (y) =>
        helpOf(
          y
            .positional("config", { type: "string", describe: "Path to the experiment config (YAML)." })
            .option("set", { type: "string", array: true, default: [], describe: "Override a config field: --set algo.lr=3e-4 (with --resume: train.updates, checkpointing, log.* and LLM limits only)" })
            .option("seed", { type: "string", coerce: parseSeed, describe: "Override the config's seed." })
            .option("run-dir", { type: "string", describe: "Write the run here instead of runs/<name>/<timestamp>-seed<k>/." })
            .option("resume", { type: "string", describe: "Continue the run in this folder from its last checkpoint (extend a finished one with --set train.updates=N)." })
            .option("quiet", { type: "boolean", default: false, describe: "No progress output." })
            .option("seeds", { type: "number", describe: "Run N seeds (seed, seed+1, ...) in parallel child processes; --run-dir is then their parent folder." })
            .option("workers", { type: "number", describe: "Parallel child processes for --seeds (default: number of cores)." }),
          "train",
          [["train configs/doa-mvp.yaml", "train the DOA MVP; the run folder is printed (run: …)"], ["train configs/doa-mvp.yaml --seed 3 --set algo.lr=3e-4 --set train.updates=100", "override fields"], ["train --resume runs/doa-mvp/<run> --set train.updates=100", "extend a finished run exactly"]],
        ),
      async (a) => {
        // from the start: a launcher killed while the run is set up must stop this process too
        (await load.launcher()).exitWithLauncher("maestro train");
        if (!a.resume && !a.config) throw new InputError("maestro train: give a config file or --resume <runDir>");
        if (a.resume) {
          // a resumed run continues its own config.yaml exactly; silently dropping these would mislead
          const extra = [
            a.config !== undefined && "a config file",
            a.seed !== undefined && "--seed",
            a.runDir !== undefined && "--run-dir",
            a.seeds !== undefined && "--seeds",
          ].filter(Boolean);
          if (extra.length > 0) {
            throw new InputError(
              `maestro train --resume ${a.resume}: ${extra.join(", ")} cannot be combined with --resume (the run continues with the config.yaml in its folder; --set may extend it: --set train.updates=N)`,
            );
          }
          const plan = (await load.resume()).planResume(a.resume, a.set as string[]);
          if (plan.completed) {
            console.log(
              `run: ${a.resume} is finished (${plan.done} of ${plan.config.train.updates} updates); nothing to do, nothing changed. ` +
                `To train it further: ${commandName()} train --resume ${a.resume} --set train.updates=<more than ${plan.done}>`,
            );
            return;
          }
        }
        if (a.seeds !== undefined) {
          if (!Number.isInteger(a.seeds) || a.seeds < 1) throw new InputError(`--seeds ${a.seeds}: expected a positive integer`);
          if (a.resume) throw new InputError("--seeds cannot be combined with --resume (resume each seed's folder)");
          const r = await (await load.multiSeed()).trainSeeds({
            config: a.config!,
            sets: a.set as string[],
            seeds: a.seeds,
            quiet: a.quiet,
            ...(a.seed !== undefined ? { seed: a.seed } : {}),
            ...(a.runDir ? { runDir: a.runDir } : {}),
            ...(a.workers !== undefined ? { workers: a.workers } : {}),
          });
          for (const x of r.results) {
            const f = x.summary?.finalWindow;
            console.log(`${x.key}: ${x.status} ${x.runDir}` + (f ? ` — final return ${fmt(f.return_mean)}, success ${fmt(f.success_rate, 2)}, cost ${fmt(f.cost_mean)}` : "") + (x.error ? ` — ${x.error} (log: ${x.logFile})` : ""));
          }
          const g = r.summary.final;
          const ci = (k: string, d = 3) => (g[k] ? `${fmt(g[k]!.mean, d)} [${fmt(g[k]!.lo, d)}, ${fmt(g[k]!.hi, d)}]` : "-");
          console.log(
            `${r.summary.name} × ${r.results.length} seeds: final return ${ci("return_mean")}, success ${ci("success_rate", 2)}, cost ${ci("cost_mean")} ` +
              `(mean across ${g.return_mean?.n ?? 0} completed seeds [95% CI] of each run's mean over its last 10% of updates)`,
          );
          console.log(`summary: ${path.join(r.groupDir, "summary.json")}`);
          if (r.plot) console.log(`plot: ${r.plot}`);
          const failed = r.results.filter((x) => x.status !== "completed").length;
          if (failed > 0) throw new Error(`${failed} of ${r.results.length} seeds failed`);
          return;
        }
        const { loadConfig, constrainedAlgos } = await load.config();
        const { costUnitOf, createProgress, formatCost } = await load.progress();
        const config = a.resume ? undefined : loadConfig(a.config!, { sets: a.set as string[], seed: a.seed });
        if (config) for (const w of (await import("./config/recorded.js")).recordedWarnings(config)) console.error(`warning: ${w}`);
        let progress: ReturnType<typeof createProgress> | undefined;
        let warnedLlm = false;
        let endpoints: string[] = [];
        const { modelSettings } = await import("./config/models.js");
        let unit: ReturnType<typeof costUnitOf> = "plain";
        // Ctrl-C / SIGTERM: save a checkpoint and summary.json (interrupted), exit 130 / 143; a second one exits at once
        const interrupt = new AbortController();
        const onSignal = (sig: NodeJS.Signals) => {
          if (interrupt.signal.aborted) process.exit(sig === "SIGINT" ? 130 : 143);
          progress?.stop();
          console.error(`\n${sig}: stopping after saving the run's state (${sig === "SIGINT" ? "Ctrl-C" : sig} again to quit at once)`);
          interrupt.abort(sig);
        };
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
        const summary = await (await load.train()).trainWithPlots({
          signal: interrupt.signal,
          ...(config ? { config } : {}),
          ...(a.runDir ? { runDir: a.runDir } : {}),
          ...(a.resume ? { resumeDir: a.resume, resumeSets: a.set as string[] } : {}),
          onStart: (info) => {
            console.log(`backend: ${info.backend}`);
            console.log(
              `run: ${info.runDir}` + (info.resumedFrom !== undefined ? ` (resumed after update ${info.resumedFrom})` : ""),
            );
            for (const w of info.warnings) console.error(`warning: ${w}`);
            unit = costUnitOf(info.config);
            endpoints = [...new Set(Object.values(modelSettings(info.config)).map((m) => m.baseURL ?? `the ${m.provider} API's default URL`))];
            const enforced = constrainedAlgos.includes(info.config.algo.name);
            if (!a.quiet) progress = createProgress(info.totalUpdates, info.resumedFrom ?? 0, process.stderr, unit, { d: info.config.env.budget, enforced });
          },
          onUpdate: (row) => {
            progress?.update(row);
            // failed LLM calls do not stop a run; say so, so that a missing server is noticed early
            if ((row.llm_errors ?? 0) > 0 && !warnedLlm) {
              warnedLlm = true;
              console.error(
                `\nwarning: ${row.llm_errors} of ${row.llm_calls} LLM calls failed in update ${row.update} ` +
                  `(error turns; see "error" in episodes.jsonl turns and the llm_errors column). Is the LLM server at ${endpoints.join(", ")} up? ` +
                  `(a local simulated one: ${commandName()} sim-server)`,
              );
            }
          },
        });
        progress?.stop();
        if (summary.status === "interrupted") {
          const sig = interrupt.signal.reason as NodeJS.Signals;
          console.error(`interrupted after ${summary.updates} updates; state saved in ${summary.runDir} (summary.json status "interrupted")`);
          console.error(`continue with: ${commandName()} train --resume ${summary.runDir}`);
          process.exitCode = sig === "SIGTERM" ? 143 : 130;
          return;
        }
        // "final" = the final window (mean of the last 10% of updates), as in summary.json, seeds, sweeps and eval
        const f = summary.finalWindow;
        const b = summary.budget;
        const { finalWindowSize } = await import("./run/metrics.js");
        const w = finalWindowSize(summary.updates);
        const m = b ? Object.entries(b.multiplier).map(([k, v]) => `, ${k} ${fmt(v)}`).join("") : "";
        console.log(
          `done: ${summary.updates} updates, ${summary.episodes} episodes in ${summary.wall_s.toFixed(2)} s — ` +
            `final ${b?.enforced ? "task return" : "return"} ${fmt(f?.return_mean)}, success ${fmt(f?.success_rate, 2)}, cost ${unit === "plain" ? fmt(f?.cost_mean) : formatCost(f?.cost_mean, unit)} ` +
            `(mean of the last ${w} update${w > 1 ? "s" : ""})` +
            (b ? `; budget d ${b.d}: ${b.enforced ? `J_C ${fmt(b.windowJc)} = ${fmt(b.windowJcOverD)}·d${m}` : "not enforced"}` : ""),
        );
        const sp = summary.trainingSpend;
        if (sp) {
          console.log(
            `training spend (response cache on): $${sp.usd.toFixed(4)} for ${sp.calls} distinct calls = ${(100 * sp.share).toFixed(1)}% of the full training table ($${sp.tableUsd.toFixed(4)}, ${sp.tableCalls} calls)`,
          );
        }
        console.log(`summary: ${summary.runDir}/summary.json`);
      },
    )
    .command(
      "eval <runDir>",
      "Evaluate the last checkpoint of a run, or of every run in a seed-group or sweep folder (one table).",
      (y) =>
        helpOf(
          y
            .positional("runDir", { type: "string", demandOption: true, describe: "A run folder, or a folder of runs (train --seeds group, sweep folder)." })
            .option("episodes", {
              type: "number",
              describe: "Episodes to run (default: datasets — recorded outputs, JSONL, arithmetic — every item of the held-out (test) split once; inline and simulated tasks 100).",
            })
            .option("greedy", { type: "boolean", default: false, describe: "Take the most probable agent instead of sampling." })
            .option("seed", { type: "string", coerce: parseSeed, describe: "Seed of the evaluation episodes (default: the run's seed)." })
            .option("exact", {
              type: "boolean",
              default: false,
              describe: "Simulated configs: exact expected return, success, cost and value of the stochastic policy (no sampling).",
            })
            .option("json", { type: "boolean", default: false, describe: "Print one JSON object." })
            .option("lambda", { type: "number", describe: "Budget-conditioned policies: the cost penalty λ to evaluate at (default: the middle of its range)." })
            .option("budget", { type: "number", describe: "Budget-conditioned policies: the budget (mean cost per task, in cost units) to evaluate at." })
            .options(liveOptions),
          "eval",
          [["eval runs/doa-mvp/<run> --greedy", "the last checkpoint; datasets: the whole held-out split"], ["eval runs/sim-budget/<run> --exact", "simulated configs: exact value, value* and value/value*"]],
        ),
      async (a) => {
        if (a.episodes !== undefined && (!Number.isInteger(a.episodes) || a.episodes < 1)) throw new InputError(`--episodes ${a.episodes}: expected a positive integer`);
        const knob = knobArg(a);
        const live = liveArg(a);
        if (live && (a.exact || !(await load.folders()).isRunDir(a.runDir))) throw new InputError("--live evaluates one recorded run by sampling (not --exact, not a folder of runs)");
        if (!(await load.folders()).isRunDir(a.runDir) && fs.existsSync(a.runDir) && fs.statSync(a.runDir).isDirectory()) {
          // a seed group, a sweep folder or a folder of runs: every run, one table
          if (knob) throw new InputError(`--${knob.name}: evaluates one budget-conditioned run; ${a.runDir} is a folder of runs`);
          const ev = await load.evaluate();
          const g = await ev.evaluateGroup(a.runDir, { ...(a.episodes !== undefined ? { episodes: a.episodes } : {}), greedy: a.greedy, exact: a.exact, ...(a.seed !== undefined ? { seed: a.seed } : {}) });
          console.log(a.json ? JSON.stringify(g, null, 2) : ev.formatGroupEval(g));
          const failed = g.rows.filter((r) => r.error);
          if (failed.length > 0) throw new Error(`${failed.length} of ${g.rows.length} runs could not be evaluated (see the table)`);
          return;
        }
        if (a.exact) {
          const x = await (await load.exact()).exactEvaluateRun(a.runDir);
          if (a.json) {
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
          return;
        }
        const r = await (await load.evaluate()).evaluateRun(a.runDir, {
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
        console.log(`backend: ${r.backend}`);
        // what the figures cover: the episodes, and which tasks they ran
        const t = r.tasks;
        const split = t.split === "test" ? "test split" : t.split === "eval" ? "held-out split" : t.split === "inline" ? "config's task list" : "";
        const cover =
          t.split === "sim"
            ? "simulated tasks"
            : t.size !== null && r.episodes === t.size
              ? `the whole ${split}: each of its ${t.size} items once`
              : t.size !== null && r.episodes < t.size
                ? `the first ${r.episodes} of the ${t.size} items of the ${split}`
                : `the ${t.size ?? t.distinct} items of the ${split}, cycled`;
        console.log(
          `run: ${r.runDir} (checkpoint after update ${r.checkpointUpdate}), ${r.greedy ? "greedy" : "sampled"}` + (r.knob ? `, ${r.knob.name} ${r.knob.value}` : "") + (live ? `, models live at ${live.baseURL}` : ""),
        );
        console.log(`over ${plural(r.episodes, "episode")} (${cover}):`);
        console.log(`return  ${fmt(r.return_mean)} ± ${fmt(r.return_std)} (mean ± std per episode)`);
        console.log(`success ${fmt(r.success_rate)} (${Math.round(r.success_rate * r.episodes)} of ${r.episodes})`);
        console.log(`cost    ${costText(r.cost_mean, r.costUnit, " per episode")}`);
        console.log(`length  ${fmt(r.ep_len_mean, 2)} steps per episode`);
        console.log(`agents  ${Object.entries(r.agentUsage).map(([k, v]) => `${k} ${(100 * v).toFixed(1)}%`).join(", ")}`);
      },
    )
    .command(
      "sweep <file>",
      "Run a hyperparameter sweep (grid or random search × seeds) locally in parallel child processes, or on a Redis/BullMQ queue.",
      (y) =>
        helpOf(
          y
            .positional("file", { type: "string", demandOption: true, describe: "The sweep file (YAML)." })
            .option("workers", { type: "number", describe: "Parallel child processes (default: number of cores)." })
            .option("runs-dir", { type: "string", default: "runs", describe: "Parent folder of the sweep folder runs/<sweep>/." })
            .option("queue", { type: "string", describe: "Enqueue the trials on this Redis (redis://host:port) for `maestro worker`s instead of running them here." })
            .option("quiet", { type: "boolean", default: false, describe: "No progress output." })
            .option("dry-run", { type: "boolean", default: false, describe: "Validate the sweep and list its trials; run and write nothing." }),
          "sweep-and-worker",
          [["sweep configs/sweeps/doa-random.yaml --dry-run", "validate and list the trials"], ["sweep configs/sweeps/doa-random.yaml --workers 2", "run them in 2 child processes"]],
        ),
      async (a) => {
        await (await load.sweep()).sweepCommand(a.file, { runsDir: a.runsDir, quiet: a.quiet, dryRun: a.dryRun, ...(a.workers !== undefined ? { workers: a.workers } : {}), ...(a.queue ? { queue: a.queue } : {}) });
      },
    )
    .command(
      "worker",
      "Run sweep trials from a Redis/BullMQ queue (filled by `maestro sweep <file> --queue ...`) until stopped with Ctrl-C.",
      (y) =>
        helpOf(
          y
            .option("queue", { type: "string", demandOption: true, describe: "The Redis URL, redis://host:port." })
            .option("runs-dir", { type: "string", default: "runs", describe: "Where this worker writes run folders (<runs-dir>/<sweep>/<trialId>/seed<k>/)." })
            .option("workers", { type: "number", describe: "Child processes per trial for its seeds (default: number of cores)." })
            .option("concurrency", { type: "number", default: 1, describe: "Trials this worker runs at the same time." })
            .option("grace", { type: "number", default: 10, describe: "Seconds to wait for the running trial and Redis on SIGINT/SIGTERM before exiting anyway." })
            .option("stall-timeout", {
              type: "number",
              default: 30,
              describe: "Seconds after which a trial whose worker died (no lock renewal) is given to another worker, as a stalled attempt.",
            }),
          "sweep-and-worker",
          [["worker --queue redis://127.0.0.1:6379", "run trials that `sweep --queue` enqueued"]],
        ),
      async (a) => {
        (await load.launcher()).exitWithLauncher("maestro worker");
        const { startWorker, stopWorker } = await load.queue();
        const w = startWorker({
          url: a.queue,
          runsDir: a.runsDir,
          concurrency: a.concurrency,
          stallTimeoutMs: Math.max(1000, a.stallTimeout * 1000),
          ...(a.workers !== undefined ? { workers: a.workers } : {}),
        });
        // signals are handled before Redis answers: a worker waiting for an unreachable Redis still stops
        const stopped = new Promise<NodeJS.Signals>((resolve) => {
          process.once("SIGINT", () => resolve("SIGINT"));
          process.once("SIGTERM", () => resolve("SIGTERM"));
        });
        void w.waitUntilReady().then(
          () => console.log(`worker: waiting for trials on ${a.queue} (runs go to ${a.runsDir}/)`),
          () => undefined,
        );
        const sig = await stopped;
        console.error(`worker: ${sig}: stopping (waiting up to ${a.grace} s for the running trial and Redis)`);
        if (!(await stopWorker(w, a.grace * 1000))) {
          console.error(`worker: not stopped cleanly within ${a.grace} s (Redis unreachable or a trial still running); exiting — an interrupted trial is retried by another worker`);
          process.exitCode = 1;
        }
      },
    )
    .command(
      "plot <dirs..>",
      "Plot run folders, folders of seeds (mean and 95% band) or a sweep folder (curves and Pareto front) as PNG.",
      (y) =>
        helpOf(
          y
            .positional("dirs", { type: "string", array: true, demandOption: true, describe: "Run, seed-group or sweep folders." })
            .option("metric", { type: "string", describe: "metrics.csv column to plot (default: return, success, cost)." })
            .option("out", { type: "string", describe: "Output PNG (default: in the first folder's plots/)." }),
          "plot",
          [["plot runs/doa-mvp/<run>", "learning curve and structure of one run"], ["plot runs/doa-3seeds --metric success_rate", "a seed group: mean and 95% band"]],
        ),
      async (a) => {
        await (await load.plots()).plotCommand(a.dirs as string[], { ...(a.metric ? { metric: a.metric } : {}), ...(a.out ? { out: a.out } : {}) });
      },
    )
    .command(
      "orchestrate",
      "Run a trained orchestrator on new tasks and print the trace (agent per step, output excerpt, tokens, cost, final answer).",
      (y) =>
        helpOf(
          y
            .option("run", { type: "string", demandOption: true, describe: "Run folder of a trained orchestrator." })
            .option("task", { type: "string", array: true, describe: "A task text (repeatable)." })
            .option("tasks", { type: "string", describe: "A JSONL file of tasks ({id, prompt, answer?, type?} per line)." })
            .option("task-type", { type: "string", array: true, describe: "Simulated runs (tasks.source: sim): a simulated task of this type (repeatable)." })
            .option("greedy", { type: "boolean", default: true, describe: "Take the most probable agent (--no-greedy samples)." })
            .option("seed", { type: "string", coerce: parseSeed, describe: "Seed of the sampling streams (default: the run's seed)." })
            .option("set", { type: "string", array: true, default: [], describe: "Override a field of the run's config, e.g. --set llm.baseURL=..." })
            .option("json", { type: "boolean", default: false, describe: "Print the traces as JSON." })
            .option("lambda", { type: "number", describe: "Budget-conditioned policies: the operating point as a cost penalty λ (in the run's cost units)." })
            .option("budget", { type: "number", describe: "Budget-conditioned policies: the operating point as a budget (mean cost per task, in the run's cost units)." })
            .options(liveOptions),
          "orchestrate",
          [["orchestrate --run runs/llm-arithmetic/<run> --task \"What is 17 * 23?\"", "trace of one task"], ["orchestrate --run runs/sim-budget/<run> --task-type easy --json", "simulated runs: a task of a type"]],
        ),
      async (a) => {
        const knob = knobArg(a);
        const live = liveArg(a);
        const tasks = [
          ...((a.task as string[] | undefined) ?? []),
          ...(a.tasks ? await loadTaskFile(a.tasks) : []),
        ];
        const types = (a.taskType as string[] | undefined) ?? [];
        if (tasks.length === 0 && types.length === 0) throw new InputError("maestro orchestrate: give --task \"...\", --tasks file.jsonl or, for a simulated run, --task-type <type>");
        const orch = await (await load.orchestrate()).loadOrchestrator(a.run, { ...(a.seed !== undefined ? { seed: a.seed } : {}), sets: a.set as string[], ...(live ? { live } : {}) });
        try {
          if (types.length > 0) tasks.push(...orch.simTasks(types));
          checkKnobName(knob, orch.knob, a.run);
          const traces = await orch.solveMany(tasks, { greedy: a.greedy, ...(knob ? { knob: knob.value } : {}) });
          if (a.json) {
            console.log(JSON.stringify(traces, null, 2));
            return;
          }
          console.log(`backend: ${orch.backend}`);
          console.log(
            `run: ${a.run} (checkpoint after update ${orch.checkpointUpdate}), ${a.greedy ? "greedy" : "sampled"}` +
              (knob ? `, ${knob.name} ${knob.value} (cost unit ${orch.costUnit.toPrecision(4)})` : ""),
          );
          const unit = (await load.progress()).costUnitOf(orch.config);
                    for (const t of traces) printTrace(t, unit);
          // every call of a task rejected upstream (e.g. a prompt the replay server lacks): say so, fail
          const { episodeRejection } = await load.orchestrate();
          const rejected = traces.map((t) => episodeRejection(t)).filter((m): m is string => m !== undefined);
          for (const m of rejected) console.error(`error: ${m}`);
          if (rejected.length > 0) process.exitCode = 1;
          const judged = traces.filter((t) => t.success !== undefined);
          if (traces.length > 1) {
            const cost = traces.reduce((s, t) => s + t.cost, 0) / traces.length;
            const acc = judged.length > 0 ? `accuracy ${(judged.filter((t) => t.success).length / judged.length).toFixed(3)} over ${judged.length}, ` : "";
            console.log(`${traces.length} tasks: ${acc}mean cost ${costText(cost, unit, " per task")}`);
          }
        } finally {
          orch.dispose();
        }
      },
    )
    .command(
      "serve <runDir>",
      "Serve a trained orchestrator as an OpenAI-compatible endpoint (POST /v1/chat/completions, GET /v1/models, /health, /metrics).",
      (y) =>
        helpOf(
          y
            .positional("runDir", { type: "string", demandOption: true, describe: "Run folder of a trained orchestrator." })
            .option("port", { type: "number", default: 8000, describe: "Port (0 = any free port)." })
            .option("host", { type: "string", default: "127.0.0.1", describe: "Interface to listen on; off loopback only with API keys (--keys / --api-key-env) or --insecure-no-auth." })
            .option("keys", { type: "string", describe: "API keys file (npx maestro keys create --file FILE): requests need `Authorization: Bearer <key>`; per-key budgets and limits." })
            .option("api-key-env", { type: "string", describe: "Name of an environment variable holding one API key (no limits); never put a key on the command line." })
            .option("redis", { type: "string", describe: "Keep the keys' spend, rate windows and concurrency in this Redis (redis://host:port), shared by every replica; default: this process, spend in <keys>.usage.json." })
            .option("insecure-no-auth", { type: "boolean", default: false, describe: "DANGEROUS: serve off loopback without API keys; anyone who reaches the port spends this run's LLM budget." })
            .option("allowed-host", { type: "string", array: true, default: [], describe: "A Host-header name clients use (a DNS name of this server or its proxy), besides loopback names (repeatable; '*' turns the check off)." })
            .option("cors-origin", { type: "string", array: true, default: [], describe: "A browser origin allowed to call the endpoint (CORS; repeatable). Default: none." })
            .option("metrics-public", { type: "boolean", default: false, describe: "With keys: serve /metrics without a key (it shows key ids and spend, never keys)." })
            .option("body-timeout", { type: "number", default: 30, coerce: seconds("body-timeout"), describe: "Seconds a client has to send a whole request (headers and body); else 408." })
            .option("grace", { type: "number", default: 30, coerce: seconds("grace"), describe: "On SIGTERM/SIGINT: seconds requests in flight may take before they are cancelled and connections closed." })
            .option("seed", { type: "string", coerce: parseSeed, describe: "Seed of greedy requests without a seed (default: the run's seed); sampled requests without one use seed + k." })
            .option("concurrency", { type: "number", describe: "Episodes run at once, more wait in line (default: the run's llm.maxConcurrency)." })
            .option("body-limit", { type: "number", default: 1048576, describe: "Largest request body in bytes." })
            .option("log-level", { type: "string", default: "info", choices: ["fatal", "error", "warn", "info", "debug", "silent"], describe: "Request log (JSON lines on stderr)." })
            .option("set", { type: "string", array: true, default: [], describe: "Override a field of the run's config, e.g. --set llm.baseURL=..." })
            .options(liveOptions),
          "serve",
          [["serve runs/llm-arithmetic/<run> --port 8000", "OpenAI-compatible endpoint on 127.0.0.1:8000"]],
        ),
      async (a) => {
        // from the start: a launcher killed while the run loads must stop this process too
        (await load.launcher()).exitWithLauncher("maestro serve");
        const live = liveArg(a);
        if (a.concurrency !== undefined && (!Number.isInteger(a.concurrency) || a.concurrency < 1)) throw new InputError(`--concurrency ${a.concurrency}: expected a positive integer`);
        if (!Number.isInteger(a.bodyLimit) || a.bodyLimit < 1) throw new InputError(`--body-limit ${a.bodyLimit}: expected a positive integer (bytes)`);
        if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) throw new InputError(`--port ${a.port}: expected an integer from 0 to 65535`);
        const { KeyRing, readKeysFile } = await load.keys();
        const { LocalLimitStore, RedisLimitStore, usageFileOf } = await load.limits();
        let envKey: { name: string; value: string } | undefined;
        if (a.apiKeyEnv !== undefined) {
          const value = process.env[a.apiKeyEnv];
          if (!value || value.length < 16) throw new InputError(`--api-key-env ${a.apiKeyEnv}: the environment variable is ${value ? "shorter than 16 characters (too easy to guess)" : "not set"}`);
          envKey = { name: a.apiKeyEnv, value };
        }
        if (a.keys) readKeysFile(a.keys); // a bad keys file fails here, naming the file and the field
        if (a.redis && !a.keys && !envKey) throw new InputError("--redis keeps the spend and limits of API keys: give --keys FILE too");
        const keys = a.keys || envKey ? new KeyRing(a.keys, envKey) : undefined;
        if (keys) keys.onReloadError = (m) => console.error(`maestro serve: ${m}; keeping the keys read before`);
        if (a.insecureNoAuth && keys) throw new InputError("--insecure-no-auth cannot be combined with --keys or --api-key-env");
        const limits = a.redis ? await RedisLimitStore.open(a.redis) : a.keys ? await LocalLimitStore.open(usageFileOf(a.keys)) : undefined;
        let s: Awaited<ReturnType<Awaited<ReturnType<typeof load.serve>>["serveRun"]>>;
        try {
          s = await (await load.serve()).serveRun(a.runDir, {
          host: a.host,
          port: a.port,
          bodyLimit: a.bodyLimit,
          bodyTimeoutMs: a.bodyTimeout * 1000,
          graceMs: a.grace * 1000,
          insecureNoAuth: a.insecureNoAuth,
          allowedHosts: a.allowedHost as string[],
          corsOrigins: a.corsOrigin as string[],
          metricsPublic: a.metricsPublic,
          ...(keys ? { keys } : {}),
          ...(limits ? { limits } : {}),
          logLevel: a.logLevel as "info",
          sets: a.set as string[],
          ...(a.seed !== undefined ? { seed: a.seed } : {}),
          ...(a.concurrency !== undefined ? { concurrency: a.concurrency } : {}),
          ...(live ? { live } : {}),
          });
        } catch (e) {
          await limits?.close();
          throw e;
        }
        const o = s.orchestrator;
        console.log(`backend: ${o.backend}`);
        console.log(`maestro serve: listening on ${s.url} (OpenAI base URL ${s.url}/v1, model "maestro")`);
        console.log(`run: ${a.runDir} (checkpoint after update ${o.checkpointUpdate}), agents ${o.agentNames.join(", ")}, ${s.concurrency} episodes at once`);
        if (live) console.log(`live: the recorded models are asked at ${live.baseURL}`);
        if (keys) {
          const n = keys.records.filter((k) => !k.revoked).length + (envKey ? 1 : 0);
          console.log(`keys: ${n} valid key(s)${a.keys ? ` from ${a.keys}` : ""}${envKey ? ` (and $${envKey.name})` : ""}; spend and limits ${a.redis ? "in Redis" : a.keys ? `in ${usageFileOf(a.keys)}` : "in memory"}`);
        } else if (a.insecureNoAuth) {
          console.error(`maestro serve: WARNING: --insecure-no-auth: ${a.host} is served without API keys; anyone who can reach port ${new URL(s.url).port} spends this run's LLM budget`);
        }
        await new Promise<void>((resolve) => {
          const stop = (signal: string) => {
            console.log(`maestro serve: ${signal}, finishing ${s.inFlight} request(s) in flight (up to ${a.grace} s; again to stop now)`);
            process.once(signal, () => process.exit(1));
            void s.close().then(resolve);
          };
          process.once("SIGINT", () => stop("SIGINT"));
          process.once("SIGTERM", () => stop("SIGTERM"));
        });
        console.log("maestro serve: stopped");
      },
    )
    .command(
      "keys <action>",
      "Manage the API keys of `maestro serve --keys FILE`: create (prints the key once), list, revoke.",
      (y) =>
        y
          .positional("action", { type: "string", choices: ["create", "list", "revoke"], demandOption: true })
          .option("file", { type: "string", default: "keys.json", describe: "The keys file (holds SHA-256 hashes of the keys, never the keys)." })
          .option("id", { type: "string", describe: "create/revoke: the key's name, shown in /metrics and logs (letters, digits, . _ -)." })
          .option("budget", { type: "number", describe: "create: spend allowed per period, in the run's cost units ($ for priced LLM runs)." })
          .option("period", { type: "string", choices: ["day", "week", "month", "total"], default: "month", describe: "create: the budget period (UTC), or total." })
          .option("rpm", { type: "number", describe: "create: requests allowed in any 60 s window." })
          .option("concurrency", { type: "number", describe: "create: requests of this key answered at the same time." })
          .option("redis", { type: "string", describe: "list: read the spend from this Redis (servers started with --redis) instead of the usage file." })
          .option("json", { type: "boolean", default: false, describe: "list: print JSON." }),
      async (a) => {
        const k = await load.keys();
        if (a.action === "create") {
          if (!a.id) throw new InputError("maestro keys create: give --id <name> (what /metrics and logs call the key)");
          for (const [name, v] of [["budget", a.budget], ["rpm", a.rpm], ["concurrency", a.concurrency]] as const) {
            if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new InputError(`--${name} ${v}: expected a positive number`);
          }
          const { key, record } = k.createKey(a.file, {
            id: a.id,
            period: a.period as "month",
            ...(a.budget !== undefined ? { budget: a.budget } : {}),
            ...(a.rpm !== undefined ? { rpm: a.rpm } : {}),
            ...(a.concurrency !== undefined ? { concurrency: a.concurrency } : {}),
          });
          // the key goes to stdout alone (scripts capture it); everything else to stderr
          console.error(
            `created key "${record.id}" in ${a.file}` +
              (record.budget !== null ? `, budget ${record.budget} per ${record.period === "total" ? "lifetime" : record.period}` : ", no budget") +
              (record.rpm !== null ? `, ${record.rpm} requests/min` : "") +
              (record.concurrency !== null ? `, ${record.concurrency} at once` : "") +
              ". It is shown only now: the file keeps its hash.",
          );
          console.log(key);
          return;
        }
        if (a.action === "revoke") {
          if (!a.id) throw new InputError("maestro keys revoke: give --id <name>");
          const r = k.revokeKey(a.file, a.id);
          console.log(`revoked key "${r.id}" in ${a.file} (a running server refuses it within a second)`);
          return;
        }
        const f = k.readKeysFile(a.file);
        const lim = await load.limits();
        const callers = f.keys.map((x) => ({ id: x.id, budget: x.budget, period: x.period, rpm: x.rpm, concurrency: x.concurrency }));
        let spent: Record<string, number>;
        if (a.redis) {
          const store = await lim.RedisLimitStore.open(a.redis);
          try {
            spent = await store.spent(callers);
          } finally {
            await store.close();
          }
        } else {
          const usage = lim.readUsage(lim.usageFileOf(a.file));
          spent = Object.fromEntries(callers.map((c) => [c.id, usage[c.id]?.period === lim.periodLabel(c.period) ? usage[c.id]!.amount : 0]));
        }
        const rows = f.keys.map((x) => ({ id: x.id, key: `mk-…${x.last4}`, created: x.created, revoked: x.revoked, budget: x.budget, period: x.period, spent: spent[x.id] ?? 0, rpm: x.rpm, concurrency: x.concurrency }));
        if (a.json) {
          console.log(JSON.stringify(rows, null, 2));
          return;
        }
        if (rows.length === 0) {
          console.log(`${a.file}: no keys (create one with: npx maestro keys create --file ${a.file} --id <name>)`);
          return;
        }
        console.log(`${"id".padEnd(16)} ${"key".padEnd(9)} ${"status".padEnd(8)} ${"spent / budget".padEnd(24)} ${"rpm".padStart(6)} ${"at once".padStart(7)}  created`);
        for (const r of rows) {
          const budget = r.budget === null ? `${fmt(r.spent, 4)} (no budget)` : `${fmt(r.spent, 4)} / ${r.budget} per ${r.period}`;
          console.log(
            `${r.id.padEnd(16)} ${r.key.padEnd(9)} ${(r.revoked ? "revoked" : "valid").padEnd(8)} ${budget.padEnd(24)} ${String(r.rpm ?? "-").padStart(6)} ${String(r.concurrency ?? "-").padStart(7)}  ${r.created}`,
          );
        }
      },
    )
    .command(
      "curve <runDirs..>",
      "Runs on recorded outputs: the cost–quality curve on the test split (a budget-conditioned policy sweeps its knob; several plain runs are joined into one curve) on both cost axes (RouteLLM's APGR and CPT on strong calls, APGR$ on $), the baselines, and flags where it falls below one on the axis it was trained for; writes curve.csv, curve.json and curve.png.",
      (y) =>
        helpOf(
          y
            .positional("runDirs", { type: "string", array: true, demandOption: true, describe: "A run folder (or several runs of non-conditioned policies on the same data and split)." })
            .option("points", { type: "number", default: 21, describe: "Knob values swept (evenly spaced; up to as many more fill gaps in the x axis)." })
            .option("split", { type: "string", choices: ["test", "val"], default: "test", describe: "Evaluate on the test split (reported figures) or the validation split (for tuning)." })
            .option("out", { type: "string", describe: "Folder for curve.csv, curve.json, curve.png (default: <runDir>/curve/)." })
            .option("tolerance", { type: "number", default: 0.005, describe: "Accuracy margin under which a baseline above the learned curve (on the axis it was trained for) is not flagged." })
            .option("json", { type: "boolean", default: false, describe: "Print one JSON object (apgr, cpt50, cpt80, points, baselines, ...)." }),
          "curve",
          [["curve runs/gsm8k-cascade/<run>", "test-split curve, APGR, CPT and baselines"], ["curve runs/gsm8k-router/<run> --split val --json", "validation split, as JSON"]],
        ),
      async (a) => {
        const { curveCommand } = await load.curve();
        const { result: res, files, unfinished } = await curveCommand(a.runDirs as string[], {
          points: a.points,
          split: a.split as "test" | "val",
          tolerance: a.tolerance,
          ...(a.out ? { out: a.out } : {}),
        });
        if (a.json) {
          console.log(JSON.stringify(res, null, 2));
          return;
        }
        for (const w of unfinished) console.log(`warning: ${w}`);
        if ("kind" in res) {
          (await import("./plots/pool-table.js")).printPoolCurve(res, unfinished);
          console.log(`wrote ${files.csv}, ${files.json}, ${files.png}`);
          return;
        }
        (await import("./plots/pair-table.js")).printPairCurve(res, unfinished, a.runDirs.length);
        console.log(`wrote ${files.csv}, ${files.json}, ${files.png}`);
      },
    )
    .command(
      "sim-server",
      "Start the simulated OpenAI-compatible (and Anthropic Messages) LLM server on 127.0.0.1, or with --replay serve recorded answers (docs/replay.md).",
      (y) =>
        helpOf(
          y
            .option("port", { type: "number", default: 8787, describe: "Port (0 = any free port)." })
            .option("config", { type: "string", describe: "YAML/JSON file: seed, skill table, per-model skill, latency and faults." })
            .option("replay", {
              type: "string",
              array: true,
              describe: "Recorded-output files or globs (CSV or JSONL, as tasks.file): answer each model's recorded reply to the prompt asked (docs/replay.md).",
            })
            .option("tokenizer", { type: "string", choices: ["cl100k_base", "o200k_base"], default: "cl100k_base", describe: "--replay: tokenizer counting the tokens a record does not state (as tasks.tokenizer)." })
            .option("prompt-overhead-tokens", { type: "number", default: 0, describe: "--replay: added to counted prompt tokens (as tasks.promptOverheadTokens)." })
            .example("$0 sim-server --replay data/routellm/gsm8k/gsm8k_responses.csv --port 8788", "Serve RouteLLM's recorded GSM8K answers as models mistralai/Mixtral-8x7B-Instruct-v0.1 and gpt-4-1106-preview"),
          "sim-server",
          [["sim-server --port 8787", "then point llm.baseURL at http://127.0.0.1:8787/v1"]],
        ),
      async (a) => {
        (await load.launcher()).exitWithLauncher("maestro sim-server");
        const replay = a.replay as string[] | undefined;
        if (replay !== undefined) {
          if (a.config) throw new InputError("sim-server: --config configures the simulated models; --replay serves recorded answers: give one of them");
          const { resolveRecordedFiles } = await import("./config/recorded.js");
          const files = resolveRecordedFiles(replay, process.cwd(), "sim-server", "--replay");
          const server = await (await import("./llm/replay-server.js")).startReplayServer({
            files,
            port: a.port,
            tokenizer: a.tokenizer as "cl100k_base",
            promptOverheadTokens: a.promptOverheadTokens,
          });
          for (const w of server.warnings) console.log(`warning: ${w}`);
          console.log(`sim-server: replaying ${server.table.items.length} recorded items of ${files.length} file(s) on ${server.url} (OpenAI-compatible: ${server.url}/v1)`);
          console.log(`models: ${server.table.models.join(", ")}`);
          return await serveUntilSignal(server);
        }
        let config = {};
        if (a.config) {
          const { readYamlFile } = await import("./agents/loader.js");
          const parsed = (await import("./llm/sim-server.js")).simServerConfigSchema.safeParse(readYamlFile(a.config));
          if (!parsed.success) throw zodToInputError(a.config, parsed.error);
          config = parsed.data;
        }
        const server = await (await import("./llm/sim-server.js")).startSimServer({ port: a.port, config });
        console.log(`sim-server: listening on ${server.url} (OpenAI-compatible: ${server.url}/v1, Anthropic: ${server.url})`);
        console.log(`models: ${Object.keys(server.config.models).join(", ")}; roles: ${Object.keys(server.config.roles).join(", ")}`);
        await serveUntilSignal(server);
      },
    )
    .command(
      "oracle <config>",
      "Simulated configs: the exact optimum (occupancy-measure LP solved with HiGHS) — J_R*, J_C*, λ* and the optimal policy.",
      (y) =>
        helpOf(
          y
            .positional("config", { type: "string", demandOption: true, describe: "Path to a simulated experiment config (YAML)." })
            .option("set", { type: "string", array: true, default: [], describe: "Override a config field: --set env.budget=2" })
            .option("json", { type: "boolean", default: false, describe: "Print one JSON object." }),
          "oracle",
          [["oracle configs/sim-budget.yaml", "J_R*, J_C*, λ* and the optimal policy"], ["oracle configs/sim-budget.yaml --set env.budget=2 --json", "another budget, as JSON"]],
        ),
      async (a) => {
        const config = (await load.config()).loadConfig(a.config, { sets: a.set as string[] });
        const r = await (await load.oracle()).solveOracle(config, a.config);
        if (a.json) {
          console.log(JSON.stringify(r, null, 2));
          return;
        }
        console.log(`${a.config}: ${r.mode} problem, LP with ${r.lpColumns} columns and ${r.lpRows} rows (HiGHS)`);
        console.log(`objective: ${r.objective}`);
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
      "import <source> <paths..>",
      "Import recorded model outputs into maestro's recorded-output JSONL (source: zeroeval, ZeroEval result files graded with ZeroEval's rule).",
      (y) =>
        y
          .positional("source", { type: "string", choices: ["zeroeval"] as const, demandOption: true, describe: "The format of the files." })
          .positional("paths", { type: "string", array: true, demandOption: true, describe: "Result files (<model>.json) or folders of them." })
          .option("out", { type: "string", demandOption: true, describe: "Output file (.jsonl, or .jsonl.gz for gzip); written atomically." })
          .option("models", { type: "string", describe: "Comma-separated models (file names without .json) to import, in this order (default: all)." })
          .option("tokenizer", { type: "string", choices: ["cl100k_base", "o200k_base"] as const, default: "cl100k_base" as const, describe: "Tokenizer counting the tokens in and out of each call." })
          .option("type", { type: "string", describe: "Task type of the items (default: the files' dataset field, else the folder name)." }),
      async (a) => {
        const z = await import("./tasks/zeroeval.js");
        const models = a.models?.split(",").map((m) => m.trim()).filter((m) => m !== "");
        const r = z.importZeroEval({ files: z.zeroEvalFiles(a.paths as string[]), tokenizer: a.tokenizer, ...(models ? { models } : {}), ...(a.type ? { type: a.type } : {}) });
        const bytes = z.writeRecordedJsonl(a.out, r.items);
        console.log(z.zeroEvalSummaryTable(r.models));
        console.log(`wrote ${r.items.length} items × ${r.models.length} models to ${a.out} (${(bytes / 1e6).toFixed(1)} MB)`);
      },
    )
    .command(
      "config",
      "Print the config reference (every field, its type, default and meaning) as Markdown.",
      (y) =>
        helpOf(y,
          "config-and-completion",
          [["config > config-reference.md", "every field: type, default, meaning"]],
        ),
      async () => {
        console.log((await load.docs()).configReference());
      },
    )
    .completion("completion", "Print a shell completion script (bash/zsh): npx maestro completion >> ~/.bashrc")
    .example(`${commandName()} train configs/doa-mvp.yaml`, "train the DOA MVP")
    .example(`${commandName()} <command> --help`, "a command's options, examples and docs page")
    .epilogue("Docs: docs/cli.md in the maestro repository (a section per command).")
    .demandCommand(1, "Give a command: train, eval, curve, oracle, orchestrate, serve, keys, sweep, worker, plot, sim-server, import, config or completion (see --help).")
    .recommendCommands()
    .strict()
    .fail((msg, err, y) => {
      // a coerce check (--seed, --grace, ...) reaches here wrapped in yargs' YError: a bad option, exit 2
      if (err) throw err.name === "YError" ? new InputError(err.message) : err;
      // recommendCommands() says only "Did you mean train?": name what was typed
      const typed = hideBin(process.argv)[0];
      console.error(`${msg?.startsWith("Did you mean") ? `Unknown command "${typed}". ${msg}` : msg}\n`);
      y.showHelp();
      throw new UsageFailure(msg ?? "usage");
    })
    .help()
    .parseAsync();
}

/** Thrown by the yargs failure handler once it has printed its message: exit code 2, nothing more to say. */
class UsageFailure extends Error {}

/**
 * Exits once stdout and stderr have handed everything written to them to the OS. A pipe takes 64 KiB at a
 * time and Node writes the rest asynchronously, so a bare process.exit() cut `--json | python -m json.tool`
 * short; a write callback runs only after the writes queued before it.
 */
function exitWhenFlushed(code: number): void {
  process.exitCode = code;
  let left = 2;
  const done = () => {
    if (--left === 0) process.exit(code);
  };
  for (const s of [process.stdout, process.stderr]) {
    if (s.destroyed || !s.writable) done();
    else s.write("", () => done());
  }
}

// a reader that stops early (`| head`) closes the pipe: stop quietly instead of an EPIPE stack trace
for (const s of [process.stdout, process.stderr]) {
  s.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
}

main()
  // exit once the command is done: idle keep-alive sockets of the LLM SDKs must not hold the process
  .then(() => exitWhenFlushed(typeof process.exitCode === "number" ? process.exitCode : 0))
  .catch((e: unknown) => {
    if (e instanceof UsageFailure) return exitWhenFlushed(2);
    if (e instanceof InputError) {
      console.error(`error: ${e.message}`);
      return exitWhenFlushed(2);
    }
    // an OS error nobody wrapped: still say which operation on which path
    const os = e as NodeJS.ErrnoException;
    if (e instanceof Error && typeof os.code === "string" && os.syscall && !e.message.startsWith("cannot ")) {
      console.error(`error: ${os.syscall}${os.path ? ` ${os.path}` : ""} failed: ${e.message} (set MAESTRO_DEBUG=1 for the stack)`);
    } else console.error(e instanceof Error ? `error: ${e.message}` : e);
    if (process.env.MAESTRO_DEBUG && e instanceof Error) console.error(e.stack);
    return exitWhenFlushed(1);
  });
