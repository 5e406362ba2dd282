import type { Rng } from "../core/rng.js";
import type { Task } from "../core/types.js";

/**
 * Where an episode's task comes from. `taskFor` gets the episode's global index (update ·
 * episodesPerUpdate + episode), so a cycled source reproduces DOA's `(10n + e) mod 5` order and a
 * resumed run continues the order exactly.
 */
export interface TaskSource {
  /** Number of distinct tasks, if finite. */
  readonly size: number | undefined;
  taskFor(globalEpisode: number, rng: Rng): Task;
}

/** A fixed list of tasks, cycled in order or sampled uniformly. */
export class ListTaskSource implements TaskSource {
  constructor(
    readonly tasks: readonly Task[],
    readonly order: "cycle" | "random" = "cycle",
  ) {
    if (tasks.length === 0) throw new Error("ListTaskSource: no tasks");
  }

  get size(): number {
    return this.tasks.length;
  }

  taskFor(globalEpisode: number, rng: Rng): Task {
    const i = this.order === "cycle" ? globalEpisode % this.tasks.length : rng.int(this.tasks.length);
    return this.tasks[i]!;
  }
}

/** Inline task strings of a config become tasks with ids `0`, `1`, ... */
export function inlineTasks(items: readonly string[]): Task[] {
  return items.map((prompt, i) => ({ id: String(i), prompt }));
}
