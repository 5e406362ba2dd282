import type { AgentOutput, SystemState } from "../core/types.js";
import type { Agent } from "./agent.js";

/** DOA's Echo agent: repeats the task at a fixed cost (1.0 by default). */
export class EchoAgent implements Agent {
  readonly kind = "echo";
  constructor(
    readonly name: string = "echo",
    readonly cost: number = 1.0,
  ) {}

  act(state: SystemState): AgentOutput {
    return { content: "Echo: " + state.task.prompt, cost: this.cost };
  }
}
