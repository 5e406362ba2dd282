import fs from "node:fs";
import type { LiveOptions } from "../config/live.js";
import path from "node:path";
import { InputError } from "../core/errors.js";
import { Rng } from "../core/rng.js";
import { findRunDirs, notRunDirError } from "../run/folders.js";
import { groupRuns } from "../run/groups.js";
import type { MetricsRow } from "../run/metrics.js";
import { bootstrapMeanCI, type MeanCI } from "./stats.js";
import { rollout } from "../env/rollout.js";
import { buildAgents, buildEnvSpec, buildTaskSource } from "../run/build.js";
import { loadTrainedRun } from "../run/trained.js";
import { headsOf } from "../config/heads.js";
import { mean, std } from "../core/math.js";
import { costUnitOf, type CostUnit } from "../run/progress.js";

export interface EvalOptions {
  /** Default: every task of a held-out dataset split once (recorded, jsonl, arithmetic); 100 for inline and simulated tasks. */
  episodes?: number;
  greedy?: boolean;
  /** Seed of the evaluation streams (default: the run's seed). */
  seed?: number;
  /** Episodes run in lockstep per batch. */
  batchSize?: number;
  /** Budget-conditioned runs: the knob value (λ or budget) to evaluate at (default: the middle of its range). */
  knob?: number;
  /** The knob's name as the user gave it (--lambda / --budget): must match the policy's. */
  knobName?: "lambda" | "budget";
  /** Recorded runs: ask the models live at this OpenAI-compatible endpoint instead of reading the table. */
  live?: LiveOptions;
}

export interface EvalResult {
  runDir: string;
  checkpointUpdate: number;
  episodes: number;
  /**
   * The tasks the episodes were drawn from: a dataset's held-out split ("test" for recorded outputs, "eval"
   * otherwise) of `size` items, each visited in order; or the config's inline list / simulated task types.
   */
  tasks: { split: "test" | "eval" | "inline" | "sim"; size: number | null; distinct: number };
  greedy: boolean;
  backend: string;
  /** What cost_mean is counted in (the run's cost unit). */
  costUnit: CostUnit;
  return_mean: number;
  return_std: number;
  success_rate: number;
  cost_mean: number;
  ep_len_mean: number;
  /** How often each agent was chosen, as a fraction of steps. */
  agentUsage: Record<string, number>;
  /** Budget-conditioned runs: the knob the policy was evaluated at. */
  knob?: { name: "lambda" | "budget"; value: number };
}

/** Evaluates the last checkpoint of a run by sampling (or greedy) episodes. */
export async function evaluateRun(runDir: string, o: EvalOptions = {}): Promise<EvalResult> {
  const { config, checkpointUpdate, backend, llm, encoder, trainer, knob, actionMask } = await loadTrainedRun(
    runDir,
    o.live ? { live: o.live } : {},
  );
  try {
    if (o.knob !== undefined && !knob)
      throw new InputError(`${runDir}: the policy is not budget-conditioned (no knob in its config)`, runDir, "knob");
    if (knob && o.knobName !== undefined && o.knobName !== knob.o.name) {
      throw new InputError(
        `${runDir}: the policy is conditioned on its ${knob.o.name}, not a ${o.knobName}: use --${knob.o.name}`,
        runDir,
        "knob",
      );
    }
    const knobValue = knob ? (o.knob ?? (knob.o.min + knob.o.max) / 2) : undefined;
    if (knob && (knobValue! < knob.o.min - 1e-12 || knobValue! > knob.o.max + 1e-12)) {
      throw new InputError(
        `${runDir}: ${knob.o.name} ${knobValue} is outside the range the policy was trained on [${knob.o.min}, ${knob.o.max}]`,
        runDir,
        "knob",
      );
    }
    // LLM runs: the run's models and cache; tasks come from the held-out split (inline: the same list)
    const agents = buildAgents(config, { llm });
    const tasks = buildTaskSource(config, "eval");
    const spec = buildEnvSpec(config);
    const dataset = config.tasks.source !== "inline" && config.tasks.source !== "sim" && tasks.size !== undefined;
    const n = o.episodes ?? (dataset ? tasks.size! : 100);
    const seed = o.seed ?? config.seed;
    const policyRng = new Rng(`${seed}:eval-policy`);
    const envRng = new Rng(`${seed}:eval-env`);
    const taskRng = new Rng(`${seed}:eval-tasks`);
    const bs = o.batchSize ?? 256;
    const all = { return: [] as number[], success: [] as number[], cost: [] as number[], len: [] as number[] };
    const usage = new Map<string, number>();
    let steps = 0;
    const seen = new Set<string>();
    for (let start = 0; start < n; start += bs) {
      const batch = await rollout({
        spec,
        agents,
        encoder,
        policy: trainer.policy,
        heads: headsOf(config),
        tasks,
        episodes: Math.min(bs, n - start),
        firstEpisode: start,
        policyRng,
        envRng,
        taskRng,
        greedy: o.greedy ?? false,
        ...(knob ? { knob: knob.fixed(knobValue!) } : {}),
        ...(actionMask ? { actionMask } : {}),
      });
      for (const e of batch.episodes) {
        all.return.push(e.return);
        all.success.push(e.success ? 1 : 0);
        all.cost.push(e.cost);
        all.len.push(e.length);
        for (const a of e.agents) usage.set(a, (usage.get(a) ?? 0) + 1);
        seen.add(e.taskId);
        steps += e.length;
      }
    }
    return {
      runDir,
      checkpointUpdate,
      episodes: n,
      tasks: {
        split:
          config.tasks.source === "recorded"
            ? "test"
            : config.tasks.source === "inline"
              ? "inline"
              : config.tasks.source === "sim"
                ? "sim"
                : "eval",
        size: tasks.size ?? null,
        distinct: seen.size,
      },
      greedy: o.greedy ?? false,
      costUnit: costUnitOf(config),
      backend,
      return_mean: mean(all.return),
      return_std: std(all.return),
      success_rate: mean(all.success),
      cost_mean: mean(all.cost),
      ep_len_mean: mean(all.len),
      agentUsage: Object.fromEntries(config.agents.map((a) => [a.name, (usage.get(a.name) ?? 0) / steps])),
      ...(knob ? { knob: { name: knob.o.name, value: knobValue! } } : {}),
    };
  } finally {
    trainer.dispose();
  }
}

/** One run of an evaluated group: the evaluation, the run's own final training figures, or why it failed. */
export interface GroupEvalRow {
  runDir: string;
  /**
   * The sweep trial (first path part below the sweep folder); for other folders the configuration (runs
   * whose configs are equal apart from the seed form one, labelled by the fields that differ), "" when all
   * runs share one.
   */
  group: string;
  /** Episodes the evaluation ran (sampled evaluations). */
  episodes?: number;
  seed?: number;
  checkpointUpdate?: number;
  /** Sampled: return_mean, success_rate, cost_mean, ep_len_mean; exact: value, return, success, cost. */
  metrics?: Record<string, number>;
  /** The run's summary.json finalWindow (mean of its last 10% of training updates). */
  trainFinal?: MetricsRow;
  error?: string;
}

export interface GroupEvalResult {
  dir: string;
  kind: "sweep" | "group";
  exact: boolean;
  options: EvalOptions;
  rows: GroupEvalRow[];
  /** Sweep folders: each trial's parameters (sweep.json). */
  params: Record<string, Record<string, unknown>>;
  /** Per group ("" = all runs of a seed group), per evaluated metric: mean across runs with a 95% bootstrap CI. */
  means: Record<string, Record<string, MeanCI>>;
}

/**
 * `maestro eval <folder>` on a seed group (`train --seeds`), a sweep folder or any folder of runs:
 * evaluates every run's last checkpoint (sampled, or exactly with `exact`), one after another; a run that
 * cannot be evaluated gets its error in its row and the others go on.
 */
export async function evaluateGroup(dir: string, o: EvalOptions & { exact?: boolean } = {}): Promise<GroupEvalResult> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw notRunDirError(dir);
  const runs = findRunDirs(dir);
  if (runs.length === 0) throw notRunDirError(dir);
  const sweep = fs.existsSync(path.join(dir, "sweep.json"));
  // unrelated runs (a DOA run next to an LLM run) are never averaged together: one mean per configuration
  const configOf = new Map<string, string>();
  if (!sweep) {
    const g = groupRuns(runs);
    if (g.groups.length > 1) for (const x of g.groups) for (const r of x.runDirs) configOf.set(r, x.label);
    for (const d of g.duplicates) configOf.set(d.dropped, configOf.get(d.kept) ?? "");
  }
  const rows: GroupEvalRow[] = [];
  for (const runDir of runs) {
    const group = sweep ? path.relative(dir, runDir).split(path.sep)[0]! : (configOf.get(runDir) ?? "");
    const summaryFile = path.join(runDir, "summary.json");
    const summary = fs.existsSync(summaryFile)
      ? (JSON.parse(fs.readFileSync(summaryFile, "utf8")) as { seed?: number; finalWindow?: MetricsRow | null })
      : undefined;
    const base: GroupEvalRow = {
      runDir,
      group,
      ...(summary?.seed !== undefined ? { seed: summary.seed } : {}),
      ...(summary?.finalWindow ? { trainFinal: summary.finalWindow } : {}),
    };
    try {
      if (o.exact) {
        const { exactEvaluateRun } = await import("./exact.js");
        const x = await exactEvaluateRun(runDir);
        rows.push({
          ...base,
          checkpointUpdate: x.checkpointUpdate,
          metrics: {
            value: x.value,
            ...(x.optimum.ratio !== null ? { value_ratio: x.optimum.ratio } : {}),
            return: x.return,
            success: x.success,
            cost: x.cost,
          },
        });
      } else {
        const r = await evaluateRun(runDir, o);
        rows.push({
          ...base,
          checkpointUpdate: r.checkpointUpdate,
          episodes: r.episodes,
          metrics: {
            return_mean: r.return_mean,
            return_std: r.return_std,
            success_rate: r.success_rate,
            cost_mean: r.cost_mean,
            ep_len_mean: r.ep_len_mean,
          },
        });
      }
    } catch (e) {
      rows.push({ ...base, error: e instanceof Error ? e.message : String(e) });
    }
  }
  const means: GroupEvalResult["means"] = {};
  for (const g of [...new Set(rows.map((r) => r.group))]) {
    const ok = rows.filter((r) => r.group === g && r.metrics);
    const keys = [...new Set(ok.flatMap((r) => Object.keys(r.metrics!)))].filter((k) => k !== "return_std");
    means[g] = Object.fromEntries(
      keys.map((k) => [
        k,
        bootstrapMeanCI(
          ok.map((r) => r.metrics![k]!),
          { seed: `eval:${g}:${k}` },
        ),
      ]),
    );
  }
  const params: GroupEvalResult["params"] = {};
  if (sweep) {
    const m = JSON.parse(fs.readFileSync(path.join(dir, "sweep.json"), "utf8")) as {
      trials?: Array<{ id: string; params: Record<string, unknown> }>;
    };
    for (const t of m.trials ?? []) params[t.id] = t.params;
    // trials in the sweep file's order
    const order = Object.keys(params);
    rows.sort((a, b) => order.indexOf(a.group) - order.indexOf(b.group));
  }
  if (!sweep) {
    const order = [...new Set(rows.map((r) => r.group))];
    rows.sort((a, b) => order.indexOf(a.group) - order.indexOf(b.group));
  }
  return { dir, kind: sweep ? "sweep" : "group", exact: o.exact ?? false, options: o, rows, params, means };
}

/** The table `maestro eval <folder>` prints: one row per run, then the mean [95% CI] of each group. */
export function formatGroupEval(g: GroupEvalResult): string {
  const cols = g.exact
    ? ["value", "value_ratio", "return", "success", "cost"]
    : ["return_mean", "success_rate", "cost_mean", "ep_len_mean"];
  const head = g.exact ? ["value", "value/value*", "return", "success", "cost"] : ["episodes", "return", "success", "cost", "length"];
  const f = (v: number | undefined, d = 3) => (v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(d));
  const groups = Object.keys(g.means);
  // a sweep's trials, or the configurations of a folder of unrelated runs
  const first = g.kind === "sweep" ? "trial" : groups.length > 1 || (groups.length === 1 && groups[0] !== "") ? "config" : undefined;
  const lines = [
    `| ${first ? `${first} | ` : ""}run | seed | checkpoint | ${head.join(" | ")} | train final return |`,
    `|${first ? "---|" : ""}---|---:|---:|${head.map(() => "---:").join("|")}|---:|`,
  ];
  const label = (id: string) =>
    g.kind !== "sweep"
      ? id
      : `${id}${
          g.params[id]
            ? ` (${Object.entries(g.params[id]!)
                .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
                .join(", ")})`
            : ""
        }`;
  for (const r of g.rows) {
    const run = path.relative(g.kind === "sweep" ? path.join(g.dir, r.group) : g.dir, r.runDir) || ".";
    const values = cols.map((c) => f(r.metrics?.[c]));
    if (!g.exact) values.unshift(r.episodes === undefined ? "-" : String(r.episodes));
    const cells = r.metrics ? values : [`error: ${r.error}`, ...values.slice(1).map(() => "")];
    lines.push(
      `| ${first ? `${label(r.group)} | ` : ""}${run} | ${r.seed ?? "-"} | ${r.checkpointUpdate ?? "-"} | ${cells.join(" | ")} | ${f(r.trainFinal?.return_mean)} |`,
    );
  }
  for (const [group, m] of Object.entries(g.means)) {
    const n = m[cols[0]!]?.n ?? 0;
    if (n === 0) continue;
    const cells = cols.map((c) => (m[c] ? `${f(m[c]!.mean)} [${f(m[c]!.lo)}, ${f(m[c]!.hi)}]` : "-"));
    if (!g.exact) cells.unshift("");
    lines.push(`| ${first ? `${label(group)} | ` : ""}**mean of ${n}** | | | ${cells.join(" | ")} | |`);
  }
  const eps = [...new Set(g.rows.filter((r) => r.episodes !== undefined).map((r) => r.episodes))];
  const mode = g.exact
    ? "exact"
    : `${eps.length === 1 ? `${eps[0]} episodes per run` : "episodes per run in the episodes column"}${g.options.episodes === undefined ? " (datasets: the whole held-out split)" : ""}, ${g.options.greedy ? "greedy" : "sampled"}`;
  const sep =
    groups.length > 1
      ? `; ${groups.length} ${g.kind === "sweep" ? "trials" : "configurations (runs whose configs differ only in the seed are averaged)"}`
      : "";
  return `${g.dir}: ${g.rows.length} runs (${mode})${sep}; mean [95% bootstrap CI] across runs; train final return = mean of each run's last 10% of training updates\n\n${lines.join("\n")}`;
}
