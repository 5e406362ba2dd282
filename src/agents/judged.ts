import type { AgentOutput, SystemState } from "../core/types.js";
import { answerFeatures } from "../tasks/answer-features.js";
import type { Agent, AgentContext } from "./agent.js";
import { findItem } from "../tasks/recorded.js";
import type { RecordedPool } from "./recorded.js";

/** What judges a live reply on a recorded task (a RecordedAgent, or {@link goldJudge}). */
export interface ReplyJudge {
  judgeReply(task: SystemState["task"], content: string, answer: string | undefined): boolean | undefined;
}

/**
 * The judge of an llm agent whose model is no column of the table: its reply's answer against the item's
 * gold answer with the evaluator (never under tasks.judge: recorded, which has nothing to go by).
 */
export function goldJudge(pool: Pick<RecordedPool, "table" | "judge" | "matches">): ReplyJudge {
  return {
    judgeReply(task, _content, answer) {
      const expected = findItem(pool.table, task)?.answer ?? task.answer;
      if (expected === undefined || pool.judge === "recorded" || !pool.matches) return undefined;
      return answer !== undefined && pool.matches(answer, expected);
    },
  };
}

/**
 * A live agent (`kind: llm`) on a recorded-output task list: its replies are judged as a `kind: recorded`
 * agent of the same model judges the recorded answers (RecordedAgent.judgeReply: the recorded
 * text is the recorded answer, another reply is judged against the gold answer), and carry the same
 * precomputed text features, so the `recorded` evaluator and the `answers` encoder treat both alike.
 * An error turn stays an error turn (no correctness: the episode fails if it ends on it).
 */
export class RecordedJudgedAgent implements Agent {
  readonly name: string;
  readonly kind: string;

  constructor(
    readonly inner: Agent,
    /** The recorded agent of the same model column, prices and answer form (else a {@link goldJudge}). */
    readonly judge: ReplyJudge,
  ) {
    this.name = inner.name;
    this.kind = inner.kind;
  }

  async act(state: SystemState, ctx: AgentContext): Promise<AgentOutput> {
    const out = await this.inner.act(state, ctx);
    if (out.terminal || out.meta?.error !== undefined) return out;
    const correct = this.judge.judgeReply(state.task, out.content, out.answer);
    return {
      ...out,
      meta: { ...out.meta, ...(correct !== undefined ? { correct } : {}), features: answerFeatures(out.content.trim(), out.answer) },
    };
  }
}
