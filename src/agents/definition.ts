import { z } from "zod";

/**
 * Schemas of agent definitions (`agents/*.yaml`, or inline in a config's `agents` list).
 * One variant per `kind`; every field is documented so errors and the README can name it.
 */

const name = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+$/, "letters, digits, _ . - only")
  .describe("Unique agent name within the pool (used in trajectories, metrics and plots).");
const description = z.string().optional().describe("Free text shown in traces; not used by training.");

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

export const simAgentSchema = z
  .object({
    name,
    kind: z
      .literal("sim")
      .describe("Simulated agent with Markov semantics (issue 3): a solver (`solve`), a helper (`boost`) or both."),
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
        "Per-tier behaviour (issue 4), used when the config has a `tier` head (policy.heads): a call made at tier t costs cost × tiers[t].costMultiplier and succeeds with probability clamp(solve + boosts + tiers[t].successDelta, 0, 1). Tiers not listed behave as declared (×1, +0).",
      ),
    description,
  })
  .strict()
  .refine((d) => d.solve !== undefined || d.boost !== undefined, {
    message: "a sim agent needs `solve` (a solver), `boost` (a helper) or both",
    path: ["solve"],
  });

export const agentDefinitionSchema = z.discriminatedUnion("kind", [echoAgentSchema, terminatorAgentSchema, simAgentSchema]);

export type AgentDefinition = z.infer<typeof agentDefinitionSchema>;
export type AgentDefinitionInput = z.input<typeof agentDefinitionSchema>;
