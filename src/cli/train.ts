/**
 * `maestro train`: one run from a config (with progress and the closing summary line), several seeds in
 * child processes (--seeds, with their table), or a run continued from its last checkpoint (--resume).
 */
import path from "node:path";
import type { Argv } from "yargs";
import { InputError } from "../core/errors.js";
import { commandName } from "../core/invocation.js";
import type { Config } from "../config/schema.js";
import { exitWithLauncher } from "../run/launcher.js";
import type { MetricsRow } from "../run/metrics.js";
import type { RunSummary } from "../run/train.js";
import { fmt, helpOf, parseSeed, type ArgsOf } from "./args.js";

export function builder(y: Argv) {
  return helpOf(
    y
      .positional("config", { type: "string", describe: "Path to the experiment config (YAML)." })
      .option("set", {
        type: "string",
        array: true,
        default: [],
        describe: "Override a config field: --set algo.lr=3e-4 (with --resume: train.updates, checkpointing, log.* and LLM limits only)",
      })
      .option("seed", { type: "string", coerce: parseSeed, describe: "Override the config's seed." })
      .option("run-dir", { type: "string", describe: "Write the run here instead of runs/<name>/<timestamp>-seed<k>/." })
      .option("resume", {
        type: "string",
        describe: "Continue the run in this folder from its last checkpoint (extend a finished one with --set train.updates=N).",
      })
      .option("quiet", { type: "boolean", default: false, describe: "No progress output." })
      .option("seeds", {
        type: "number",
        describe: "Run N seeds (seed, seed+1, ...) in parallel child processes; --run-dir is then their parent folder.",
      })
      .option("workers", { type: "number", describe: "Parallel child processes for --seeds (default: number of cores)." }),
    "train",
    [
      ["train configs/doa-mvp.yaml", "train the DOA MVP; the run folder is printed (run: …)"],
      ["train configs/doa-mvp.yaml --seed 3 --set algo.lr=3e-4 --set train.updates=100", "override fields"],
      ["train --resume runs/doa-mvp/<run> --set train.updates=100", "extend a finished run exactly"],
    ],
  );
}

export type Args = ArgsOf<typeof builder>;

export async function handler(a: Args): Promise<void> {
  // from the start: a launcher killed while the run is set up must stop this process too
  exitWithLauncher("maestro train");
  if (!a.resume && !a.config) throw new InputError("maestro train: give a config file or --resume <runDir>");
  if (a.resume && (await finishedResume(a, a.resume))) return;
  if (a.seeds !== undefined) return await trainSeeds(a, a.seeds);
  await trainOne(a);
}

/** Checks what --resume may be combined with; true when the run is finished and nothing is asked to extend it (said so). */
async function finishedResume(a: Args, resume: string): Promise<boolean> {
  // a resumed run continues its own config.yaml exactly; silently dropping these would mislead
  const extra = [
    a.config !== undefined && "a config file",
    a.seed !== undefined && "--seed",
    a.runDir !== undefined && "--run-dir",
    a.seeds !== undefined && "--seeds",
  ].filter(Boolean);
  if (extra.length > 0) {
    throw new InputError(
      `maestro train --resume ${resume}: ${extra.join(", ")} cannot be combined with --resume (the run continues with the config.yaml in its folder; --set may extend it: --set train.updates=N)`,
    );
  }
  const plan = (await import("../run/resume.js")).planResume(resume, a.set as string[]);
  if (!plan.completed) return false;
  console.log(
    `run: ${resume} is finished (${plan.done} of ${plan.config.train.updates} updates); nothing to do, nothing changed. ` +
      `To train it further: ${commandName()} train --resume ${resume} --set train.updates=<more than ${plan.done}>`,
  );
  return true;
}

/** --seeds N: N runs in child processes, a line per seed and the mean with its 95% CI across them. */
async function trainSeeds(a: Args, seeds: number): Promise<void> {
  if (!Number.isInteger(seeds) || seeds < 1) throw new InputError(`--seeds ${seeds}: expected a positive integer`);
  if (a.resume) throw new InputError("--seeds cannot be combined with --resume (resume each seed's folder)");
  const r = await (
    await import("../sweep/multiSeed.js")
  ).trainSeeds({
    config: a.config!,
    sets: a.set as string[],
    seeds,
    quiet: a.quiet,
    ...(a.seed !== undefined ? { seed: a.seed } : {}),
    ...(a.runDir ? { runDir: a.runDir } : {}),
    ...(a.workers !== undefined ? { workers: a.workers } : {}),
  });
  for (const x of r.results) {
    const f = x.summary?.finalWindow;
    console.log(
      `${x.key}: ${x.status} ${x.runDir}` +
        (f ? ` — final return ${fmt(f.return_mean)}, success ${fmt(f.success_rate, 2)}, cost ${fmt(f.cost_mean)}` : "") +
        (x.error ? ` — ${x.error} (log: ${x.logFile})` : ""),
    );
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
}

/** One run in this process: a new one from the config, or --resume; Ctrl-C saves its state. */
async function trainOne(a: Args): Promise<void> {
  const { loadConfig } = await import("../config/load.js");
  const config = a.resume ? undefined : loadConfig(a.config!, { sets: a.set as string[], seed: a.seed });
  if (config) for (const w of (await import("../config/recorded.js")).recordedWarnings(config)) console.error(`warning: ${w}`);
  const view = await progressView(a.quiet);
  // Ctrl-C / SIGTERM: save a checkpoint and summary.json (interrupted), exit 130 / 143; a second one exits at once
  const interrupt = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupt.signal.aborted) process.exit(sig === "SIGINT" ? 130 : 143);
    view.stop();
    console.error(`\n${sig}: stopping after saving the run's state (${sig === "SIGINT" ? "Ctrl-C" : sig} again to quit at once)`);
    interrupt.abort(sig);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const summary = await (
    await import("../plots/with-plots.js")
  ).trainWithPlots({
    signal: interrupt.signal,
    ...(config ? { config } : {}),
    ...(a.runDir ? { runDir: a.runDir } : {}),
    ...(a.resume ? { resumeDir: a.resume, resumeSets: a.set as string[] } : {}),
    onStart: view.onStart,
    onUpdate: view.onUpdate,
  });
  view.stop();
  if (summary.status === "interrupted") {
    const sig = interrupt.signal.reason as NodeJS.Signals;
    console.error(`interrupted after ${summary.updates} updates; state saved in ${summary.runDir} (summary.json status "interrupted")`);
    console.error(`continue with: ${commandName()} train --resume ${summary.runDir}`);
    process.exitCode = sig === "SIGTERM" ? 143 : 130;
    return;
  }
  await printDone(summary, view.unit());
}

/** What a run prints as it goes: the backend and run folder, warnings, the progress bar, a warning when LLM calls fail. */
async function progressView(quiet: boolean) {
  const { constrainedAlgos } = await import("../config/load.js");
  const { costUnitOf, createProgress } = await import("../run/progress.js");
  const { modelSettings } = await import("../config/models.js");
  let progress: ReturnType<typeof createProgress> | undefined;
  let warnedLlm = false;
  let endpoints: string[] = [];
  let unit: ReturnType<typeof costUnitOf> = "plain";
  return {
    unit: () => unit,
    stop: () => progress?.stop(),
    onStart(info: {
      runDir: string;
      backend: string;
      config: Config;
      resumedFrom?: number;
      totalUpdates: number;
      warnings: string[];
    }): void {
      console.log(`backend: ${info.backend}`);
      console.log(`run: ${info.runDir}` + (info.resumedFrom !== undefined ? ` (resumed after update ${info.resumedFrom})` : ""));
      for (const w of info.warnings) console.error(`warning: ${w}`);
      unit = costUnitOf(info.config);
      endpoints = [...new Set(Object.values(modelSettings(info.config)).map((m) => m.baseURL ?? `the ${m.provider} API's default URL`))];
      const enforced = constrainedAlgos.includes(info.config.algo.name);
      if (!quiet)
        progress = createProgress(info.totalUpdates, info.resumedFrom ?? 0, process.stderr, unit, { d: info.config.env.budget, enforced });
    },
    onUpdate(row: MetricsRow): void {
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
  };
}

/** The closing lines: the final window's return, success and cost (and the budget), the training spend, summary.json. */
async function printDone(summary: RunSummary, unit: import("../run/progress.js").CostUnit): Promise<void> {
  // "final" = the final window (mean of the last 10% of updates), as in summary.json, seeds, sweeps and eval
  const { formatCost } = await import("../run/progress.js");
  const f = summary.finalWindow;
  const b = summary.budget;
  const { finalWindowSize } = await import("../run/metrics.js");
  const w = finalWindowSize(summary.updates);
  const m = b
    ? Object.entries(b.multiplier)
        .map(([k, v]) => `, ${k} ${fmt(v)}`)
        .join("")
    : "";
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
}
