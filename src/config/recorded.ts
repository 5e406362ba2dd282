/**
 * Recorded-output configs: the data files behind `tasks.file` (paths, globs or lists,
 * resolved to absolute files so a run's config.yaml finds them again), the table, the pool options the
 * recorded agents share, `model: "*"` expanded into one agent per model, the split and the cost unit.
 */
import fs from "node:fs";
import path from "node:path";
import { globSync, isDynamicPattern } from "tinyglobby";
import { buildRecordedAgent, type RecordedAgent, type RecordedAgentDef, type RecordedPool } from "../agents/recorded.js";
import { InputError } from "../core/errors.js";
import type { Turn } from "../core/types.js";
import { matchAnswer } from "../tasks/evaluators.js";
import { loadRecordedTable, splitRecorded, type RecordedSplits, type RecordedTable } from "../tasks/recorded.js";
import { modelSettings } from "./models.js";
import type { Config } from "./schema.js";

type RecordedTasks = Extract<Config["tasks"], { source: "recorded" }>;

/**
 * The files of `tasks.file`: each entry a path or a glob, relative to `configDir` (else, if nothing is
 * there, to the working directory, as a `--set tasks.file=...` typed in a shell means); sorted per entry,
 * duplicates dropped.
 */
export function resolveRecordedFiles(spec: string | readonly string[], configDir: string, where: string, field = "tasks.file"): string[] {
  const out: string[] = [];
  const find = (abs: string, pattern: boolean): string[] => {
    if (pattern)
      return globSync(abs.split(path.sep).join("/"), { absolute: true, onlyFiles: true })
        .map((f) => path.normalize(f))
        .sort();
    return fs.existsSync(abs) ? [abs] : [];
  };
  for (const entry of typeof spec === "string" ? [spec] : spec) {
    const pattern = isDynamicPattern(entry);
    const bases = path.isAbsolute(entry) ? [""] : [configDir, process.cwd()];
    let files: string[] = [];
    for (const b of bases) {
      files = find(b === "" ? entry : path.resolve(b, entry), pattern);
      if (files.length > 0) break;
    }
    if (files.length === 0) {
      const looked = bases.map((b) => (b === "" ? entry : path.resolve(b, entry))).join(", ");
      throw new InputError(
        `${where}: ${field}: ${pattern ? `the pattern "${entry}" matches no file` : `"${entry}" not found`} (looked for ${looked})`,
        where,
        field,
      );
    }
    for (const f of files) if (!out.includes(f)) out.push(f);
  }
  return out;
}

function recordedTasks(c: Pick<Config, "tasks">): RecordedTasks {
  if (c.tasks.source !== "recorded") throw new Error("not a recorded-output config");
  return c.tasks;
}

/** The table of a recorded config (files already resolved to absolute paths by validateConfig). */
export function recordedTable(c: Pick<Config, "tasks">): RecordedTable {
  const t = recordedTasks(c);
  return loadRecordedTable({
    files: typeof t.file === "string" ? [t.file] : t.file,
    ...(t.gold
      ? {
          gold: {
            file: t.gold.file,
            prompt: t.gold.prompt,
            answer: t.gold.answer,
            ...(t.gold.pattern !== undefined ? { pattern: t.gold.pattern } : {}),
          },
        }
      : {}),
  });
}

/** What the recorded agents of a config share. */
export function recordedPool(c: Pick<Config, "tasks" | "llm">): RecordedPool {
  const t = recordedTasks(c);
  const l = c.llm;
  return {
    table: recordedTable(c),
    models: modelSettings(c),
    ...(l?.prices !== undefined ? { priceFile: l.prices } : {}),
    cost: l
      ? {
          mode: l.cost.mode,
          computeScale: l.cost.computeScale,
          ...(l.cost.logStepPhi !== undefined ? { logStepPhi: l.cost.logStepPhi } : {}),
        }
      : { mode: "price", computeScale: 1e-12 },
    tokenizer: t.tokenizer,
    promptOverheadTokens: t.promptOverheadTokens,
    outputTokensWithoutText: t.outputTokensWithoutText,
    judge: t.judge,
    matches: (answer, expected) => matchAnswer(t.evaluator, answer, expected, t.tolerance),
    scoreThreshold: t.scoreThreshold,
  };
}

/** The train / validation / test split of a recorded config (seed: tasks.split.seed, else the run's). */
export function recordedSplits(c: Pick<Config, "tasks" | "seed">): RecordedSplits {
  const t = recordedTasks(c);
  return splitRecorded(recordedTable(c).items, t.split, t.split.seed ?? c.seed);
}

/** The recorded agents of a config, built once per config object (they are stateless). */
const agentMemo = new WeakMap<object, Map<string, RecordedAgent>>();
export function recordedAgents(c: Config): Map<string, RecordedAgent> {
  let m = agentMemo.get(c);
  if (!m) {
    const pool = recordedPool(c);
    m = new Map();
    for (const d of c.agents) if (d.kind === "recorded") m.set(d.name, buildRecordedAgent(d as RecordedAgentDef, pool));
    if (recordedTasks(c).costAxis === "strong-calls" && m.size > 0) {
      // RouteLLM's count: the strong model is the most expensive one on the training items
      const strong = strongAgent(m, recordedSplits(c).train);
      for (const a of m.values()) a.countCalls(a === strong);
    }
    agentMemo.set(c, m);
  }
  return m;
}

type LlmAgentDef = Extract<Config["agents"][number], { kind: "llm" }>;

/**
 * The model column of the recorded table a `kind: llm` agent of a recorded config answers for: the
 * `model` name its llm.models entry sends to the provider, else the entry's key; undefined when the
 * table has neither (the agent's replies are then judged against gold answers only).
 */
export function recordedColumnOf(c: Pick<Config, "tasks" | "llm">, def: LlmAgentDef): string | undefined {
  const models = recordedTable(c).models;
  const sent = c.llm?.models[def.model]?.model;
  if (sent !== undefined && models.includes(sent)) return sent;
  return models.includes(def.model) ? def.model : undefined;
}

/**
 * For every `kind: llm` agent of a recorded config, the `kind: recorded` agent of its model column with
 * its prices (llm.models entry) and answer form: what judges its replies and, where the policy needs the
 * pool's costs before any call (the cost unit, the knob range), stands for it. Built once per config.
 */
const judgeMemo = new WeakMap<object, Map<string, RecordedAgent>>();
export function recordedJudges(c: Config): Map<string, RecordedAgent> {
  let m = judgeMemo.get(c);
  if (!m) {
    m = new Map();
    if (c.tasks.source === "recorded") {
      const pool = recordedPool(c);
      for (const d of c.agents) {
        if (d.kind !== "llm") continue;
        const column = recordedColumnOf(c, d);
        // no column: the agent is judged against the gold answers alone (src/agents/judged.ts goldJudge)
        if (column !== undefined)
          m.set(d.name, buildRecordedAgent({ name: d.name, model: column, price: d.model, extract: d.extract }, pool));
      }
    }
    judgeMemo.set(c, m);
  }
  return m;
}

/** The agents whose per-call costs are known from the table: recorded agents and the llm agents' judges. */
export function tableCostedAgents(c: Config): RecordedAgent[] {
  return [...recordedAgents(c).values(), ...recordedJudges(c).values()];
}

/**
 * How `consensus` breaks ties between agreeing groups: by each agent's mean money cost per call on the
 * training items (the most expensive model wins); undefined for other task sources (the call's own cost).
 */
export function priceRank(c: Config): ((t: Turn) => number) | undefined {
  if (c.tasks.source !== "recorded") return undefined;
  const train = recordedSplits(c).train;
  const rank = new Map([...recordedAgents(c)].map(([name, a]) => [name, a.meanUsd(train)]));
  return (t) => rank.get(t.agent) ?? (t.output.meta?.usd as number | undefined) ?? t.output.cost;
}

/** The most expensive recorded agent by mean money cost per call on `items` (the "strong" model). */
export function strongAgent(agents: ReadonlyMap<string, RecordedAgent>, items: readonly { id: string }[]): RecordedAgent {
  let best: RecordedAgent | undefined;
  let bestCost = -Infinity;
  for (const a of agents.values()) {
    const u = a.meanUsd(items);
    if (u > bestCost) {
      best = a;
      bestCost = u;
    }
  }
  return best!;
}

/**
 * The cost unit λ and budgets are measured in: knob.costUnit when it is a number; else, for recorded
 * tasks, the mean cost of one call of the most expensive agent over the training items; else 1.
 */
export function costUnitOf(c: Config): number {
  const u = c.knob?.costUnit;
  if (typeof u === "number") return u;
  if (c.tasks.source !== "recorded") return 1;
  const train = recordedSplits(c).train;
  let best = 0;
  // llm agents count as their recorded model would, so a run and its live twin share the unit
  for (const a of tableCostedAgents(c)) best = Math.max(best, a.meanCost(train));
  return best > 0 ? best : 1;
}

/** Non-fatal findings about a recorded config's data (e.g. a gold file matching only some items); [] otherwise. */
export function recordedWarnings(c: Pick<Config, "tasks">): string[] {
  return c.tasks.source === "recorded" ? recordedTable(c).warnings : [];
}
