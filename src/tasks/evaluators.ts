import type { Task, Turn } from "../core/types.js";

/**
 * Decides whether a finished episode succeeded. `endedByAgent` is true when a terminal agent output
 * (the Terminator, a solving simulated agent) ended it, false when `maxSteps` ran out.
 */
export type Evaluator = (task: Task, history: readonly Turn[], endedByAgent: boolean) => boolean;

/** An evaluator that may answer with a promise (module evaluators calling a service); rollouts await it. */
export type AsyncEvaluator = (task: Task, history: readonly Turn[], endedByAgent: boolean) => boolean | Promise<boolean>;

/** Evaluators that compare the episode's final answer with the task's reference answer. */
export const answerEvaluatorNames = ["exact", "numeric", "choice", "regex", "contains"] as const;
export type AnswerEvaluatorName = (typeof answerEvaluatorNames)[number];

export const evaluatorNames = ["terminated", "solved"] as const;
export type EvaluatorName = (typeof evaluatorNames)[number];

/** How the episode's final answer is formed from the answers agents extracted. */
export const finalAnswerModes = ["last", "majority"] as const;
export type FinalAnswerMode = (typeof finalAnswerModes)[number];

/** The DOA MVP rule: success = the episode was ended by a terminal agent, not by running out of steps. */
export const terminated: Evaluator = (_task, _history, endedByAgent) => endedByAgent;

/** Simulated agents decide the outcome themselves: success = the last output says `solved`. */
export const solved: Evaluator = (_task, history) => history.length > 0 && history[history.length - 1]!.output.solved === true;

/** Lower case, trimmed, inner whitespace collapsed, trailing punctuation and wrapping quotes dropped. */
export function normalizeAnswer(s: string): string {
  return s
    .trim()
    .toLowerCase()
    .replace(/\s+/g, " ")
    .replace(/^["'`]+|["'`]+$/g, "")
    .replace(/[.!;,]+$/, "")
    .trim();
}

/** First number in a text (commas as thousands separators, `$` and `%` ignored). */
export function parseNumber(s: string): number | undefined {
  const m = s.replace(/(\d),(?=\d{3}\b)/g, "$1").match(/-?\d+(?:\.\d+)?(?:e-?\d+)?/i);
  return m ? Number(m[0]) : undefined;
}

/** Option letter of a multiple-choice answer: `B`, `(b)`, `B)`, `Answer: B. Paris` → `B`. */
export function parseChoice(s: string): string | undefined {
  const t = s.trim();
  const m = t.match(/^\(?([A-Za-z])\)?(?:[.):\s]|$)/) ?? t.match(/\b([A-E])\b/);
  return m ? m[1]!.toUpperCase() : undefined;
}

/**
 * The episode's final answer: the last answer any agent extracted (`last`), or the most frequent
 * one after normalisation (`majority`; ties go to the answer given most recently).
 */
export function finalAnswer(history: readonly Turn[], mode: FinalAnswerMode): string | undefined {
  const answers = history.map((t) => t.output.answer).filter((a): a is string => a !== undefined && a !== "");
  if (answers.length === 0) return undefined;
  if (mode === "last") return answers[answers.length - 1];
  const counts = new Map<string, { n: number; last: number; text: string }>();
  answers.forEach((a, i) => {
    const k = normalizeAnswer(a);
    const c = counts.get(k);
    counts.set(k, { n: (c?.n ?? 0) + 1, last: i, text: a });
  });
  let best: { n: number; last: number; text: string } | undefined;
  for (const c of counts.values()) if (!best || c.n > best.n || (c.n === best.n && c.last > best.last)) best = c;
  return best!.text;
}

export interface AnswerEvaluatorOptions {
  finalAnswer: FinalAnswerMode;
  /** numeric: |answer − reference| ≤ tolerance · max(1, |reference|). */
  tolerance: number;
}

/** Does `answer` match the reference `expected` under rule `name`? */
export function matchAnswer(name: AnswerEvaluatorName, answer: string, expected: string, tolerance: number): boolean {
  switch (name) {
    case "exact":
      return normalizeAnswer(answer) === normalizeAnswer(expected);
    case "numeric": {
      const a = parseNumber(answer);
      const b = parseNumber(expected);
      return a !== undefined && b !== undefined && Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(b));
    }
    case "choice": {
      const a = parseChoice(answer);
      return a !== undefined && a === parseChoice(expected);
    }
    case "regex":
      return new RegExp(expected, "i").test(answer);
    case "contains":
      return normalizeAnswer(answer).includes(normalizeAnswer(expected));
  }
}

/**
 * Success = the episode was ended by a terminal agent (as for `terminated`) and its final answer
 * matches the task's reference answer. Tasks without a reference answer never succeed.
 */
export function answerEvaluator(name: AnswerEvaluatorName, o: AnswerEvaluatorOptions): Evaluator {
  return (task, history, endedByAgent) => {
    if (!endedByAgent || task.answer === undefined) return false;
    const a = finalAnswer(history, o.finalAnswer);
    return a !== undefined && matchAnswer(name, a, task.answer, o.tolerance);
  };
}

/**
 * Recorded answers (issue 13): success = the correctness, under the run's judge rule, of the answer of
 * the last model called (the final answer is the last model's), read from its turn's `meta.correct`.
 * The episode must have been ended by a terminal agent; an episode with no answering turn fails.
 */
export const recorded: Evaluator = (_task, history, endedByAgent) => {
  if (!endedByAgent) return false;
  for (let i = history.length - 1; i >= 0; i--) {
    const o = history[i]!.output;
    if (o.terminal) continue;
    return o.meta?.correct === true;
  }
  return false;
};

export function evaluatorByName(name: EvaluatorName | AnswerEvaluatorName, o: AnswerEvaluatorOptions = { finalAnswer: "last", tolerance: 1e-6 }): Evaluator {
  switch (name) {
    case "terminated":
      return terminated;
    case "solved":
      return solved;
    default:
      return answerEvaluator(name, o);
  }
}
