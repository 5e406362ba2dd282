/**
 * src/serve — using a trained orchestrator: load a run's last checkpoint and its agent pool, solve new
 * tasks and return the trace. Never trains.
 */
import type { Agent } from "../agents/agent.js";
import type { Trainer } from "../algos/trainer.js";
import { InputError } from "../core/errors.js";
import { Rng } from "../core/rng.js";
import type { AgentOutput, Task } from "../core/types.js";
import type { EnvSpec } from "../env/env.js";
import { rollout } from "../env/rollout.js";
import type { LlmClient } from "../llm/client.js";
import type { StateEncoder } from "../policy/encoders.js";
import { finalAnswer, type FinalAnswerMode } from "../tasks/evaluators.js";
import { buildAgents, buildEnvSpec } from "../run/build.js";
import { loadTrainedRun } from "../run/trained.js";
import type { Config } from "../config/schema.js";
import { headsOf } from "../config/heads.js";
import { loadRunConfig } from "../run/train.js";

/** One step of an orchestrated episode as shown to a user. */
export interface TraceStep {
  step: number;
  agent: string;
  model?: string;
  /** Multi-head runs: the other heads' choices of this step (e.g. {tier: "large"}). */
  options?: Record<string, string>;
  /** First characters of the agent's output. */
  excerpt: string;
  content: string;
  answer?: string;
  tokensIn: number;
  tokensOut: number;
  cost: number;
  cached: boolean;
  error?: string;
}

export interface OrchestrationTrace {
  task: Task;
  steps: TraceStep[];
  finalAnswer?: string;
  /** Whether the final answer matches the task's reference answer (undefined without one). */
  success?: boolean;
  endedBy: "terminator" | "maxSteps";
  cost: number;
  tokens: number;
}

export interface SolveOptions {
  /** Take the most probable agent (default) instead of sampling. */
  greedy?: boolean;
  /**
   * Episode index of the first task (the LLM cache's per-episode sample index and the request seed).
   * Default: continues after the previous call (0 for the first); 0 when `seed` is given.
   */
  firstEpisode?: number;
  /**
   * Run this call on its own sampling streams seeded with `seed`, exactly as the first call of an
   * orchestrator loaded with that seed would (same streams, episodes from 0), independent of any other
   * call. Concurrent calls with a seed (the HTTP endpoint's requests) stay reproducible one by one.
   * Default: the orchestrator's own streams, continuing after the previous call.
   */
  seed?: number;
  /** The cost knob of a budget- or λ-conditioned policy (see {@link Orchestrator.knob}). */
  knob?: number;
}

/** The cost knob a conditioned policy takes per call: its name and the range it was trained on. */
export interface CostKnob {
  name: "lambda" | "budget";
  min: number;
  max: number;
}

/** A trained orchestrator: the run's policy, agent pool, encoder and env rules, ready to solve tasks. */
export class Orchestrator {
  private nextEpisode = 0;
  private readonly policyRng: Rng;
  private readonly envRng: Rng;
  /**
   * The cost knob of a budget- or λ-conditioned policy; undefined for a policy that is not
   * conditioned (all trainers of this version), which takes no `knob` in {@link solve}.
   */
  readonly knob: CostKnob | undefined = undefined;

  constructor(
    readonly runDir: string,
    readonly config: Config,
    readonly backend: string,
    readonly checkpointUpdate: number,
    private readonly agents: Agent[],
    private readonly encoder: StateEncoder,
    private readonly spec: EnvSpec,
    private readonly trainer: Trainer,
    readonly llm: LlmClient | undefined,
    /** Seed of the orchestrator's own sampling streams. */
    readonly seed: number,
  ) {
    this.policyRng = new Rng(`${seed}:orchestrate-policy`);
    this.envRng = new Rng(`${seed}:orchestrate-env`);
  }

  get agentNames(): string[] {
    return this.agents.map((a) => a.name);
  }

  private get finalMode(): FinalAnswerMode {
    return "finalAnswer" in this.config.tasks ? this.config.tasks.finalAnswer : "last";
  }

  /** Solves one task (a text, or a task with a reference answer). */
  async solve(task: Task | string, o: SolveOptions = {}): Promise<OrchestrationTrace> {
    return (await this.solveMany([task], o))[0]!;
  }

  /** Solves several tasks, all episodes in lockstep (one policy forward per step, LLM calls concurrent). */
  async solveMany(tasks: ReadonlyArray<Task | string>, o: SolveOptions = {}): Promise<OrchestrationTrace[]> {
    if (tasks.length === 0) return [];
    if (o.knob !== undefined && this.knob === undefined) {
      throw new InputError(`${this.runDir}: the policy is not budget-conditioned; it takes no cost knob`, this.runDir);
    }
    const own = o.seed === undefined;
    const first = o.firstEpisode ?? (own ? this.nextEpisode : 0);
    const list: Task[] = tasks.map((t, i) => (typeof t === "string" ? { id: `task-${first + i}`, prompt: t } : t));
    if (own) this.nextEpisode = first + list.length;
    const policyRng = own ? this.policyRng : new Rng(`${o.seed}:orchestrate-policy`);
    const envRng = own ? this.envRng : new Rng(`${o.seed}:orchestrate-env`);
    const batch = await rollout({
      spec: this.spec,
      agents: this.agents,
      encoder: this.encoder,
      policy: this.trainer.policy,
      heads: headsOf(this.config),
      // episode first + i works on list[i], whatever `first` is
      tasks: { size: list.length, taskFor: (g: number) => list[g - first]! },
      episodes: list.length,
      firstEpisode: first,
      policyRng,
      envRng,
      taskRng: envRng,
      greedy: o.greedy ?? true,
      recordOutputs: true,
    });
    return batch.episodes.map((e, i) => {
      if (e.taskId !== list[i]!.id) throw new Error(`orchestrate: episode ${e.index} ran task ${e.taskId}, expected ${list[i]!.id}`);
      const outputs = e.outputs as AgentOutput[];
      const steps: TraceStep[] = outputs.map((out, s) => ({
        step: s + 1,
        agent: e.agents[s]!,
        ...(typeof out.meta?.model === "string" ? { model: out.meta.model } : {}),
        ...(e.options?.[s] && Object.keys(e.options[s]).length > 0 ? { options: e.options[s] } : {}),
        excerpt: out.content.replace(/\s+/g, " ").trim().slice(0, 120),
        content: out.content,
        ...(out.answer !== undefined ? { answer: out.answer } : {}),
        tokensIn: out.usage?.inputTokens ?? 0,
        tokensOut: out.usage?.outputTokens ?? 0,
        cost: out.cost,
        cached: out.meta?.cached === true,
        ...(typeof out.meta?.error === "string" ? { error: out.meta.error } : {}),
      }));
      const history = outputs.map((output, s) => ({ agent: e.agents[s]!, agentIndex: batch.actions[e.rows[s]!]!, output }));
      const fa = finalAnswer(history, this.finalMode);
      const task = list[i]!;
      return {
        task,
        steps,
        ...(fa !== undefined ? { finalAnswer: fa } : {}),
        ...(task.answer !== undefined ? { success: e.success } : {}),
        endedBy: outputs[outputs.length - 1]?.terminal ? "terminator" : "maxSteps",
        cost: e.cost,
        tokens: steps.reduce((s, x) => s + x.tokensIn + x.tokensOut, 0),
      };
    });
  }

  dispose(): void {
    this.trainer.dispose();
  }
}

export interface LoadOrchestratorOptions {
  /** Seed of the sampling streams (default: the run's seed). */
  seed?: number;
  /** Config overrides on top of the run's config.yaml (e.g. `llm.baseURL=...`), as `key.path=value`. */
  sets?: readonly string[];
}

/** Loads the last checkpoint of a run as an {@link Orchestrator}. */
export async function loadOrchestrator(runDir: string, o: LoadOrchestratorOptions = {}): Promise<Orchestrator> {
  let config = loadRunConfig(runDir);
  if (o.sets && o.sets.length > 0) {
    const { validateConfig } = await import("../config/load.js");
    config = validateConfig(config, `${runDir}/config.yaml`, runDir, { sets: o.sets });
  }
  const { checkpointUpdate, backend, llm, encoder, trainer } = await loadTrainedRun(runDir, { config });
  const agents = buildAgents(config, { llm });
  const spec = buildEnvSpec(config);
  return new Orchestrator(runDir, config, backend, checkpointUpdate, agents, encoder, spec, trainer, llm, o.seed ?? config.seed);
}
