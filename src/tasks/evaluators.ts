import type { Task, Turn } from "../core/types.js";
import { numericAnswer } from "./answer-features.js";
import { zeroEvalMatch } from "./zeroeval-rule.js";

/**
 * Decides whether a finished episode succeeded. `endedByAgent` is true when a terminal agent output
 * (the Terminator, a solving simulated agent) ended it, false when `maxSteps` ran out.
 */
export type Evaluator = (task: Task, history: readonly Turn[], endedByAgent: boolean) => boolean;

/** An evaluator that may answer with a promise (module evaluators calling a service); rollouts await it. */
export type AsyncEvaluator = (task: Task, history: readonly Turn[], endedByAgent: boolean) => boolean | Promise<boolean>;

/** Evaluators that compare the episode's final answer with the task's reference answer. */
export const answerEvaluatorNames = ["exact", "numeric", "choice", "regex", "contains", "zeroeval"] as const;
export type AnswerEvaluatorName = (typeof answerEvaluatorNames)[number];

export const evaluatorNames = ["terminated", "solved"] as const;
export type EvaluatorName = (typeof evaluatorNames)[number];

/**
 * How the episode's final answer is formed from the answers agents extracted: the last one; the most
 * frequent one (ties: the group answered most recently); or the largest agreeing group with ties broken
 * by the most expensive model (`consensus`).
 */
export const finalAnswerModes = ["last", "majority", "consensus"] as const;
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
 * The agreement key of an answer: the number it starts with (`$1,000.00`, `1000` and `1000 apples` agree),
 * else its normalised text. Two answers agree when their keys are equal.
 */
export function answerKey(answer: string): string {
  const v = numericAnswer(answer);
  return v !== undefined ? `#${v}` : normalizeAnswer(answer);
}

/** Turns that carry an answer (not terminal, not a failed call, a non-empty extracted answer). */
export function answeringTurns(history: readonly Turn[]): Turn[] {
  return history.filter(
    (t) => !t.output.terminal && t.output.meta?.error === undefined && t.output.answer !== undefined && t.output.answer !== "",
  );
}

/**
 * The turn whose answer is the episode's final answer, or undefined when no turn carries one.
 * - `last`: the latest answer.
 * - `majority`: the largest group of agreeing answers ({@link answerKey}); ties go to the group answered most
 *   recently; its latest turn.
 * - `consensus`: the largest group; ties go to the group holding the most expensive model's answer, and that
 *   answer is returned. `rank` orders models by price (higher = more expensive; default: the call's money cost).
 */
export function finalTurn(
  history: readonly Turn[],
  mode: FinalAnswerMode,
  rank: (t: Turn) => number = (t) => (t.output.meta?.usd as number | undefined) ?? t.output.cost,
): Turn | undefined {
  const turns = answeringTurns(history);
  if (turns.length === 0) return undefined;
  if (mode === "last") return turns[turns.length - 1];
  const groups = new Map<string, { n: number; latest: number; top: Turn; topRank: number; last: Turn }>();
  turns.forEach((t, i) => {
    const k = answerKey(t.output.answer!);
    const r = rank(t);
    const g = groups.get(k);
    if (!g) groups.set(k, { n: 1, latest: i, top: t, topRank: r, last: t });
    else {
      g.n++;
      g.latest = i;
      g.last = t;
      if (r > g.topRank) {
        g.top = t;
        g.topRank = r;
      }
    }
  });
  let best: { n: number; latest: number; top: Turn; topRank: number; last: Turn } | undefined;
  for (const g of groups.values()) {
    if (!best || g.n > best.n) best = g;
    else if (g.n === best.n && (mode === "majority" ? g.latest > best.latest : g.topRank > best.topRank)) best = g;
  }
  return mode === "majority" ? best!.last : best!.top;
}

/** The episode's final answer text under `mode` (see `finalTurn`). */
export function finalAnswer(history: readonly Turn[], mode: FinalAnswerMode, rank?: (t: Turn) => number): string | undefined {
  return finalTurn(history, mode, rank)?.output.answer;
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
    case "zeroeval":
      // ZeroEval's math comparison: `$` and `,` dropped, fractions evaluated, first numbers equal as floats
      return zeroEvalMatch(answer, expected);
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
 * Recorded answers: success = the correctness, under the run's judge rule, of the final answer, read from its
 * turn's `meta.correct`. `last` (the cascade's and router's rule): the last model called, whatever it answered;
 * `majority` / `consensus`: the turn `finalTurn` picks, else (no turn carries an answer, e.g. MMLU's
 * correctness-only tables) the last model's. The episode must have been ended by a terminal agent; an
 * episode with no answering turn fails.
 */
export function recordedEvaluator(mode: FinalAnswerMode = "last", rank?: (t: Turn) => number): Evaluator {
  return (_task, history, endedByAgent) => {
    if (!endedByAgent) return false;
    if (mode !== "last") {
      const t = finalTurn(history, mode, rank);
      if (t) return t.output.meta?.correct === true;
    }
    for (let i = history.length - 1; i >= 0; i--) {
      const o = history[i]!.output;
      if (o.terminal) continue;
      return o.meta?.correct === true;
    }
    return false;
  };
}

export const recorded: Evaluator = recordedEvaluator("last");

export function evaluatorByName(
  name: EvaluatorName | AnswerEvaluatorName,
  o: AnswerEvaluatorOptions = { finalAnswer: "last", tolerance: 1e-6 },
): Evaluator {
  switch (name) {
    case "terminated":
      return terminated;
    case "solved":
      return solved;
    default:
      return answerEvaluator(name, o);
  }
}
