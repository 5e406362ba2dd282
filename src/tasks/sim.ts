import type { Rng } from "../core/rng.js";
import type { Task } from "../core/types.js";
import type { TaskSource } from "./source.js";

/** The text of a simulated task of `type`: it names the type (and nothing else), so encoders see it. */
export function simTaskPrompt(type: string): string {
  return `Simulated task of type ${type}.`;
}

/**
 * Simulated tasks: each episode draws a task type with probability proportional to its
 * weight. The task text names the type and nothing else, so two tasks of one type look identical
 * to the policy; the id adds the episode index for traces.
 */
export class SimTaskSource implements TaskSource {
  readonly size = undefined;
  readonly types: string[];
  readonly probs: number[];

  constructor(weights: Readonly<Record<string, number>>) {
    this.types = Object.keys(weights);
    const total = this.types.reduce((s, t) => s + weights[t]!, 0);
    if (this.types.length === 0 || !(total > 0)) throw new Error("SimTaskSource: needs at least one type with positive weight");
    this.probs = this.types.map((t) => weights[t]! / total);
  }

  taskFor(globalEpisode: number, rng: Rng): Task {
    // one draw per episode, even with a single type, so the stream does not depend on the type count
    const type = this.types[rng.categorical(this.probs)]!;
    return { id: `${type}-${globalEpisode}`, prompt: simTaskPrompt(type), type };
  }
}
