import { createHash } from "node:crypto";
import path from "node:path";
import { z } from "zod";
import { readYamlFile } from "../agents/loader.js";
import { InputError, zodToInputError } from "../core/errors.js";
import { Rng } from "../core/rng.js";
import { validateConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { didYouMean } from "../core/suggest.js";
import { runMetricColumns } from "../run/columns.js";

/**
 * Sweep files (`maestro sweep <sweep.yaml>`): a base config plus a search space over dotted config
 * keys. Every key and every value the space can produce is checked against the config schema before
 * any run starts.
 */

const dotted = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, "a dotted config key such as reward.costPenalty");

const pair = (what: string) =>
  z.tuple([z.number(), z.number()]).refine(([lo, hi]) => lo < hi, `${what}: expected [low, high] with low < high`);

export const parameterSchema = z
  .object({
    values: z.array(z.unknown()).min(1).optional().describe("Grid values (grid search: every value; random search: one drawn uniformly)."),
    choice: z.array(z.unknown()).min(1).optional().describe("Categorical choices (same as values; reads better for random search)."),
    uniform: pair("uniform").optional().describe("[low, high]: a float drawn uniformly (random search only)."),
    loguniform: pair("loguniform")
      .refine(([lo]) => lo > 0, "loguniform: low must be > 0")
      .optional()
      .describe("[low, high], low > 0: a float whose logarithm is uniform (random search only)."),
    int: pair("int")
      .refine(([lo, hi]) => Number.isInteger(lo) && Number.isInteger(hi), "int: bounds must be integers")
      .optional()
      .describe("[low, high]: an integer drawn uniformly, both ends included (random search only)."),
  })
  .strict()
  .superRefine((p, ctx) => {
    const given = Object.keys(p).filter((k) => (p as Record<string, unknown>)[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: "custom",
        message: `give exactly one of values, choice, uniform, loguniform, int (got ${given.length ? given.join(", ") : "none"})`,
      });
    }
  })
  .describe("The search space of one config key.");

const earlyStopSchema = z
  .object({
    rule: z.literal("median").default("median").describe("Median stopping rule (Golovin et al. 2017, Google Vizier)."),
    metric: z.string().default("return_mean").describe("metrics.csv column compared across trials."),
    mode: z.enum(["max", "min"]).default("max").describe("Whether larger (max) or smaller (min) values of the metric are better."),
    grace: z.number().int().positive().describe("Updates a run always gets before it can be stopped."),
    minTrials: z
      .number()
      .int()
      .positive()
      .default(3)
      .describe("Other trials that must have reached the same update before the median is trusted."),
  })
  .strict()
  .describe(
    "Stop a trial when, at some update u ≥ grace, the running mean of its metric up to u is worse than the median of the running means of the other trials at u.",
  );

export const sweepSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/, "letters, digits, _ . - only")
      .optional()
      .describe("Sweep name; runs go to runs/<name>/<trialId>/seed<k>/ (default: the sweep file's name)."),
    description: z.string().optional().describe("Free text."),
    base: z.string().min(1).describe("The base experiment config (path relative to the sweep file)."),
    method: z.enum(["grid", "random"]).default("grid").describe("grid: every combination of values; random: `trials` draws."),
    trials: z.number().int().positive().optional().describe("Number of random trials (random search only)."),
    seed: z.number().int().nonnegative().default(0).describe("Seed of the random sampler: the same file always gives the same trials."),
    seeds: z.number().int().positive().default(1).describe("Seeds per trial: the base config's seed, seed+1, ..."),
    fixed: z
      .record(dotted, z.unknown())
      .default({})
      .describe("Overrides applied to every trial (e.g. train.updates), dotted keys as in --set."),
    parameters: z
      .record(dotted, parameterSchema)
      .refine((r) => Object.keys(r).length > 0, "give at least one parameter")
      .describe("The search space: dotted config key → values | choice | uniform | loguniform | int."),
    objective: z
      .object({
        metric: z.string().default("return_mean").describe("Column whose final value ranks the trials in sweep.md."),
        mode: z.enum(["max", "min"]).default("max").describe("max: larger is better."),
      })
      .strict()
      .default({ metric: "return_mean", mode: "max" })
      .describe("How trials are ranked."),
    earlyStop: earlyStopSchema.optional(),
    queue: z
      .object({
        attempts: z
          .number()
          .int()
          .positive()
          .default(3)
          .describe("Attempts per trial on a Redis queue; a worker that died running it (a stall) counts as an attempt, like a failure."),
        backoffMs: z
          .number()
          .int()
          .nonnegative()
          .default(2000)
          .describe("Delay before the first retry of a failed trial, doubling after each."),
        redisTimeoutS: z
          .number()
          .positive()
          .default(120)
          .describe(
            "How long `maestro sweep --queue` waits for an unreachable Redis before it stops with an error (re-running the command resumes).",
          ),
      })
      .strict()
      .default({ attempts: 3, backoffMs: 2000, redisTimeoutS: 120 })
      .describe("Queued sweeps (`--queue`): retry limit and how long a Redis outage is waited out."),
  })
  .strict();

export type SweepFile = z.infer<typeof sweepSchema>;
export type ParameterSpace = z.infer<typeof parameterSchema>;

export interface Trial {
  /** Stable id derived from the trial's parameters and the sweep's fixed overrides. */
  id: string;
  params: Record<string, unknown>;
  /** `key=value` overrides (fixed, then params) applied to the base config. */
  sets: string[];
  /** The resolved config of the trial (at the base seed). */
  config: Config;
}

export interface Sweep {
  file: string;
  name: string;
  spec: SweepFile;
  baseFile: string;
  trials: Trial[];
  /** Seeds every trial runs. */
  seeds: number[];
  /** Random draws that repeated an earlier trial and were dropped. */
  duplicates: number;
}

/** Canonical JSON (object keys sorted) for hashing. */
function canonical(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(",")}}`;
}

/** The trial id: `t` + 10 hex digits of sha256 over the parameters and fixed overrides. */
export function trialId(params: Record<string, unknown>, fixed: Record<string, unknown> = {}): string {
  const h = createHash("sha256").update(canonical({ params, fixed })).digest("hex");
  return `t${h.slice(0, 10)}`;
}

const setOf = (key: string, value: unknown) => `${key}=${JSON.stringify(value)}`;

/** Rounds a sampled float to 6 significant digits (readable parameters and ids). */
const round6 = (x: number) => Number(x.toPrecision(6));

/** Draws one value of a parameter. */
export function sample(p: ParameterSpace, rng: Rng): unknown {
  if (p.values) return p.values[rng.int(p.values.length)];
  if (p.choice) return p.choice[rng.int(p.choice.length)];
  if (p.uniform) return round6(rng.uniform(p.uniform[0], p.uniform[1]));
  if (p.loguniform) return round6(Math.exp(rng.uniform(Math.log(p.loguniform[0]), Math.log(p.loguniform[1]))));
  const [lo, hi] = p.int!;
  return lo + rng.int(hi - lo + 1);
}

/** The parameter combinations of a sweep file (grid: Cartesian product in file order, last key fastest). */
export function expandParameters(spec: SweepFile, file: string): { params: Record<string, unknown>[]; duplicates: number } {
  const keys = Object.keys(spec.parameters);
  if (spec.method === "grid") {
    if (spec.trials !== undefined)
      throw new InputError(`${file}: trials: only used with method: random (grid runs every combination)`, file, "trials");
    const lists = keys.map((k) => {
      const p = spec.parameters[k]!;
      const list = p.values ?? p.choice;
      if (!list) {
        const kind = Object.keys(p)[0];
        throw new InputError(
          `${file}: parameters.${k}: ${kind} is a distribution; grid search needs values or choice (or use method: random)`,
          file,
          `parameters.${k}`,
        );
      }
      return list;
    });
    let combos: Record<string, unknown>[] = [{}];
    keys.forEach((k, i) => {
      combos = combos.flatMap((c) => lists[i]!.map((v) => ({ ...c, [k]: v })));
    });
    return dedupe(combos, spec.fixed);
  }
  if (spec.trials === undefined) throw new InputError(`${file}: trials: required with method: random`, file, "trials");
  const rng = new Rng(`sweep:${spec.seed}`);
  const combos: Record<string, unknown>[] = [];
  for (let t = 0; t < spec.trials; t++) {
    const c: Record<string, unknown> = {};
    for (const k of keys) c[k] = sample(spec.parameters[k]!, rng);
    combos.push(c);
  }
  return dedupe(combos, spec.fixed);
}

function dedupe(combos: Record<string, unknown>[], fixed: Record<string, unknown>) {
  const seen = new Set<string>();
  const params: Record<string, unknown>[] = [];
  for (const c of combos) {
    const id = trialId(c, fixed);
    if (seen.has(id)) continue;
    seen.add(id);
    params.push(c);
  }
  return { params, duplicates: combos.length - params.length };
}

/** Values worth checking against the config schema for a parameter: every listed value, or both ends of a range. */
function probeValues(p: ParameterSpace): unknown[] {
  return p.values ?? p.choice ?? p.uniform ?? p.loguniform ?? p.int ?? [];
}

/**
 * Reads and validates a sweep file: the grammar (zod), then every key and value of the search space
 * and every trial's full config against the base config's schema. Nothing is written.
 */
export function loadSweep(file: string): Sweep {
  const raw = readYamlFile(file);
  const parsed = sweepSchema.safeParse(raw);
  if (!parsed.success) throw zodToInputError(file, parsed.error, { schema: sweepSchema, raw });
  const spec = parsed.data;
  const dir = path.dirname(path.resolve(file));
  const baseFile = path.resolve(dir, spec.base);
  let baseRaw: unknown;
  try {
    baseRaw = readYamlFile(baseFile);
  } catch (e) {
    throw new InputError(`${file}: base: cannot read ${baseFile}: ${(e as Error).message}`, file, "base");
  }
  const baseDir = path.dirname(baseFile);
  const check = (field: string, sets: string[], what: string): Config => {
    try {
      return validateConfig(baseRaw, baseFile, baseDir, { sets, setsLabel: "sweep override" });
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      throw new InputError(
        `${file}: ${field}: ${what} is not accepted by the base config ${spec.base}:\n  ${e.message.replace(/\n/g, "\n  ")}`,
        file,
        field,
      );
    }
  };
  for (const key of [...Object.keys(spec.fixed), ...Object.keys(spec.parameters)]) {
    if (key === "seed" || key === "name") {
      throw new InputError(
        `${file}: parameters.${key}: cannot be swept (use seeds: N for seeds; the sweep's name names the runs)`,
        file,
        `parameters.${key}`,
      );
    }
  }
  const fixedSets = Object.entries(spec.fixed).map(([k, v]) => setOf(k, v));
  check("fixed", fixedSets, "the fixed overrides");
  for (const [key, p] of Object.entries(spec.parameters)) {
    for (const v of probeValues(p)) check(`parameters.${key}`, [...fixedSets, setOf(key, v)], `value ${JSON.stringify(v)}`);
  }
  const { params, duplicates } = expandParameters(spec, file);
  const trials = params.map((p) => {
    const sets = [...fixedSets, ...Object.entries(p).map(([k, v]) => setOf(k, v))];
    const config = check("parameters", sets, `the combination ${JSON.stringify(p)}`);
    return { id: trialId(p, spec.fixed), params: p, sets, config };
  });
  checkMetricNames(file, spec, trials);
  const baseSeed = trials[0]!.config.seed;
  return {
    file,
    name: spec.name ?? path.basename(file).replace(/\.ya?ml$/i, ""),
    spec,
    baseFile,
    trials,
    seeds: Array.from({ length: spec.seeds }, (_, i) => baseSeed + i),
    duplicates,
  };
}

/**
 * `objective.metric` and `earlyStop.metric` must be metrics.csv columns of every trial's runs (the
 * trainer's columns, the common ones, the LLM ones with an llm section): a typo would otherwise rank
 * every trial as NaN, or never stop one.
 */
function checkMetricNames(file: string, spec: SweepFile, trials: readonly Trial[]): void {
  const fields: Array<[string, string]> = [["objective.metric", spec.objective.metric]];
  if (spec.earlyStop) fields.push(["earlyStop.metric", spec.earlyStop.metric]);
  for (const [field, metric] of fields) {
    for (const t of trials) {
      const columns = runMetricColumns(t.config);
      if (columns.includes(metric)) continue;
      const which =
        trials.length > 1 && trials.some((o) => runMetricColumns(o.config).includes(metric))
          ? `trial ${JSON.stringify(t.params)} (algo.name ${t.config.algo.name})`
          : `the base config (algo.name ${t.config.algo.name}${t.config.llm ? ", with llm columns" : ""})`;
      throw new InputError(
        `${file}: ${field}: "${metric}" is not a metrics.csv column of ${which}${didYouMean(metric, columns)}; its columns: ${columns.join(", ")}`,
        file,
        field,
      );
    }
  }
}
