/**
 * src/serve — using a trained orchestrator: load a run's last checkpoint and its agent pool, solve new
 * tasks and return the trace. Never trains.
 */
import type { Agent, AgentContext } from "../agents/agent.js";
import type { Trainer } from "../algos/trainer.js";
import { Rng } from "../core/rng.js";
import type { AgentOutput, SystemState, Task, Turn } from "../core/types.js";
import { priceRank } from "../config/recorded.js";
import type { EnvSpec } from "../env/env.js";
import { rollout, type EpisodeKnob } from "../env/rollout.js";
import type { CostKnob } from "../algos/knob.js";
import { RecordedAgent } from "../agents/recorded.js";
import { findItem } from "../tasks/recorded.js";
import { recordedTable } from "../config/recorded.js";
import { InputError } from "../core/errors.js";
import type { LlmClient } from "../llm/client.js";
import type { StateEncoder } from "../policy/encoders.js";
import { finalAnswer, type FinalAnswerMode } from "../tasks/evaluators.js";
import { simTaskPrompt } from "../tasks/sim.js";
import { didYouMean } from "../core/suggest.js";
import { buildAgents, buildEnvSpec } from "../run/build.js";
import { loadTrainedRun } from "../run/trained.js";
import type { Config } from "../config/schema.js";
import { headsOf } from "../config/heads.js";
import { loadRunConfig } from "../run/train.js";
import type { LiveOptions } from "../config/live.js";
import { RecordedJudgedAgent } from "../agents/judged.js";

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
  /** Whether the final answer matches the task's reference answer (undefined without one); simulated runs: solved. */
  success?: boolean;
  /**
   * What ended the episode: the Terminator, an agent whose output finished the task (a simulated solver
   * that solved it: `endedByAgent` names it), or the step limit env.maxSteps.
   */
  endedBy: "terminator" | "solved" | "maxSteps";
  /** The agent of the last step when it ended the episode. */
  endedByAgent?: string;
  cost: number;
  tokens: number;
}

/**
 * An episode whose every agent call was rejected upstream as a bad request (HTTP 400: e.g. a live
 * endpoint refusing the question, such as a prompt the replay server's table lacks), so there is nothing
 * to answer with: that rejection as the request's own 400. Other failed calls (5xx, timeouts, a dead
 * endpoint) stay error turns of a 200 answer, as the `maestro.steps` errors.
 */
export function episodeRejection(t: Pick<OrchestrationTrace, "steps" | "finalAnswer">): string | undefined {
  const failed = t.steps.filter((s) => s.error !== undefined);
  if (failed.length === 0 || t.finalAnswer !== undefined) return undefined;
  if (t.steps.some((s) => s.error === undefined && s.content.trim() !== "" && s.content !== "TERMINATE")) return undefined;
  if (!failed.every((s) => /^400\b/.test(s.error!))) return undefined;
  return `every model call was rejected: ${failed.map((s) => `${s.agent}${s.model !== undefined ? ` (${s.model})` : ""}: ${s.error}`).join("; ")}`;
}

export interface SolveOptions {
  /** Take the most probable agent (default) instead of sampling. */
  greedy?: boolean;
  /**
   * The operating point of a budget-conditioned policy: λ or the budget, in the run's cost
   * units, within {@link Orchestrator.knob}'s range. Required for conditioned policies, refused by others.
   */
  knob?: number;
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
  /**
   * Cancels the episodes: no agent is called after it aborts, and LLM calls in progress are
   * cancelled; the call then rejects with the signal's reason.
   */
  signal?: AbortSignal;
  /** Called with every agent output as it arrives (e.g. to count spend while an episode runs). */
  onOutput?: (output: AgentOutput, agent: string) => void;
}

/** A task a recorded-output orchestrator has no answers for. */
export class NotInTableError extends InputError {
  constructor(
    message: string,
    /** The same, naming no file: what an HTTP client is told. */
    readonly publicMessage: string,
  ) {
    super(message, undefined, "task");
    this.name = "NotInTableError";
  }
}

/** The pool of one solve call: each agent checks the signal before it acts and reports its output. */
function guardedAgents(agents: readonly Agent[], signal: AbortSignal | undefined, onOutput: SolveOptions["onOutput"]): Agent[] {
  return agents.map((a) => ({
    name: a.name,
    kind: a.kind,
    act(state: SystemState, ctx: AgentContext) {
      signal?.throwIfAborted();
      const out = a.act(state, signal ? { ...ctx, signal } : ctx);
      if (!(out instanceof Promise)) {
        onOutput?.(out, a.name);
        return out;
      }
      return out.then((x) => {
        // a call that finished is paid for, even if the episode was cancelled meanwhile
        onOutput?.(x, a.name);
        signal?.throwIfAborted();
        return x;
      });
    },
  }));
}

/** A trained orchestrator: the run's policy, agent pool, encoder and env rules, ready to solve tasks. */
export class Orchestrator {
  private nextEpisode = 0;
  private readonly policyRng: Rng;
  private readonly envRng: Rng;
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
    private readonly costKnob?: CostKnob,
    private readonly actionMask?: (state: SystemState, out: Uint8Array, offset: number) => void,
  ) {
    this.policyRng = new Rng(`${seed}:orchestrate-policy`);
    this.envRng = new Rng(`${seed}:orchestrate-env`);
  }

  get agentNames(): string[] {
    return this.agents.map((a) => a.name);
  }

  /**
   * The cost knob of a budget-conditioned policy: `lambda` (cost penalty) or `budget` (target mean cost
   * per task), both in the run's cost units ({@link costUnit}), and the range it was trained on;
   * undefined for a policy that is not conditioned.
   */
  get knob(): { name: "lambda" | "budget"; min: number; max: number } | undefined {
    const k = this.costKnob;
    return k ? { name: k.o.name, min: k.o.min, max: k.o.max } : undefined;
  }

  /** The cost unit the knob is measured in (cost of the run's cost rule per knob unit; 1 without a knob). */
  get costUnit(): number {
    return this.costKnob?.o.costUnit ?? 1;
  }

  /** Checks a knob value against the policy: a clear InputError when it cannot be used. */
  private knobFor(value: number | undefined): EpisodeKnob | undefined {
    const k = this.costKnob;
    if (!k) {
      if (value !== undefined) {
        throw new InputError(
          `${this.runDir}: this policy is not budget-conditioned (its config has no knob); it takes no --lambda/--budget`,
          this.runDir,
          "knob",
        );
      }
      return undefined;
    }
    const { name, min, max } = k.o;
    if (value === undefined) {
      throw new InputError(
        `${this.runDir}: this policy is budget-conditioned: give its ${name} (between ${min} and ${max}, in cost units of ${k.o.costUnit})`,
        this.runDir,
        "knob",
      );
    }
    if (!Number.isFinite(value) || value < min - 1e-12 || value > max + 1e-12) {
      throw new InputError(
        `${this.runDir}: ${name} ${value} is outside the range the policy was trained on [${min}, ${max}]`,
        this.runDir,
        "knob",
      );
    }
    return k.fixed(value);
  }

  /**
   * Recorded-output runs: a task must be an item of the table (matched by id, else by prompt). Live agents
   * (`--live`) can answer any text: a task outside the table goes to them as it is, and is not judged.
   */
  private resolveRecorded(list: Task[]): { tasks: Task[]; judged: boolean[] } {
    const rec = this.agents.find((a): a is RecordedAgent => a instanceof RecordedAgent);
    const live = this.agents.find((a): a is RecordedJudgedAgent => a instanceof RecordedJudgedAgent);
    const table = rec?.o.table ?? (this.config.tasks.source === "recorded" && live ? recordedTable(this.config) : undefined);
    if (!table) return { tasks: list, judged: list.map(() => true) };
    const judged: boolean[] = [];
    const tasks = list.map((t) => {
      const item = findItem(table, t);
      judged.push(item !== undefined);
      if (item) return { id: item.id, prompt: item.prompt, type: item.type, ...(item.answer !== undefined ? { answer: item.answer } : {}) };
      if (rec) {
        const why = "a recorded-output orchestrator can only replay items of its table";
        throw new NotInTableError(
          `task "${t.id}": no recorded answers for this prompt in ${table.files.join(", ")} (${why})`,
          `no recorded answers for this prompt: it is not an item of the served run's recorded table (${why})`,
        );
      }
      return t;
    });
    return { tasks, judged };
  }

  /** How consensus ties are broken (by model price on recorded pools); null: by the call's cost. */
  private rank: ((t: Turn) => number) | null | undefined;

  private get finalMode(): FinalAnswerMode {
    return "finalAnswer" in this.config.tasks ? this.config.tasks.finalAnswer : "last";
  }

  /** Solves one task (a text, or a task with a reference answer). */
  async solve(task: Task | string, o: SolveOptions = {}): Promise<OrchestrationTrace> {
    return (await this.solveMany([task], o))[0]!;
  }

  /** The task types of a simulated run (tasks.source: sim), else undefined. */
  get simTaskTypes(): string[] | undefined {
    return this.config.tasks.source === "sim" ? Object.keys(this.config.tasks.types) : undefined;
  }

  /** Simulated tasks of the given types, for a simulated run (what `orchestrate --task-type` solves). */
  simTasks(types: readonly string[]): Task[] {
    const known = this.simTaskTypes;
    if (!known)
      throw new InputError(
        `${this.runDir}: --task-type is for simulated runs (tasks.source: sim); this run's tasks come from ${this.config.tasks.source}`,
        this.runDir,
      );
    return types.map((type, i) => {
      if (!known.includes(type))
        throw new InputError(
          `--task-type ${type}: not a task type of ${this.runDir} (tasks.types: ${known.join(", ")})${didYouMean(type, known)}`,
          this.runDir,
        );
      return { id: `${type}-${this.nextEpisode + i}`, prompt: simTaskPrompt(type), type };
    });
  }

  /** Solves several tasks, all episodes in lockstep (one policy forward per step, LLM calls concurrent). */
  async solveMany(tasks: ReadonlyArray<Task | string>, o: SolveOptions = {}): Promise<OrchestrationTrace[]> {
    if (tasks.length === 0) return [];
    const knob = this.knobFor(o.knob);
    const own = o.seed === undefined;
    const first = o.firstEpisode ?? (own ? this.nextEpisode : 0);
    const { tasks: list, judged } = this.resolveRecorded(
      tasks.map((t, i) => (typeof t === "string" ? { id: `task-${first + i}`, prompt: t } : t)),
    );
    const types = this.simTaskTypes;
    if (types) {
      // simulated agents act on the task type, not on text: a free-text task has none
      const bad = list.find((t) => t.type === undefined || !types.includes(t.type));
      if (bad) {
        throw new InputError(
          `${this.runDir}: a simulated run (tasks.source: sim) solves simulated tasks of its types (${types.join(", ")}), not "${bad.prompt.slice(0, 60)}"` +
            `${bad.type !== undefined ? ` of type "${bad.type}"` : ""}: use --task-type <${types.join("|")}> (orchestrator.simTasks in code)`,
          this.runDir,
        );
      }
    }
    if (own) this.nextEpisode = first + list.length;
    const policyRng = own ? this.policyRng : new Rng(`${o.seed}:orchestrate-policy`);
    const envRng = own ? this.envRng : new Rng(`${o.seed}:orchestrate-env`);
    const batch = await rollout({
      spec: this.spec,
      agents: o.signal || o.onOutput ? guardedAgents(this.agents, o.signal, o.onOutput) : this.agents,
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
      ...(knob ? { knob } : {}),
      ...(this.actionMask ? { actionMask: this.actionMask } : {}),
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
      const fa = finalAnswer(history, this.finalMode, (this.rank ??= priceRank(this.config) ?? null) ?? undefined);
      const task = list[i]!;
      return {
        task,
        steps,
        ...(fa !== undefined ? { finalAnswer: fa } : {}),
        ...(task.answer !== undefined || types || (this.config.tasks.source === "recorded" && judged[i]) ? { success: e.success } : {}),
        ...endedBy(outputs[outputs.length - 1], e.agents[outputs.length - 1], this.config),
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
  /** Recorded runs: ask the models live at this OpenAI-compatible endpoint (src/config/live.ts). */
  live?: LiveOptions;
}

/** Loads the last checkpoint of a run as an {@link Orchestrator}. */
export async function loadOrchestrator(runDir: string, o: LoadOrchestratorOptions = {}): Promise<Orchestrator> {
  let config = loadRunConfig(runDir);
  if (o.sets && o.sets.length > 0) {
    const { validateConfig } = await import("../config/load.js");
    config = validateConfig(config, `${runDir}/config.yaml`, runDir, { sets: o.sets, resolved: true });
  }
  const run = await loadTrainedRun(runDir, { config, ...(o.live ? { live: o.live } : {}) });
  const { checkpointUpdate, backend, llm, encoder, trainer, knob, actionMask } = run;
  config = run.config;
  const agents = buildAgents(config, { llm });
  const spec = buildEnvSpec(config);
  return new Orchestrator(
    runDir,
    config,
    backend,
    checkpointUpdate,
    agents,
    encoder,
    spec,
    trainer,
    llm,
    o.seed ?? config.seed,
    knob,
    actionMask,
  );
}

/** What ended an episode, from its last step (see {@link OrchestrationTrace.endedBy}). */
function endedBy(
  last: AgentOutput | undefined,
  agent: string | undefined,
  config: Config,
): Pick<OrchestrationTrace, "endedBy" | "endedByAgent"> {
  if (!last?.terminal || agent === undefined) return { endedBy: "maxSteps" };
  const kind = config.agents.find((a) => a.name === agent)?.kind;
  return { endedBy: kind === "terminator" ? "terminator" : "solved", endedByAgent: agent };
}
