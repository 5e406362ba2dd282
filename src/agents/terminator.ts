import type { AgentOutput } from "../core/types.js";
import type { Agent } from "./agent.js";

/** The Terminator: says `TERMINATE`, costs nothing, and asks the environment to end the episode. */
export class TerminatorAgent implements Agent {
  readonly kind = "terminator";
  constructor(
    readonly name: string = "terminator",
    readonly cost: number = 0,
  ) {}

  act(): AgentOutput {
    return { content: "TERMINATE", cost: this.cost, terminal: true };
  }
}
