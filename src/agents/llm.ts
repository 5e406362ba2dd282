import type { AgentOutput, SystemState, Turn } from "../core/types.js";
import type { LlmClient } from "../llm/client.js";
import type { ChatMessage } from "../llm/types.js";
import { extractZeroEval } from "../tasks/zeroeval-rule.js";
import type { Agent, AgentContext } from "./agent.js";
import type { extractModes } from "./definition.js";

export interface LlmAgentOptions {
  name: string;
  role: string;
  prompt: string;
  model: string;
  lastTurns: number;
  transcriptTokens: number;
  extract: { mode: (typeof extractModes)[number]; pattern?: string };
  instruction: string;
}

/**
 * Extracts an answer from a reply; undefined when there is none. `model` (the model's name) matters to
 * json-answer only, whose rule reads `\boxed{}` for Llama-3.1 models.
 */
export function extractAnswer(text: string, e: LlmAgentOptions["extract"], model?: string): string | undefined {
  let m: RegExpMatchArray | undefined;
  switch (e.mode) {
    case "none":
      return undefined;
    case "answer-line":
      m = [...text.matchAll(/^\s*\**answer\**\s*[:=]\s*\**\s*(.+?)\s*$/gim)].pop();
      return m?.[1]?.replace(/\*+$/, "").trim() || undefined;
    case "regex":
      m = [...text.matchAll(new RegExp(e.pattern ?? "", "gim"))].pop();
      return m ? (m[1] ?? m[0]).trim() || undefined : undefined;
    case "last-number":
      m = [...text.replace(/(\d),(?=\d{3}\b)/g, "$1").matchAll(/-?\d+(?:\.\d+)?/g)].pop();
      return m?.[0];
    case "choice":
      m = [...text.matchAll(/\b([A-E])\b/g)].pop();
      return m?.[1];
    case "json-answer":
      return extractZeroEval(text, model).answer;
  }
}

/** The transcript shown to an agent: the latest `lastTurns` turns with content, within a token budget. */
export function renderTranscript(history: readonly Turn[], lastTurns: number, tokens: number): string {
  const shown: string[] = [];
  let budget = tokens * 4;
  const turns = history.filter((t) => t.output.content !== "" && !t.output.terminal && t.output.meta?.error === undefined);
  for (let i = turns.length - 1; i >= 0 && shown.length < lastTurns; i--) {
    const text = `[${turns[i]!.agent}]\n${turns[i]!.output.content.trim()}`;
    if (text.length > budget) break;
    budget -= text.length;
    shown.unshift(text);
  }
  return shown.length > 0 ? shown.join("\n\n") : "(no turns yet)";
}

/**
 * An LLM-backed agent (`kind: llm`): sends its role prompt, the task and the recent transcript to a
 * model through the run's {@link LlmClient} (shared limiter and cache), extracts an answer, and
 * returns the token cost. A failed call becomes an error turn: empty content, no answer, `meta.error`.
 */
export class LlmAgent implements Agent {
  readonly kind = "llm";
  readonly name: string;

  constructor(
    readonly o: LlmAgentOptions,
    private readonly client: LlmClient,
  ) {
    this.name = o.name;
  }

  messages(state: SystemState): ChatMessage[] {
    const user =
      `Task:\n${state.task.prompt}\n\n` +
      `Transcript of the team so far:\n${renderTranscript(state.history, this.o.lastTurns, this.o.transcriptTokens)}\n\n` +
      this.o.instruction;
    return [
      { role: "system", content: this.o.prompt },
      { role: "user", content: user },
    ];
  }

  async act(state: SystemState, ctx: AgentContext): Promise<AgentOutput> {
    const r = await this.client.chat(this.o.model, this.messages(state), ctx.episode, state.step, ctx.signal);
    const meta: Record<string, unknown> = {
      model: r.model,
      role: this.o.role,
      cached: r.cached,
      ...(r.cached ? { savedCost: r.nominalCost } : {}),
      latencyMs: Math.round(r.latencyMs),
    };
    if (r.error !== undefined) {
      return { content: `[error] ${r.error}`, cost: r.cost, usage: r.usage, meta: { ...meta, error: r.error } };
    }
    const answer = extractAnswer(r.content, this.o.extract, r.model);
    // the step's cost signal is what the call costs under the cost rule, also on a cache hit (so a
    // replayed run sees the same rewards); the money a hit saved is counted by the client as saved_cost
    return { content: r.content, cost: r.nominalCost, usage: r.usage, ...(answer !== undefined ? { answer } : {}), meta };
  }
}
