/**
 * The formal model (docs/architecture.md, "The formal model"): a task, the agents' outputs, and the state the policy sees.
 * Plain data only: no tfjs, fs or network here.
 */

/** One task an orchestrated episode works on. */
export interface Task {
  /** Stable identifier (dataset id, or an index for inline tasks). */
  id: string;
  /** The task text shown to agents and encoders. */
  prompt: string;
  /** Reference answer, if the task has a checkable one. */
  answer?: string;
  /** Task type (e.g. `easy`, `hard` for simulated tasks); encoders see it through the prompt. */
  type?: string;
}

/** Token usage reported by an LLM-backed agent. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

/** What an agent returns when it acts on a state. */
export interface AgentOutput {
  /** Text the agent produced. */
  content: string;
  /** Cost of this step (currency, compute proxy or a fixed unit, as configured). */
  cost: number;
  usage?: Usage;
  /** Answer extracted from the content, if any. */
  answer?: string;
  /** The agent asks to end the episode (the Terminator). */
  terminal?: boolean;
  /** The agent itself decided the task outcome (simulated solvers): true = solved, false = gave up. */
  solved?: boolean;
  /** Free-form extra information (cache hit, error, model tier...). */
  meta?: Record<string, unknown>;
}

/** One turn of the history: which agent acted and what it returned. */
export interface Turn {
  agent: string;
  /** Index of the agent in the pool. */
  agentIndex: number;
  output: AgentOutput;
}

/** What the policy observes. */
export interface SystemState {
  task: Task;
  history: Turn[];
  /** Number of steps taken so far (= history.length). */
  step: number;
  maxSteps: number;
  /** Total cost spent so far in this episode. */
  costSpent: number;
  /** Episode cost budget, if the run has one. */
  budget?: number;
  /**
   * The episode's cost knob (λ or a budget, in the run's cost units) when the policy is
   * budget-conditioned; encoders feed it to the policy.
   */
  knob?: number;
}

/** The result of one environment step. */
export interface StepResult {
  /** Reward under the configured reward (task reward − costPenalty·cost). */
  reward: number;
  /** Task reward only (the CMDP reward signal; no cost folded in). */
  taskReward: number;
  /** Cost signal c_t of this step. */
  cost: number;
  /** The episode is over after this step. */
  done: boolean;
  /** Set when done: whether the episode counts as a success. */
  success?: boolean;
}
