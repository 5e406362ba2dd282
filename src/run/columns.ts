/**
 * The columns a config's run writes to metrics.csv, known before anything is built (no tfjs): the common
 * columns, the trainer's (src/algos/metric-names.ts, the lists the trainers themselves use), the LLM
 * columns when the config has an llm section, then wall_s. Sweep files check `objective.metric` and
 * `earlyStop.metric` against this list.
 */
import {
  cpoMetricNames,
  macpoMetricNames,
  mappoLagrangianMetricNames,
  p3oMetricNames,
  ppoLagrangianMetricNames,
  ppoMetricNames,
  reinforceMetricNames,
} from "../algos/metric-names.js";
import { headsOf } from "../config/heads.js";
import type { Config } from "../config/schema.js";
import { metricsColumns } from "./metrics.js";

/** Per-update LLM columns of metrics.csv (runs with an llm section). */
export const llmMetricColumns = ["llm_calls", "llm_requests", "llm_errors", "cache_hits", "saved_cost", "tokens_in", "tokens_out"];

/** The trainer-specific columns of a config's trainer (what `buildTrainer(c).metricNames` is). */
export function trainerMetricNames(c: Config): string[] {
  const heads = headsOf(c).map((h) => h.name);
  switch (c.algo.name) {
    case "reinforce":
      return reinforceMetricNames(c.algo.reinforce.baseline);
    case "ppo":
      return ppoMetricNames();
    case "ppo-lagrangian":
      return ppoLagrangianMetricNames();
    case "p3o":
      return p3oMetricNames();
    case "cpo":
      return cpoMetricNames();
    case "macpo":
      return macpoMetricNames(heads, false, heads.length > 1 && c.algo.macpo.step === "joint");
    case "mappo-lagrangian":
      return mappoLagrangianMetricNames(heads);
  }
}

/** Every column of the config's metrics.csv, in order. */
export function runMetricColumns(c: Config): string[] {
  const extra = trainerMetricNames(c);
  return metricsColumns(c.llm ? [...extra, ...llmMetricColumns] : extra);
}
