/**
 * A task evaluator of your own (`tasks.evaluator: {kind: module, module: money.ts, export: sameAmount}`):
 * an answer is right when it is the reference amount to the cent, however it is written
 * ("$1,234.5", "1234.50 dollars"). maestro calls it when a terminal agent ends an episode.
 */
import type { ModuleEvaluatorInput } from "../../src/index.js";

function amount(text: string): number | undefined {
  const m = text.replace(/(\d),(?=\d{3}\b)/g, "$1").match(/-?\d+(?:\.\d+)?/);
  return m ? Math.round(Number(m[0]) * 100) : undefined;
}

export function sameAmount(input: ModuleEvaluatorInput): boolean {
  if (input.finalAnswer === undefined || input.task.answer === undefined) return false;
  const a = amount(input.finalAnswer);
  return a !== undefined && a === amount(input.task.answer);
}
