import type { Task, Turn } from "../core/types.js";

/**
 * Decides whether a finished episode succeeded. `endedByAgent` is true when a terminal agent output
 * (the Terminator, a solving simulated agent) ended it, false when `maxSteps` ran out.
 */
export type Evaluator = (task: Task, history: readonly Turn[], endedByAgent: boolean) => boolean;

export const evaluatorNames = ["terminated", "solved"] as const;
export type EvaluatorName = (typeof evaluatorNames)[number];

/** The DOA MVP rule: success = the episode was ended by a terminal agent, not by running out of steps. */
export const terminated: Evaluator = (_task, _history, endedByAgent) => endedByAgent;

/** Simulated agents decide the outcome themselves: success = the last output says `solved`. */
export const solved: Evaluator = (_task, history) => history.length > 0 && history[history.length - 1]!.output.solved === true;

export function evaluatorByName(name: EvaluatorName): Evaluator {
  switch (name) {
    case "terminated":
      return terminated;
    case "solved":
      return solved;
  }
}
