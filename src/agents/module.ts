/**
 * `kind: module` agents: a user's own JavaScript/TypeScript function acts as an agent of the pool — a
 * tool (a calculator, a code runner), a retrieval step, a call into the user's own service. It gets the
 * task and the history and returns an answer, a cost and optional token counts, synchronously or as a
 * promise. Its result is checked on every call, so a wrong field fails with the agent's name and module.
 */
import { z } from "zod";
import { InputError } from "../core/errors.js";
import type { Rng } from "../core/rng.js";
import type { AgentOutput, SystemState, Task, Turn } from "../core/types.js";
import type { Agent, AgentContext } from "./agent.js";
import { callableOf, describeValue, type ModuleRef } from "./user-module.js";

/** What a module agent is called with on each step. */
export interface ModuleAgentInput {
  /** The task of the episode (`prompt`, `id`, and the reference `answer` where the task source has one: do not peek). */
  task: Task;
  /** The turns so far: which agent acted and what it returned (`output.content`, `output.answer`, `output.cost`). */
  history: readonly Turn[];
  /** Steps taken so far (= history.length). */
  step: number;
  maxSteps: number;
  /** Cost spent so far in the episode. */
  costSpent: number;
  /** The episode's cost budget, if the run has one. */
  budget?: number;
  /** This agent's name in the pool. */
  agent: string;
  /** The agent definition's `params`, as written. */
  params: Record<string, unknown>;
  /** The episode's seeded random stream (`rng.next()` ∈ [0, 1)): use it instead of Math.random so runs reproduce; draw before any await. */
  rng: Rng;
  /** Index of the episode within the run (or evaluation). */
  episode: number;
  /** Extra per-step choices of a factored action (e.g. {tier: "large"}); absent for single-head runs. */
  options?: Record<string, string>;
}

/** What a module agent returns (or resolves to). */
export interface ModuleAgentResult {
  /** The answer, if the agent gives one (answer evaluators judge the episode's final answer). Numbers are turned into text. */
  answer?: string | number;
  /** Text shown to later agents and in traces (default: the answer, else empty). */
  content?: string;
  /** Cost of this call in the run's cost units; may be left out when the agent definition sets `cost`. */
  cost?: number;
  /** Token counts of the call, if it used a model (recorded in traces and episodes.jsonl). */
  tokens?: { input: number; output: number };
  /** Free-form extra information, kept in the turn (traces, episodes). */
  meta?: Record<string, unknown>;
}

/** The function a module agent's export is (or has as its `act` method). */
export type ModuleAgentFunction = (input: ModuleAgentInput) => ModuleAgentResult | Promise<ModuleAgentResult>;

export const moduleAgentExpected =
  "a function (input) => {answer, cost, tokens?}, sync or async, or an object with such an act(input) method";

const resultSchema = z
  .object({
    answer: z.union([z.string(), z.number().refine(Number.isFinite, "a finite number")]).optional(),
    content: z.string().optional(),
    cost: z.number().refine(Number.isFinite, "a finite number").pipe(z.number().nonnegative()).optional(),
    tokens: z.object({ input: z.number().int().nonnegative(), output: z.number().int().nonnegative() }).strict().optional(),
    meta: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/** Turns an export into the agent's act function (InputError when the export has the wrong shape). */
export function moduleAgentFunction(value: unknown, where: string): ModuleAgentFunction {
  return callableOf<ModuleAgentFunction>(value, "act", where, moduleAgentExpected);
}

export interface ModuleAgentOptions {
  name: string;
  ref: ModuleRef;
  fn: ModuleAgentFunction;
  /** Cost of a call whose result has none. */
  cost?: number;
  params: Record<string, unknown>;
}

/** An agent backed by a user's module export. */
export class ModuleAgent implements Agent {
  readonly kind = "module";
  readonly name: string;

  constructor(private readonly o: ModuleAgentOptions) {
    this.name = o.name;
  }

  act(state: SystemState, ctx: AgentContext): AgentOutput | Promise<AgentOutput> {
    const input: ModuleAgentInput = {
      task: state.task,
      history: state.history,
      step: state.step,
      maxSteps: state.maxSteps,
      costSpent: state.costSpent,
      ...(state.budget !== undefined ? { budget: state.budget } : {}),
      agent: this.name,
      params: this.o.params,
      rng: ctx.rng,
      episode: ctx.episode,
      ...(ctx.options ? { options: ctx.options } : {}),
    };
    let out: ModuleAgentResult | Promise<ModuleAgentResult>;
    try {
      out = this.o.fn(input);
    } catch (e) {
      throw this.failure(`threw: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (out instanceof Promise) {
      return out.then(
        (r) => this.toOutput(r),
        (e: unknown) => {
          throw this.failure(`rejected: ${e instanceof Error ? e.message : String(e)}`);
        },
      );
    }
    return this.toOutput(out);
  }

  private failure(what: string): InputError {
    return new InputError(`agent "${this.name}" (${this.o.ref.module}, export "${this.o.ref.export}") ${what}`, this.o.ref.module);
  }

  private toOutput(r: unknown): AgentOutput {
    if (r === null || typeof r !== "object" || Array.isArray(r)) {
      throw this.failure(`returned ${describeValue(r)}; expected an object {answer?, content?, cost, tokens?, meta?}`);
    }
    const parsed = resultSchema.safeParse(r);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => {
        if (i.code === "unrecognized_keys")
          return `unknown field${i.keys.length > 1 ? "s" : ""} ${i.keys.join(", ")} (expected answer, content, cost, tokens, meta)`;
        return `${i.path.join(".") || "(result)"}: ${i.message}`;
      });
      throw this.failure(`returned a bad result: ${problems.join("; ")}`);
    }
    const v = parsed.data;
    const cost = v.cost ?? this.o.cost;
    if (cost === undefined) throw this.failure("returned no cost (return a cost, or set `cost` in the agent definition)");
    const answer = v.answer === undefined ? undefined : String(v.answer);
    return {
      content: v.content ?? answer ?? "",
      cost,
      ...(answer !== undefined ? { answer } : {}),
      ...(v.tokens ? { usage: { inputTokens: v.tokens.input, outputTokens: v.tokens.output } } : {}),
      ...(v.meta ? { meta: v.meta } : {}),
    };
  }
}
