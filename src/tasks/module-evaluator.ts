/**
 * Module task evaluators (`tasks.evaluator: {kind: module, module, export}`): a user's own success rule,
 * e.g. a unit-aware comparison, a test suite run on generated code, or a grading service. It is called
 * when a terminal agent ends an episode, with the task, the history and the episode's final answer, and
 * returns true or false, synchronously or as a promise.
 */
import { InputError } from "../core/errors.js";
import type { Task, Turn } from "../core/types.js";
import { callableOf, describeValue, type ModuleRef } from "../agents/user-module.js";
import { finalAnswer, type AsyncEvaluator, type FinalAnswerMode } from "./evaluators.js";

/** What a module evaluator is called with. */
export interface ModuleEvaluatorInput {
  /** The task, with its reference `answer` where the task source has one. */
  task: Task;
  /** Every turn of the episode, the terminal one last. */
  history: readonly Turn[];
  /** The episode's final answer under `tasks.finalAnswer` (last or majority), if any agent gave one. */
  finalAnswer?: string;
  /** True when a terminal agent ended the episode (always so when maestro calls it). */
  endedByAgent: boolean;
  /** The evaluator definition's `params`, as written. */
  params: Record<string, unknown>;
}

export type ModuleEvaluatorFunction = (input: ModuleEvaluatorInput) => boolean | Promise<boolean>;

export const moduleEvaluatorExpected = "a function (input) => boolean, sync or async, or an object with such an evaluate(input) method";

/** Turns an export into the evaluator function (InputError when the export has the wrong shape). */
export function moduleEvaluatorFunction(value: unknown, where: string): ModuleEvaluatorFunction {
  return callableOf<ModuleEvaluatorFunction>(value, "evaluate", where, moduleEvaluatorExpected);
}

/** The run's evaluator around a user's function: checks that every verdict is a boolean. */
export function moduleEvaluator(
  fn: ModuleEvaluatorFunction,
  ref: ModuleRef,
  params: Record<string, unknown>,
  mode: FinalAnswerMode,
): AsyncEvaluator {
  const who = `task evaluator (${ref.module}, export "${ref.export}")`;
  const check = (v: unknown): boolean => {
    if (typeof v !== "boolean") throw new InputError(`${who} returned ${describeValue(v)}; an evaluator returns true or false`, ref.module);
    return v;
  };
  return (task, history, endedByAgent) => {
    const fa = finalAnswer(history, mode);
    let out: boolean | Promise<boolean>;
    try {
      out = fn({ task, history, ...(fa !== undefined ? { finalAnswer: fa } : {}), endedByAgent, params });
    } catch (e) {
      throw new InputError(`${who} threw: ${e instanceof Error ? e.message : String(e)}`, ref.module);
    }
    if (out instanceof Promise) {
      return out.then(check, (e: unknown) => {
        throw new InputError(`${who} rejected: ${e instanceof Error ? e.message : String(e)}`, ref.module);
      });
    }
    return check(out);
  };
}
