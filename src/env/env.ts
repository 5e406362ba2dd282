import type { Agent } from "../agents/agent.js";
import type { Rng } from "../core/rng.js";
import type { AgentOutput, StepResult, SystemState, Task } from "../core/types.js";
import type { AsyncEvaluator } from "../tasks/evaluators.js";

/** The reward and termination rules of an orchestration CMDP. */
export interface EnvSpec {
  maxSteps: number;
  /**
   * true: a terminal agent output (the Terminator) ends the episode.
   * false: the DOA code as published: episodes always run `maxSteps`; every terminal step is scored
   * as a terminal step, and the episode's outcome is that of its last step.
   */
  terminatorEndsEpisode: boolean;
  /** Task reward r on success. */
  successBonus: number;
  /** Task reward r on failure. */
  failurePenalty: number;
  /** λ of the penalised reward R_t = r_t − λ·c_t (0 for CMDP trainers, which keep cost separate). */
  costPenalty: number;
  /** Episode cost budget d of the CMDP, if any (shown to encoders; used by constrained trainers). */
  budget?: number;
  /** Success rule, called when a terminal agent output ends the episode (module evaluators may be async). */
  evaluator: AsyncEvaluator;
}

/** One episode of the orchestration CMDP. */
export class Episode {
  readonly state: SystemState;
  done = false;
  success = false;
  /** Undiscounted sum of the configured reward. */
  return = 0;
  /** Sum of task rewards only. */
  taskReturn = 0;
  /** λ of this episode's penalised reward (spec.costPenalty unless a cost knob sets it per episode). */
  costPenalty: number;

  constructor(
    readonly spec: EnvSpec,
    task: Task,
    /** Global index of the episode within the run. */
    readonly index: number,
  ) {
    this.state = { task, history: [], step: 0, maxSteps: spec.maxSteps, costSpent: 0, budget: spec.budget };
    this.costPenalty = spec.costPenalty;
  }

  /** Sets this episode's cost knob (seen by encoders) and the cost penalty λ it implies. */
  setKnob(value: number, costPenalty: number): void {
    this.state.knob = value;
    this.costPenalty = costPenalty;
  }

  /**
   * The evaluator's verdict on a terminal output, before it is applied (the history it sees ends with
   * that output's turn). A promise for async evaluators: the rollout awaits the verdicts of a step
   * together and passes each to {@link apply}.
   */
  judge(agent: Agent, agentIndex: number, output: AgentOutput): boolean | Promise<boolean> {
    const s = this.state;
    return this.spec.evaluator(s.task, [...s.history, { agent: agent.name, agentIndex, output }], true);
  }

  /** The verdict on the turn just appended (terminal outputs applied without a verdict from {@link judge}). */
  private verdictNow(): boolean {
    const s = this.state;
    const v = this.spec.evaluator(s.task, s.history, true);
    if (typeof v !== "boolean") {
      void Promise.resolve(v).catch(() => undefined);
      throw new Error("Episode.apply: the task evaluator answered with a promise; pass the awaited verdict of Episode.judge");
    }
    return v;
  }

  /**
   * Applies the output of agent `agentIndex` and returns reward, cost and termination. `verdict` is the
   * awaited {@link judge} of a terminal output (needed when the evaluator is async).
   */
  apply(agent: Agent, agentIndex: number, output: AgentOutput, verdict?: boolean): StepResult {
    if (this.done) throw new Error("Episode.apply: episode is already done");
    const s = this.state;
    const spec = this.spec;
    s.history.push({ agent: agent.name, agentIndex, output });
    s.step += 1;
    const cost = output.cost;
    s.costSpent += cost;
    const last = s.step >= spec.maxSteps;
    let taskReward = 0;
    let done = false;
    let success = false;
    if (spec.terminatorEndsEpisode) {
      if (output.terminal) {
        done = true;
        success = verdict ?? this.verdictNow();
      } else if (last) {
        done = true;
        success = false;
      }
      if (done) taskReward = success ? spec.successBonus : spec.failurePenalty;
    } else {
      // Published DOA semantics: a terminal step is scored as a terminal step but the episode goes on.
      if (output.terminal) {
        success = verdict ?? this.verdictNow();
        taskReward = success ? spec.successBonus : spec.failurePenalty;
      } else if (last) {
        success = false;
        taskReward = spec.failurePenalty;
      }
      done = last;
    }
    const reward = taskReward - this.costPenalty * cost;
    this.return += reward;
    this.taskReturn += taskReward;
    if (done) {
      this.done = true;
      this.success = success;
    }
    return done ? { reward, taskReward, cost, done, success } : { reward, taskReward, cost, done };
  }
}

/** Runs an agent on an episode's state, synchronously when the agent allows it. */
export function callAgent(agent: Agent, episode: Episode, rng: Rng, options?: Record<string, string>): AgentOutput | Promise<AgentOutput> {
  return agent.act(episode.state, { rng, episode: episode.index, options });
}
