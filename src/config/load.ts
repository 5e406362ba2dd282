/**
 * Loading a config: YAML file → `--set` overrides → zod validation (schema.ts) → agent files resolved
 * inline → cross-field checks. Every error names the file and the field; nothing is written.
 */
import path from "node:path";
import YAML from "yaml";
import { readYamlFile, resolveAgentDefinitions } from "../agents/loader.js";
import { resolveModuleFile, setModuleOrigin } from "../agents/user-module.js";
import { InputError, zodToInputError } from "../core/errors.js";
import { expandRecordedDefinitions } from "../agents/recorded.js";
import { checkHeadsConfig, isMultiHead } from "./heads.js";
import { withPriceTable } from "./prices.js";
import { recordedPool, resolveRecordedFiles } from "./recorded.js";
import { findRenamed, migrateRenamed } from "./renamed.js";
import { configSchema, constrainedAlgos, trainerTable, type Config, type RawConfig } from "./schema.js";

export { constrainedAlgos };

/** Parses a `--set` value as YAML, so `0.1`, `true`, `[64,64]` and `null` get their types. */
export function parseSetValue(text: string): unknown {
  try {
    return YAML.parse(text);
  } catch {
    return text;
  }
}

/** Applies `a.b.c=value` overrides to a plain object (creating intermediate objects). */
export function applyOverrides(raw: unknown, sets: readonly string[], file: string): Record<string, unknown> {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new InputError(`${file}: (top level): expected a mapping of config fields`, file);
  }
  const root = structuredClone(raw) as Record<string, unknown>;
  for (const s of sets) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new InputError(`--set ${s}: expected key.path=value`, file, s);
    const keys = s.slice(0, eq).split(".");
    const value = parseSetValue(s.slice(eq + 1));
    let node: Record<string, unknown> = root;
    keys.slice(0, -1).forEach((k) => {
      const next = node[k];
      if (next === undefined || next === null) node[k] = {};
      else if (typeof next !== "object" || Array.isArray(next)) {
        throw new InputError(`--set ${s}: "${k}" is not a mapping in ${file}`, file, keys.join("."));
      }
      node = node[k] as Record<string, unknown>;
    });
    node[keys[keys.length - 1]!] = value;
  }
  return root;
}

export interface LoadOptions {
  sets?: readonly string[];
  seed?: number;
  /** How error messages name the `sets` (default `--set`, as on the command line). */
  setsLabel?: string;
  /**
   * The config is a run folder's resolved config.yaml (every field written out): a general field next to the
   * more specific one that overrides it is then expected; only a `sets` entry that would be shadowed is refused.
   */
  resolved?: boolean;
}

/** The value at a dotted path of a raw config object, and whether the path is there at all. */
function rawAt(raw: Record<string, unknown>, key: string): { present: boolean; value: unknown } {
  let node: unknown = raw;
  for (const k of key.split(".")) {
    if (node === null || typeof node !== "object" || Array.isArray(node) || !(k in node)) return { present: false, value: undefined };
    node = (node as Record<string, unknown>)[k];
  }
  return { present: true, value: node };
}

/** LLM settings that a model of llm.models may set for itself, over the llm section's default. */
const perModelLlmFields = ["provider", "baseURL", "apiKeyEnv", "temperature", "maxTokens", "timeoutMs", "maxRetries"] as const;

/**
 * A value that a more specific field overrides has no effect; a config (file, --set or sweep override) that
 * gives both is refused, naming both, instead of silently training with the other value: algo.lr under
 * algo.reinforce.lr (reinforce), and an llm default every model of llm.models sets for itself.
 */
function checkShadowed(
  raw: Record<string, unknown>,
  cfg: Pick<RawConfig, "algo" | "encoder" | "llm">,
  file: string,
  opts: LoadOptions,
): void {
  const label = opts.setsLabel ?? "--set";
  const fromSet = (key: string) => [...(opts.sets ?? [])].reverse().find((s) => s.slice(0, s.indexOf("=")) === key);
  const where = (key: string) => {
    const s = fromSet(key);
    return s !== undefined ? `${label} ${s}` : `${file}: ${key}`;
  };
  const refuse = (general: string, specific: string[], why: string) => {
    if (opts.resolved && fromSet(general) === undefined) return;
    const given = (k: string) =>
      `${k} = ${JSON.stringify(rawAt(raw, k).value)} (${fromSet(k) !== undefined ? `${label} ${fromSet(k)}` : file})`;
    // blame what the user typed last: a --set / sweep override before the file
    const blamed = fromSet(general) !== undefined ? general : (specific.find((k) => fromSet(k) !== undefined) ?? general);
    throw new InputError(
      `${where(blamed)}: ${given(general)} has no effect: ${specific.map(given).join(", ")} ${specific.length > 1 ? "override" : "overrides"} it (${why}); set only one of them`,
      file,
      blamed,
    );
  };
  if (cfg.algo.name === "reinforce" && rawAt(raw, "algo.lr").present) {
    const r = rawAt(raw, "algo.reinforce.lr");
    if (r.present && r.value !== null)
      refuse("algo.lr", ["algo.reinforce.lr"], "algo.name reinforce takes its policy learning rate from algo.reinforce.lr");
  }
  const models = Object.keys(cfg.llm?.models ?? {});
  if (models.length > 0) {
    for (const f of perModelLlmFields) {
      if (!rawAt(raw, `llm.${f}`).present) continue;
      const own = models.filter((m) => rawAt(raw, `llm.models.${m}.${f}`).present);
      // the embedding encoder falls back to llm.baseURL too
      const usedByEncoder = f === "baseURL" && cfg.encoder.name === "embedding" && cfg.encoder.baseURL === undefined;
      if (own.length === models.length && !usedByEncoder)
        refuse(
          `llm.${f}`,
          own.map((m) => `llm.models.${m}.${f}`),
          "every model sets its own",
        );
    }
  }
}

/** An old key (renamed.ts) in a config, a --set or a sweep override: refused, naming the new key. */
function refuseRenamed(raw: Record<string, unknown>, file: string, opts: LoadOptions): void {
  const moved = findRenamed(raw);
  if (moved.length === 0) return;
  const label = opts.setsLabel ?? "--set";
  const setOf = (key: string) => [...(opts.sets ?? [])].reverse().find((x) => concerns(key, x.slice(0, x.indexOf("="))));
  const first = moved.find((m) => setOf(m.old) !== undefined) ?? moved[0]!;
  const s = setOf(first.old);
  const all = moved.map((m) => `${m.old} is now ${m.now}`).join("; ");
  throw new InputError(`${s !== undefined ? `${label} ${s}` : file}: ${all} (docs/config-notes.md)`, file, first.old);
}

/** Whether a problem at `field` (dotted) concerns the value set at `key`. */
function concerns(field: string, key: string): boolean {
  return field === key || field.startsWith(`${key}.`) || field.startsWith(`${key}[`) || key.startsWith(`${field}.`);
}

/** Validates a raw config object; `file` and `configDir` are used for messages and agent lookup. */
export function validateConfig(raw: unknown, file: string, configDir: string, opts: LoadOptions = {}): Config {
  // a run folder written before keys moved loads under the new names; a user's old key is refused
  const base = opts.resolved ? migrateRenamed(raw) : raw;
  const withSets = withPriceTable(applyOverrides(base, opts.sets ?? [], file), file, configDir);
  refuseRenamed(withSets, file, opts);
  if (opts.seed !== undefined) withSets.seed = opts.seed;
  const parsed = configSchema.safeParse(withSets);
  if (!parsed.success) {
    const label = opts.setsLabel ?? "--set";
    throw zodToInputError(file, parsed.error, {
      schema: configSchema,
      raw: withSets,
      sourceOf: (field) => {
        if (opts.seed !== undefined && field === "seed") return `--seed ${opts.seed}`;
        // the last --set of a key wins, so it is the one to blame
        const s = [...(opts.sets ?? [])].reverse().find((x) => concerns(field, x.slice(0, x.indexOf("="))));
        return s === undefined ? undefined : `${label} ${s}`;
      },
    });
  }
  const cfg = parsed.data;
  checkShadowed(withSets, cfg, file, opts);
  // algo.reinforce.lr left out: 0.003, unless the config sets algo.lr, which is then the rate reinforce uses
  if (rawAt(withSets, "algo.lr").present && !rawAt(withSets, "algo.reinforce.lr").present) cfg.algo.reinforce.lr = null;
  if (cfg.tasks.source === "jsonl") {
    // dataset paths are stored absolute, so the run folder's config.yaml finds them again
    cfg.tasks.file = path.resolve(configDir, cfg.tasks.file);
    if (cfg.tasks.evalFile !== undefined) cfg.tasks.evalFile = path.resolve(configDir, cfg.tasks.evalFile);
  }
  if (cfg.tasks.source === "recorded") {
    // globs and lists become absolute file lists, so the run folder's config.yaml finds the same data
    cfg.tasks.file = resolveRecordedFiles(cfg.tasks.file, configDir, file);
    if (cfg.tasks.gold) cfg.tasks.gold.file = resolveRecordedFiles(cfg.tasks.gold.file, configDir, file, "tasks.gold.file")[0]!;
  }
  if ("evaluator" in cfg.tasks && typeof cfg.tasks.evaluator === "object") {
    // stored absolute, as dataset paths are; the module itself is imported before a run (loadUserModules)
    const e = cfg.tasks.evaluator;
    e.module = resolveModuleFile(e.module, configDir, `${file}: tasks.evaluator.module`);
    setModuleOrigin(e, { file, field: "tasks.evaluator" });
  }
  let agents = resolveAgentDefinitions(cfg.agents, configDir, file);
  if (cfg.tasks.source === "recorded" && agents.some((a) => a.kind === "recorded" && a.model === "*")) {
    agents = expandRecordedDefinitions(agents, recordedPool(cfg));
  }
  const config: Config = {
    ...cfg,
    train: { ...cfg.train, updates: cfg.train.updates ?? trainerTable[cfg.algo.name].updates },
    algo: { ...cfg.algo, entropyCoef: cfg.algo.entropyCoef ?? trainerTable[cfg.algo.name].entropyCoef },
    agents,
  };
  checkCrossFields(config, file);
  return config;
}

function checkCrossFields(c: Config, file: string): void {
  checkLlmFields(c, file);
  if (constrainedAlgos.includes(c.algo.name) && c.env.budget === undefined) {
    throw new InputError(
      `${file}: env.budget: algo.name "${c.algo.name}" is a constrained trainer and needs a cost budget d`,
      file,
      "env.budget",
    );
  }
  if (c.tasks.source === "sim") checkSimConfig(c, file);
  checkHeadsConfig(c, file);
  checkRecordedConfig(c, file);
  if ((c.tasks.evaluator === "terminated" || typeof c.tasks.evaluator === "object") && !c.agents.some((a) => a.kind === "terminator")) {
    throw new InputError(
      `${file}: tasks.evaluator: ${evaluatorLabel(c)} needs a terminator agent in the pool (agents has none)`,
      file,
      "tasks.evaluator",
    );
  }
}

/** How messages name the config's task evaluator: `"numeric"`, or `the module evaluator (file, export "x")`. */
function evaluatorLabel(c: Config): string {
  const e = c.tasks.evaluator;
  return typeof e === "object" ? `the module evaluator (${e.module}, export "${e.export}")` : `"${e}"`;
}

/** LLM agents need an llm section naming their models; answer evaluators need a terminator. */
function checkLlmFields(c: Config, file: string): void {
  c.agents.forEach((a, i) => {
    if (a.kind !== "llm") return;
    if (!c.llm)
      throw new InputError(`${file}: llm: agent "${a.name}" (agents[${i}]) is an LLM agent; the config needs an llm section`, file, "llm");
    if (!(a.model in c.llm.models)) {
      throw new InputError(
        `${file}: agents[${i}].model: agent "${a.name}" uses model "${a.model}", which is not in llm.models (has: ${Object.keys(c.llm.models).join(", ") || "none"})`,
        file,
        `agents[${i}].model`,
      );
    }
  });
  if (c.encoder.name === "embedding" && c.encoder.baseURL === undefined && c.llm?.baseURL === undefined) {
    throw new InputError(`${file}: encoder.baseURL: the embedding encoder needs a baseURL (or llm.baseURL)`, file, "encoder.baseURL");
  }
  if ((c.tasks.source === "jsonl" || c.tasks.source === "arithmetic") && !c.agents.some((a) => a.kind === "terminator")) {
    throw new InputError(
      `${file}: tasks.evaluator: ${evaluatorLabel(c)} judges the answer when a terminator ends the episode; agents has no terminator`,
      file,
      "tasks.evaluator",
    );
  }
  if (c.tasks.source === "arithmetic" && c.tasks.minSteps > c.tasks.maxSteps) {
    throw new InputError(`${file}: tasks.minSteps: must be ≤ tasks.maxSteps`, file, "tasks.minSteps");
  }
}

/** Recorded agents, call shapes (env.shape) and the budget-conditioned knob. */
function checkRecordedConfig(c: Config, file: string): void {
  const terminators = c.agents.filter((a) => a.kind === "terminator").length;
  c.agents.forEach((a, i) => {
    if (a.kind === "recorded" && c.tasks.source !== "recorded") {
      throw new InputError(
        `${file}: agents[${i}] (${a.name}): kind recorded needs tasks.source: recorded (the table of recorded answers)`,
        file,
        `agents[${i}].kind`,
      );
    }
  });
  if (c.tasks.source === "recorded") {
    if (!c.agents.some((a) => a.kind === "recorded" || a.kind === "llm")) {
      throw new InputError(
        `${file}: agents: tasks.source recorded needs agents of kind recorded (e.g. {kind: recorded, model: "*"}) or llm`,
        file,
        "agents",
      );
    }
    if (terminators === 0)
      throw new InputError(
        `${file}: agents: recorded answers are judged when a terminator ends the episode; agents has no terminator`,
        file,
        "agents",
      );
    const sp = c.tasks.split;
    if (sp.train + sp.val + sp.test <= 0) throw new InputError(`${file}: tasks.split: fractions must not all be 0`, file, "tasks.split");
  }
  if (c.env.shape !== "free") {
    if (terminators !== 1)
      throw new InputError(
        `${file}: env.shape: "${c.env.shape}" needs exactly one terminator agent (agents has ${terminators})`,
        file,
        "env.shape",
      );
    if (isMultiHead(c))
      throw new InputError(
        `${file}: env.shape: "${c.env.shape}" works with the single agent head only (policy.heads has several)`,
        file,
        "env.shape",
      );
    if (c.env.maxSteps < 2)
      throw new InputError(
        `${file}: env.maxSteps: env.shape "${c.env.shape}" needs at least 2 steps (a call, then the terminator)`,
        file,
        "env.maxSteps",
      );
  }
  const k = c.knob;
  if (k) {
    if (c.algo.name !== "reinforce" && c.algo.name !== "ppo") {
      throw new InputError(
        `${file}: knob: the budget-conditioned policy is trained with algo.name reinforce or ppo (the knob sets each episode's cost penalty); got "${c.algo.name}"`,
        file,
        "knob",
      );
    }
    if (c.reward.costPenalty !== 0)
      throw new InputError(
        `${file}: reward.costPenalty: must be 0 with a knob (the knob sets each episode's λ)`,
        file,
        "reward.costPenalty",
      );
    if (k.min !== null && k.max !== null && k.min > k.max) throw new InputError(`${file}: knob.min: must be ≤ knob.max`, file, "knob.min");
  }
}

/** A simulated config: every solver knows every task type, every boost names a solver of the pool. */
function checkSimConfig(c: Config, file: string): void {
  if (c.tasks.source !== "sim") return;
  const types = Object.keys(c.tasks.types);
  const names = new Set(c.agents.map((a) => a.name));
  c.agents.forEach((a, i) => {
    if (a.kind !== "sim") return;
    for (const t of types) {
      if (a.solve !== undefined && !(t in a.solve)) {
        throw new InputError(
          `${file}: agents[${i}] (${a.name}).solve: no success probability for task type "${t}" (tasks.types has ${types.join(", ")})`,
          file,
          `agents[${i}].solve`,
        );
      }
    }
    for (const s of Object.keys(a.solve ?? {})) {
      if (!types.includes(s)) {
        throw new InputError(
          `${file}: agents[${i}] (${a.name}).solve.${s}: not a task type of tasks.types (${types.join(", ")})`,
          file,
          `agents[${i}].solve`,
        );
      }
    }
    for (const target of Object.keys(a.boost ?? {})) {
      const solver = c.agents.find((b) => b.name === target);
      if (!names.has(target) || solver?.kind !== "sim" || solver.solve === undefined) {
        throw new InputError(`${file}: agents[${i}] (${a.name}).boost.${target}: not a sim solver of the pool`, file, `agents[${i}].boost`);
      }
    }
  });
  if (!c.env.terminatorEndsEpisode) {
    throw new InputError(
      `${file}: env.terminatorEndsEpisode: simulated configs need true (the Terminator gives up)`,
      file,
      "env.terminatorEndsEpisode",
    );
  }
  if (c.tasks.evaluator !== "solved") {
    throw new InputError(`${file}: tasks.evaluator: simulated tasks need "solved"`, file, "tasks.evaluator");
  }
}

export interface LoadConfigOptions extends LoadOptions {
  /**
   * A config given as an object: the folder its relative paths (agent files, datasets, modules) are
   * read from (default: the working directory), and the name its errors give it (default "config").
   */
  dir?: string;
  label?: string;
}

/**
 * Reads, overrides and validates a config: a YAML file, or the same fields as a plain object (the
 * library's way to train from code). Nothing is written.
 */
export function loadConfig(source: string | Record<string, unknown>, opts: LoadConfigOptions = {}): Config {
  if (typeof source !== "string") return validateConfig(source, opts.label ?? "config", path.resolve(opts.dir ?? "."), opts);
  const raw = readYamlFile(source);
  return validateConfig(raw, source, path.dirname(path.resolve(source)), opts);
}

/** The resolved config as YAML (what a run folder's config.yaml holds). */
export function configToYaml(c: Config): string {
  return YAML.stringify(c, { lineWidth: 0 });
}

/**
 * Things a valid config may not mean, said once when a run starts: a budget-blind
 * trainer (reinforce, ppo) on a config with env.budget optimises the penalised reward and does not
 * hold the budget.
 */
export function configWarnings(c: Config): string[] {
  const out: string[] = [];
  if (c.env.budget !== undefined && !constrainedAlgos.includes(c.algo.name)) {
    out.push(
      `env.budget (d = ${c.env.budget}) is not enforced by algo.name "${c.algo.name}": it optimises the configured reward r − λ·c ` +
        `with λ = reward.costPenalty = ${c.reward.costPenalty}; the constrained trainers (${constrainedAlgos.join(", ")}) hold the budget`,
    );
  }
  return out;
}
