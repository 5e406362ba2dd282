/**
 * What one update writes besides its checkpoint: the figures of a rollout batch for its metrics row, the
 * LLM traffic of the update, and the episode lines of episodes.jsonl.
 */
import { mean, std } from "../core/math.js";
import type { AgentOutput, Turn } from "../core/types.js";
import type { RolloutBatch } from "../env/rollout.js";
import type { LlmStats } from "../llm/client.js";
import { finalAnswer, type FinalAnswerMode } from "../tasks/evaluators.js";
import type { MetricsRow } from "./metrics.js";

/** The LLM traffic between two readings of the client's counters, as metrics columns. */
export function llmDelta(now: LlmStats, before: LlmStats): MetricsRow {
  return {
    llm_calls: now.calls - before.calls,
    llm_requests: now.requests - before.requests,
    llm_errors: now.errors - before.errors,
    cache_hits: now.cacheHits - before.cacheHits,
    saved_cost: now.savedCost - before.savedCost,
    tokens_in: now.inputTokens - before.inputTokens,
    tokens_out: now.outputTokens - before.outputTokens,
  };
}

/** The per-turn view of an episode written to episodes.jsonl for LLM runs (no prompts, no keys). */
export function turnRecords(agents: readonly string[], outputs: readonly AgentOutput[]): Record<string, unknown>[] {
  return outputs.map((o, i) => ({
    agent: agents[i],
    ...(o.answer !== undefined ? { answer: o.answer } : {}),
    cost: o.cost,
    ...(o.usage ? { tokens_in: o.usage.inputTokens, tokens_out: o.usage.outputTokens } : {}),
    ...(o.meta?.cached === true ? { cached: true } : {}),
    ...(o.meta?.error !== undefined ? { error: o.meta.error } : {}),
    excerpt: o.content.slice(0, 160),
  }));
}

/** The metrics row describing a batch (before the update it feeds). */
export function batchStats(batch: RolloutBatch): MetricsRow {
  const eps = batch.episodes;
  return {
    return_mean: mean(eps.map((e) => e.return)),
    return_std: std(eps.map((e) => e.return)),
    success_rate: mean(eps.map((e) => (e.success ? 1 : 0))),
    cost_mean: mean(eps.map((e) => e.cost)),
    ep_len_mean: mean(eps.map((e) => e.length)),
  };
}

/**
 * The episodes.jsonl lines of update `update`: the first `sample` episodes of the batch (all when
 * negative), with the final answer and the turns when the rollout recorded agent outputs.
 */
export function episodeRecords(
  batch: RolloutBatch,
  update: number,
  sample: number,
  finalMode: FinalAnswerMode = "last",
  rank?: (t: Turn) => number,
): string {
  const n = sample < 0 ? batch.episodes.length : Math.min(sample, batch.episodes.length);
  let out = "";
  for (const e of batch.episodes.slice(0, n)) {
    out +=
      JSON.stringify({
        update,
        episode: e.index,
        task: e.taskId,
        agents: e.agents,
        ...(e.options ? { options: e.options } : {}),
        rewards: e.rows.map((r) => batch.rewards[r]),
        costs: e.rows.map((r) => batch.costs[r]),
        return: e.return,
        cost: e.cost,
        success: e.success,
        length: e.length,
        ...(e.outputs
          ? {
              final_answer:
                finalAnswer(
                  e.outputs.map((output, i) => ({ agent: e.agents[i]!, agentIndex: batch.actions[e.rows[i]!]!, output })),
                  finalMode,
                  rank,
                ) ?? null,
              turns: turnRecords(e.agents, e.outputs),
            }
          : {}),
      }) + "\n";
  }
  return out;
}
