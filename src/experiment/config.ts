import path from "node:path";
import YAML from "yaml";
import { z } from "zod";
import { agentDefinitionSchema, type AgentDefinition } from "../agents/definition.js";
import { readYamlFile, resolveAgentDefinitions } from "../agents/loader.js";
import { InputError, zodToInputError } from "../core/errors.js";
import { evaluatorNames } from "../tasks/evaluators.js";
import { backendNames } from "../policy/backend.js";
import { activationNames, initNames } from "../policy/mlp.js";

/**
 * The experiment config: one zod schema whose every field carries a description, so validation
 * errors, `maestro config --docs` and the README's reference table come from one source.
 */

const positiveInt = () => z.number().int().positive();

const hidden = z.array(positiveInt()).describe("Hidden layer sizes of the MLP.");

const inlineTasks = z
  .object({
    source: z.literal("inline").describe("Tasks listed in the config."),
    items: z.array(z.string().min(1)).min(1).describe("The task texts."),
    order: z
      .enum(["cycle", "random"])
      .default("cycle")
      .describe("cycle: episode e of update n gets task (n·episodesPerUpdate + e) mod #items (the DOA order); random: uniform draws."),
    evaluator: z
      .enum(evaluatorNames)
      .default("terminated")
      .describe("Success rule. terminated: ended by a terminal agent before maxSteps (DOA MVP); solved: a simulated agent solved it."),
  })
  .strict();

const tasksSchema = z.discriminatedUnion("source", [inlineTasks]).describe("Where episodes' tasks come from.");

const envSchema = z
  .object({
    maxSteps: positiveInt().describe("Episode length limit; reaching it without a terminal step is a failure."),
    terminatorEndsEpisode: z
      .boolean()
      .default(true)
      .describe(
        "true: a terminal agent (the Terminator) ends the episode. false: the DOA code as published — episodes always run maxSteps, each terminal step is scored as a successful terminal step.",
      ),
    budget: z.number().positive().optional().describe("Episode cost budget d of the CMDP (shown to the features encoder)."),
  })
  .strict()
  .describe("The orchestration environment.");

const rewardSchema = z
  .object({
    successBonus: z.number().default(1).describe("Task reward r on success."),
    failurePenalty: z.number().default(-1).describe("Task reward r on failure."),
    costPenalty: z
      .number()
      .nonnegative()
      .default(0)
      .describe("λ of the penalised reward R_t = r_t − λ·c_t (Puppeteer/DOA form). Keep 0 for constrained trainers."),
    gamma: z.number().min(0).max(1).default(0.99).describe("Discount factor γ."),
  })
  .strict()
  .describe("Reward of DESIGN §1.");

const doaEncoder = z
  .object({ name: z.literal("doa-md5").describe("DOA's 64-d encoder: md5 of the task + 3 history features.") })
  .strict();
const featuresEncoder = z
  .object({
    name: z.literal("features").describe("Hashed n-grams of task and recent outputs + structural features."),
    taskBuckets: z.number().int().nonnegative().default(64).describe("Hash buckets for the task text."),
    outputBuckets: z.number().int().nonnegative().default(32).describe("Hash buckets for the recent outputs."),
    recentTurns: z.number().int().nonnegative().default(2).describe("How many latest outputs are hashed."),
    costScale: z.number().positive().default(10).describe("Cost normaliser when the run has no budget."),
  })
  .strict();
const encoderSchema = z.discriminatedUnion("name", [doaEncoder, featuresEncoder]).describe("State encoder.");

const policySchema = z
  .object({
    hidden: hidden.default([128, 128]),
    activation: z.enum(activationNames).default("relu").describe("Hidden activation."),
    init: z
      .enum(initNames)
      .default("torch-default")
      .describe("Weight init. torch-default: U(±1/√fan_in) for weights and biases (PyTorch's nn.Linear, DOA parity)."),
  })
  .strict()
  .describe("Policy network.");

const reinforceSchema = z
  .object({
    baseline: z
      .enum(["none", "mean", "value"])
      .default("none")
      .describe("Baseline subtracted from G_t: none (DOA), mean of the batch's returns, or a learned value network."),
    normalizeReturns: z.boolean().default(false).describe("Standardise G_t over the batch before the baseline."),
    valueLr: z.number().positive().default(1e-3).describe("Learning rate of the value baseline."),
    valueHidden: hidden.default([64, 64]),
  })
  .strict()
  .describe("REINFORCE options.");

const algoSchema = z
  .object({
    name: z.enum(["reinforce"]).default("reinforce").describe("Trainer."),
    lr: z.number().positive().default(1e-3).describe("Adam learning rate of the policy."),
    adamEps: z.number().positive().default(1e-8).describe("Adam ε (torch's default)."),
    maxGradNorm: z.number().positive().nullable().default(1.0).describe("Global-norm gradient clip (null = off)."),
    entropyCoef: z.number().nonnegative().default(0).describe("Entropy bonus coefficient β."),
    reinforce: reinforceSchema.default(reinforceSchema.parse({})),
  })
  .strict()
  .describe("Training algorithm.");

const trainSchema = z
  .object({
    updates: positiveInt().describe("Number of policy updates."),
    episodesPerUpdate: positiveInt().describe("Episodes collected (in lockstep) per update."),
    checkpointEvery: positiveInt().default(10).describe("Save a checkpoint every N updates (and always at the end); a resumed run redoes at most N−1 updates, exactly."),
    keepCheckpoints: positiveInt().default(3).describe("How many recent checkpoints to keep."),
  })
  .strict()
  .describe("Training loop.");

const logSchema = z
  .object({
    episodeSample: z
      .number()
      .int()
      .min(-1)
      .default(2)
      .describe("Trajectories per update written to episodes.jsonl (-1 = all, 0 = none)."),
    plot: z.boolean().default(true).describe("Write plots/learning-curve.png at the end of the run."),
  })
  .strict()
  .describe("What the run writes besides metrics.csv.");

export const configSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/, "letters, digits, _ . - only")
      .describe("Experiment name; runs go to runs/<name>/<timestamp>-seed<k>/."),
    description: z.string().optional().describe("Free text."),
    seed: z.number().int().nonnegative().default(0).describe("The one seed behind every random choice."),
    backend: z.enum(backendNames).default("auto").describe("tfjs backend: auto picks node → wasm → cpu."),
    agents: z
      .array(z.union([z.string(), z.record(z.string(), z.unknown())]))
      .min(2)
      .describe("Agent pool in action order: names (agents/<name>.yaml), paths, or inline definitions."),
    tasks: tasksSchema,
    env: envSchema,
    reward: rewardSchema.default(rewardSchema.parse({})),
    encoder: encoderSchema.default({ name: "doa-md5" }),
    policy: policySchema.default(policySchema.parse({})),
    algo: algoSchema.default(algoSchema.parse({})),
    train: trainSchema,
    log: logSchema.default(logSchema.parse({})),
  })
  .strict();

export type RawConfig = z.infer<typeof configSchema>;
/** A validated config whose agents are resolved to inline definitions (what config.yaml holds). */
export type Config = Omit<RawConfig, "agents"> & { agents: AgentDefinition[] };

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
}

/** Validates a raw config object; `file` and `configDir` are used for messages and agent lookup. */
export function validateConfig(raw: unknown, file: string, configDir: string, opts: LoadOptions = {}): Config {
  const withSets = applyOverrides(raw, opts.sets ?? [], file);
  if (opts.seed !== undefined) withSets.seed = opts.seed;
  const parsed = configSchema.safeParse(withSets);
  if (!parsed.success) throw zodToInputError(file, parsed.error);
  const cfg = parsed.data;
  const agents = resolveAgentDefinitions(cfg.agents, configDir, file);
  const config: Config = { ...cfg, agents };
  checkCrossFields(config, file);
  return config;
}

function checkCrossFields(c: Config, file: string): void {
  if (c.tasks.evaluator === "terminated" && !c.agents.some((a) => a.kind === "terminator")) {
    throw new InputError(
      `${file}: tasks.evaluator: "terminated" needs a terminator agent in the pool (agents has none)`,
      file,
      "tasks.evaluator",
    );
  }
}

/** Reads, overrides and validates a config file. Nothing is written. */
export function loadConfig(file: string, opts: LoadOptions = {}): Config {
  const raw = readYamlFile(file);
  return validateConfig(raw, file, path.dirname(path.resolve(file)), opts);
}

/** The resolved config as YAML (what a run folder's config.yaml holds). */
export function configToYaml(c: Config): string {
  return YAML.stringify(c, { lineWidth: 0 });
}

export { agentDefinitionSchema };
