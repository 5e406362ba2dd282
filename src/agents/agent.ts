import type { Rng } from "../core/rng.js";
import type { AgentOutput, SystemState } from "../core/types.js";

/** What an agent may use besides the state: the episode's random stream and identity. */
export interface AgentContext {
  /** Random stream of the episode (simulated agents draw from it, so runs are reproducible). */
  rng: Rng;
  /** Index of the episode within the run (used e.g. as a cache sample index by LLM agents). */
  episode: number;
  /** Extra per-step choices of a factored action (e.g. the model tier); empty for single-head runs. */
  options?: Record<string, string>;
  /** Aborted when the episode is cancelled (its client went away): agents stop their pending calls. */
  signal?: AbortSignal;
}

/**
 * An agent of the pool. `act` may answer synchronously (cheap simulated agents: the rollout stays
 * on the fast path) or return a promise (LLM-backed agents).
 */
export interface Agent {
  readonly name: string;
  readonly kind: string;
  act(state: SystemState, ctx: AgentContext): AgentOutput | Promise<AgentOutput>;
}
