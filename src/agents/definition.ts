import { z } from "zod";

/**
 * Schemas of agent definitions (`agents/*.yaml`, or inline in a config's `agents` list).
 * One variant per `kind`; every field is documented so errors and the docs can name it.
 */

const name = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+$/, "letters, digits, _ . - only")
  .describe("Unique agent name within the pool (used in trajectories, metrics and plots).");
const description = z.string().optional().describe("Free text shown in traces; not used by training.");

/** `extract.mode: regex` needs a pattern that compiles (llm and recorded agents). */
function checkExtractPattern(d: { extract: { mode: string; pattern?: string | undefined } }, ctx: z.RefinementCtx): void {
  if (d.extract.mode !== "regex") return;
  if (d.extract.pattern === undefined) {
    ctx.addIssue({ code: "custom", path: ["extract", "pattern"], message: "extract.mode regex needs a pattern" });
    return;
  }
  try {
    new RegExp(d.extract.pattern);
  } catch (e) {
    ctx.addIssue({ code: "custom", path: ["extract", "pattern"], message: `invalid regular expression (${(e as Error).message})` });
  }
}

export const echoAgentSchema = z
  .object({
    name,
    kind: z.literal("echo").describe("DOA's Echo agent: content `Echo: <task>`."),
    cost: z.number().nonnegative().default(1).describe("Fixed cost of one call."),
    description,
  })
  .strict();

export const terminatorAgentSchema = z
  .object({
    name,
    kind: z.literal("terminator").describe("Ends the episode (content `TERMINATE`)."),
    cost: z.number().nonnegative().default(0).describe("Fixed cost of one call."),
    description,
  })
  .strict();

export const extractModes = ["answer-line", "regex", "last-number", "choice", "json-answer", "none"] as const;

export const llmAgentSchema = z
  .object({
    name,
    kind: z.literal("llm").describe("An LLM-backed agent: a role prompt sent to a model of the config's llm.models."),
    role: z.string().optional().describe("Role name shown in traces (defaults to the agent name)."),
    prompt: z.string().min(1).describe("System prompt: the agent's role and how it should answer."),
    model: z.string().min(1).describe("Key of the model in the experiment config's llm.models."),
    transcript: z
      .object({
        lastTurns: z.number().int().nonnegative().default(6).describe("How many of the latest turns are shown to the agent."),
        maxTokens: z
          .number()
          .int()
          .positive()
          .default(1500)
          .describe("Token budget of the shown transcript (≈ 4 characters per token); older turns are dropped first."),
      })
      .strict()
      .default({ lastTurns: 6, maxTokens: 1500 })
      .describe("How earlier turns of the episode are shown."),
    extract: z
      .object({
        mode: z
          .enum(extractModes)
          .default("answer-line")
          .describe(
            "answer-line: the last `ANSWER: ...` line; regex: group 1 (or the match) of `pattern`; last-number; choice: the last option letter A–E; json-answer: ZeroEval's rule (the `answer` of the first JSON object, a regex fallback, `\\boxed{}` for Llama-3.1 models); none.",
          ),
        pattern: z.string().optional().describe("Regular expression for mode regex (flags: i, m)."),
      })
      .strict()
      .default({ mode: "answer-line" })
      .describe("How the answer is extracted from the reply."),
    instruction: z
      .string()
      .default("End your reply with a line `ANSWER: <answer>`.")
      .describe("Appended to the user message after the task and transcript."),
    description,
  })
  .strict()
  .superRefine(checkExtractPattern);

export const simAgentSchema = z
  .object({
    name,
    kind: z.literal("sim").describe("Simulated agent with Markov semantics: a solver (`solve`), a helper (`boost`) or both."),
    cost: z.number().nonnegative().describe("Fixed cost of one call."),
    solve: z
      .record(z.string().min(1), z.number().min(0).max(1))
      .optional()
      .describe("Solver: success probability of a call per task type, e.g. {easy: 0.8, hard: 0.3}."),
    boost: z
      .record(z.string().min(1), z.number())
      .optional()
      .describe("Helper: delta added to the success probability of later calls of each named solver, once this agent has been called."),
    tiers: z
      .record(
        z.string().min(1),
        z
          .object({
            costMultiplier: z.number().nonnegative().default(1).describe("The call's cost is `cost` × this at this tier."),
            successDelta: z.number().default(0).describe("Added to the call's success probability at this tier (then clamped to [0, 1])."),
          })
          .strict(),
      )
      .optional()
      .describe(
        "Per-tier behaviour, used when the config has a `tier` head (policy.heads): a call made at tier t costs cost × tiers[t].costMultiplier and succeeds with probability clamp(solve + boosts + tiers[t].successDelta, 0, 1). Tiers not listed behave as declared (×1, +0).",
      ),
    description,
  })
  .strict()
  .refine((d) => d.solve !== undefined || d.boost !== undefined, {
    message: "a sim agent needs `solve` (a solver), `boost` (a helper) or both",
    path: ["solve"],
  });

export const recordedAgentSchema = z
  .object({
    name: name.describe(
      'Unique agent name within the pool (default: the model column\'s last path segment, e.g. Mixtral-8x7B-Instruct-v0.1; for `model: "*"` the generated agents are named so).',
    ),
    kind: z
      .literal("recorded")
      .describe(
        "Recorded answers of a real model (needs tasks.source: recorded): returns the model's recorded answer to the task, its recorded correctness and the call's cost.",
      ),
    model: z
      .string()
      .min(1)
      .describe(
        "Model column of the recorded table whose answers this agent returns, or `*`: one agent per model of the table, cheapest first (so a config works unchanged on another recorded file).",
      ),
    price: z
      .string()
      .min(1)
      .optional()
      .describe("Key of llm.models holding this model's prices (default: the entry whose key or `model` equals the column name)."),
    cost: z
      .number()
      .nonnegative()
      .optional()
      .describe("Fixed cost per call, used when the table records no cost for the call and llm.models has no price for the model."),
    extract: z
      .object({
        mode: z
          .enum(extractModes)
          .default("answer-line")
          .describe(
            "How the final answer is read from the recorded text (as for llm agents), where the table records no extracted answer; whether one is found is a feature the policy sees.",
          ),
        pattern: z.string().optional().describe("Regular expression for mode regex (flags: i, m), e.g. `####\\s*(-?[\\d,.]+)` for GSM8K."),
      })
      .strict()
      .default({ mode: "answer-line" })
      .describe("The expected form of the final answer in the recorded text."),
    description,
  })
  .strict()
  .superRefine(checkExtractPattern);

/** The module reference fields shared by `kind: module` agents and module task evaluators. */
export const moduleRefFields = {
  module: z
    .string()
    .min(1)
    .describe("Path of a JavaScript or TypeScript module (.js, .mjs, .cjs, .ts, .mts), relative to the file it is written in."),
  export: z.string().min(1).default("default").describe("Name of the module's export to use (default: its default export)."),
  params: z.record(z.string(), z.unknown()).default({}).describe("Free-form settings passed to every call as `input.params`."),
};

export const moduleAgentSchema = z
  .object({
    name,
    kind: z
      .literal("module")
      .describe(
        "Your own agent: an export of a JavaScript/TypeScript module, called with the task and the history; returns an answer, a cost and optional tokens, sync or async (docs/module-agents.md).",
      ),
    ...moduleRefFields,
    cost: z
      .number()
      .nonnegative()
      .optional()
      .describe("Cost of a call whose result has no `cost` (without it, every result must have one)."),
    description,
  })
  .strict();

/** Default name of a recorded agent: the model column's last path segment, in the allowed characters. */
export function recordedAgentName(model: string): string {
  if (model === "*") return "recorded";
  const last =
    model
      .split("/")
      .filter((s) => s !== "")
      .pop() ?? model;
  return last.replace(/[^A-Za-z0-9_.-]+/g, "-").replace(/^-+|-+$/g, "") || "model";
}

/** Fills the default name of a recorded agent before validation. */
function withDefaultName(raw: unknown): unknown {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return raw;
  const r = raw as Record<string, unknown>;
  if (r.kind === "recorded" && r.name === undefined && typeof r.model === "string") return { ...r, name: recordedAgentName(r.model) };
  return raw;
}

export const agentDefinitionSchema = z.preprocess(
  withDefaultName,
  z.discriminatedUnion("kind", [
    echoAgentSchema,
    terminatorAgentSchema,
    simAgentSchema,
    llmAgentSchema,
    recordedAgentSchema,
    moduleAgentSchema,
  ]),
);

export type AgentDefinition = z.infer<typeof agentDefinitionSchema>;
export type AgentDefinitionInput = z.input<typeof agentDefinitionSchema>;
