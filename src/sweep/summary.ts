import fs from "node:fs";
import path from "node:path";
import { createObjectCsvStringifier } from "csv-writer";
import { mean } from "../core/math.js";
import { writeFileAtomic } from "../policy/io.js";
import { finalWindow, formatNumber, readMetrics, type MetricsRow } from "../run/metrics.js";
import { bootstrapMeanCI, type MeanCI } from "../analysis/stats.js";
import type { RunSummary } from "../run/train.js";

/** sweep.json: what a sweep folder holds (written before the first run starts). */
export interface SweepManifest {
  name: string;
  file: string;
  base: string;
  method: "grid" | "random";
  seeds: number[];
  keys: string[];
  objective: { metric: string; mode: "max" | "min" };
  trials: { id: string; params: Record<string, unknown> }[];
}

/** trial.json in each trial folder. */
export interface TrialState {
  id: string;
  params: Record<string, unknown>;
  status: "pending" | "completed" | "failed" | "stopped";
  /** Early stopping: the update and the reason. */
  stopped?: { update: number; seed: number; reason: string };
  /** Errors of failed seeds, by seed. */
  errors?: Record<string, string>;
}

export interface SeedOutcome {
  seed: number;
  runDir: string;
  status: "completed" | "failed" | "stopped" | "unfinished" | "missing";
  /** Means of the last 10% of updates (summary.json's finalWindow; recomputed from metrics.csv for a stopped run). */
  final?: MetricsRow;
  wall_s?: number;
  error?: string;
}

export interface TrialOutcome {
  id: string;
  params: Record<string, unknown>;
  status: TrialState["status"] | "unfinished";
  seeds: SeedOutcome[];
  return: MeanCI;
  success: MeanCI;
  cost: MeanCI;
  objective: MeanCI;
  wall_s_mean: number;
  wall_s_total: number;
  rank: number;
}

export const trialDir = (sweepDir: string, id: string) => path.join(sweepDir, id);
export const seedDir = (sweepDir: string, id: string, seed: number) => path.join(sweepDir, id, `seed${seed}`);

export function readJson<T>(file: string): T | undefined {
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as T) : undefined;
}

export function writeJson(file: string, v: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, JSON.stringify(v, null, 2) + "\n");
}

function seedOutcome(runDir: string, seed: number, trial: TrialState | undefined): SeedOutcome {
  const s = readJson<RunSummary>(path.join(runDir, "summary.json"));
  const error = trial?.errors?.[String(seed)];
  if (s && s.status === "completed")
    return { seed, runDir, status: "completed", ...(s.finalWindow ? { final: s.finalWindow } : {}), wall_s: s.wall_s };
  const metricsFile = path.join(runDir, "metrics.csv");
  // a run killed by early stopping may end in a torn row: keep complete rows only (wall_s is the last column)
  const rows = fs.existsSync(metricsFile) ? readMetrics(metricsFile).rows.filter((r) => Number.isFinite(r.wall_s)) : [];
  const final = finalWindow(rows);
  const wall = rows.length ? rows[rows.length - 1]!.wall_s : undefined;
  const base = { seed, runDir, ...(final ? { final } : {}), ...(wall !== undefined ? { wall_s: wall } : {}), ...(error ? { error } : {}) };
  if (s?.status === "failed" || error) return { ...base, status: "failed", ...(s?.error && !error ? { error: s.error } : {}) };
  if (trial?.status === "stopped") return { ...base, status: rows.length ? "stopped" : "missing" };
  return { ...base, status: rows.length ? "unfinished" : "missing" };
}

/**
 * Collects every trial's outcome across seeds: mean and 95% percentile-bootstrap CI (seeded by the
 * trial id) of the final-window return, success rate and cost, and wall time; trials ranked by the
 * objective (completed trials first, then stopped, then failed/unfinished).
 */
export function collectSweep(sweepDir: string): { manifest: SweepManifest; trials: TrialOutcome[] } {
  const manifest = readJson<SweepManifest>(path.join(sweepDir, "sweep.json"));
  if (!manifest) throw new Error(`${sweepDir}: not a sweep folder (no sweep.json)`);
  const metric = manifest.objective.metric;
  const trials: TrialOutcome[] = manifest.trials.map((t) => {
    const state = readJson<TrialState>(path.join(trialDir(sweepDir, t.id), "trial.json"));
    const seeds = manifest.seeds.map((s) => seedOutcome(seedDir(sweepDir, t.id, s), s, state));
    const usable = seeds.filter((s) => s.final && (s.status === "completed" || s.status === "stopped"));
    const ci = (k: string) =>
      bootstrapMeanCI(
        usable.map((s) => s.final![k] ?? NaN),
        { seed: `${t.id}:${k}` },
      );
    const walls = seeds.map((s) => s.wall_s).filter((w): w is number => w !== undefined);
    let status: TrialOutcome["status"];
    if (seeds.some((s) => s.status === "failed")) status = "failed";
    else if (state?.status === "stopped") status = "stopped";
    else if (seeds.every((s) => s.status === "completed")) status = "completed";
    else status = "unfinished";
    return {
      id: t.id,
      params: t.params,
      status,
      seeds,
      return: ci("return_mean"),
      success: ci("success_rate"),
      cost: ci("cost_mean"),
      objective: ci(metric),
      wall_s_mean: walls.length ? mean(walls) : NaN,
      wall_s_total: walls.reduce((a, b) => a + b, 0),
      rank: 0,
    };
  });
  const order = { completed: 0, stopped: 1, unfinished: 2, pending: 2, failed: 3 } as const;
  const sign = manifest.objective.mode === "max" ? -1 : 1;
  const key = (t: TrialOutcome) => (Number.isFinite(t.objective.mean) ? sign * t.objective.mean : Infinity);
  const ranked = [...trials].sort((a, b) => order[a.status] - order[b.status] || key(a) - key(b) || a.id.localeCompare(b.id));
  ranked.forEach((t, i) => (t.rank = i + 1));
  return { manifest, trials: ranked };
}

const num = (v: number) => (Number.isFinite(v) ? formatNumber(Number(v.toPrecision(6))) : "");
const show = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));

/** Writes sweep.csv (one row per trial) and sweep.md (trials ranked) into the sweep folder. */
export function writeSweepSummary(sweepDir: string): { csv: string; md: string; trials: TrialOutcome[] } {
  const { manifest, trials } = collectSweep(sweepDir);
  const keys = manifest.keys;
  const extra = ["return_mean", "success_rate", "cost_mean"].includes(manifest.objective.metric)
    ? []
    : ["objective", "objective_ci_lo", "objective_ci_hi"];
  const header = [
    "rank",
    "trial",
    "status",
    "seeds_done",
    ...keys,
    "return_mean",
    "return_ci_lo",
    "return_ci_hi",
    "success_rate",
    "success_ci_lo",
    "success_ci_hi",
    "cost_mean",
    "cost_ci_lo",
    "cost_ci_hi",
    ...extra,
    "wall_s_mean",
    "wall_s_total",
  ];
  const stringifier = createObjectCsvStringifier({ header: header.map((id) => ({ id, title: id })) });
  const records = trials.map((t) => {
    const r: Record<string, string | number> = {
      rank: t.rank,
      trial: t.id,
      status: t.status,
      seeds_done: t.seeds.filter((s) => s.status === "completed").length,
      return_mean: num(t.return.mean),
      return_ci_lo: num(t.return.lo),
      return_ci_hi: num(t.return.hi),
      success_rate: num(t.success.mean),
      success_ci_lo: num(t.success.lo),
      success_ci_hi: num(t.success.hi),
      cost_mean: num(t.cost.mean),
      cost_ci_lo: num(t.cost.lo),
      cost_ci_hi: num(t.cost.hi),
      wall_s_mean: num(t.wall_s_mean),
      wall_s_total: num(t.wall_s_total),
    };
    for (const k of keys) r[k] = show(t.params[k]);
    if (extra.length) {
      r.objective = num(t.objective.mean);
      r.objective_ci_lo = num(t.objective.lo);
      r.objective_ci_hi = num(t.objective.hi);
    }
    return r;
  });
  const csvFile = path.join(sweepDir, "sweep.csv");
  writeFileAtomic(csvFile, stringifier.getHeaderString()! + stringifier.stringifyRecords(records));

  const pm = (c: MeanCI, d = 3) => (Number.isFinite(c.mean) ? `${c.mean.toFixed(d)} ± ${((c.hi - c.lo) / 2).toFixed(d)}` : "–");
  const lines = [
    `# Sweep ${manifest.name}`,
    "",
    `Base config \`${manifest.base}\`, ${manifest.method} search, ${manifest.trials.length} trials × ${manifest.seeds.length} seeds (${manifest.seeds.join(", ")}).`,
    `Ranked by the final ${manifest.objective.metric} (${manifest.objective.mode === "max" ? "higher" : "lower"} is better).`,
    "",
    '"Final" = the mean over the last 10% of updates of each run (summary.json `finalWindow`); each cell is the mean across',
    "seeds ± half the width of its 95% percentile-bootstrap confidence interval (1000 resamples, seeded).",
    "",
    `| rank | trial | status | ${keys.map((k) => `\`${k}\``).join(" | ")} | return | success | cost | wall s/seed |`,
    `|---:|---|---|${keys.map(() => "---:").join("|")}|---:|---:|---:|---:|`,
    ...trials.map(
      (t) =>
        `| ${t.rank} | ${t.id} | ${t.status} | ${keys.map((k) => show(t.params[k])).join(" | ")} | ${pm(t.return)} | ${pm(t.success, 2)} | ${pm(t.cost, 2)} | ${Number.isFinite(t.wall_s_mean) ? t.wall_s_mean.toFixed(1) : "–"} |`,
    ),
    "",
  ];
  const failures = trials.flatMap((t) =>
    t.seeds.filter((s) => s.status === "failed").map((s) => `- ${t.id} seed ${s.seed}: ${s.error ?? "failed"} (${s.runDir})`),
  );
  if (failures.length) lines.push("## Failed runs", "", ...failures, "");
  const stopped = trials.filter((t) => t.status === "stopped");
  if (stopped.length) {
    lines.push("## Stopped early (median rule)", "");
    for (const t of stopped) {
      const st = readJson<TrialState>(path.join(trialDir(sweepDir, t.id), "trial.json"));
      lines.push(`- ${t.id}: ${st?.stopped?.reason ?? "stopped"}`);
    }
    lines.push("");
  }
  const mdFile = path.join(sweepDir, "sweep.md");
  writeFileAtomic(mdFile, lines.join("\n"));
  return { csv: csvFile, md: mdFile, trials };
}
