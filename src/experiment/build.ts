import type { Agent } from "../agents/agent.js";
import { buildAgent, type AgentDeps } from "../agents/loader.js";
import { ReinforceTrainer } from "../algos/reinforce.js";
import type { Trainer } from "../algos/trainer.js";
import { Rng, type RngState } from "../core/rng.js";
import type { EnvSpec } from "../env/env.js";
import { DoaMd5Encoder, FeaturesEncoder, type StateEncoder } from "../policy/encoders.js";
import { CategoricalPolicy } from "../policy/policy.js";
import { evaluatorByName } from "../tasks/evaluators.js";
import { inlineTasks, ListTaskSource, type TaskSource } from "../tasks/source.js";
import { generateArithmeticTasks } from "../tasks/arithmetic.js";
import { loadJsonlTasks, splitTasks } from "../tasks/jsonl.js";
import type { Task } from "../core/types.js";
import { LlmClient, type LlmClientOptions } from "../llm/client.js";
import type { ModelSettings } from "../llm/types.js";
import { Embedder } from "../llm/embeddings.js";
import { apiKeyFor } from "../llm/providers.js";
import { EmbeddingEncoder } from "../policy/embedding.js";
import type { Config } from "./config.js";

/** The random streams of a run, each derived from the one seed (DESIGN §5). */
export class RunRngs {
  readonly policy: Rng;
  readonly env: Rng;
  readonly tasks: Rng;
  readonly trainer: Rng;

  constructor(
    readonly seed: number,
    states?: Record<string, RngState>,
  ) {
    this.policy = new Rng(`${seed}:policy`, states?.policy);
    this.env = new Rng(`${seed}:env`, states?.env);
    this.tasks = new Rng(`${seed}:tasks`, states?.tasks);
    this.trainer = new Rng(`${seed}:trainer`, states?.trainer);
  }

  state(): Record<string, RngState> {
    return { policy: this.policy.state(), env: this.env.state(), tasks: this.tasks.state(), trainer: this.trainer.state() };
  }
}

export function buildAgents(c: Config, deps: AgentDeps = {}): Agent[] {
  return c.agents.map((d) => buildAgent(d, deps));
}

/** The resolved settings of every entry of `llm.models` (model fields over the llm defaults). */
export function modelSettings(c: Config): Record<string, ModelSettings> {
  const l = c.llm;
  if (!l) return {};
  const out: Record<string, ModelSettings> = {};
  for (const [ref, m] of Object.entries(l.models)) {
    const baseURL = m.baseURL ?? l.baseURL;
    const apiKeyEnv = m.apiKeyEnv ?? l.apiKeyEnv;
    out[ref] = {
      ref,
      provider: m.provider ?? l.provider,
      model: m.model,
      ...(baseURL !== undefined ? { baseURL } : {}),
      ...(apiKeyEnv !== undefined ? { apiKeyEnv } : {}),
      temperature: m.temperature ?? l.temperature,
      maxTokens: m.maxTokens ?? l.maxTokens,
      timeoutMs: m.timeoutMs ?? l.timeoutMs,
      maxRetries: m.maxRetries ?? l.maxRetries,
      inputPricePerM: m.inputPricePerM,
      outputPricePerM: m.outputPricePerM,
      paramsB: m.paramsB,
    };
  }
  return out;
}

/**
 * The run's one LLM client (shared by all its LLM agents and the embedding encoder), or undefined
 * when the config has no llm section. Creates every used model's SDK client, so a missing API key
 * variable is reported before anything is written.
 */
export function buildLlm(c: Config, extra: Partial<LlmClientOptions> = {}): LlmClient | undefined {
  const l = c.llm;
  if (!l) return undefined;
  const client = new LlmClient({
    models: modelSettings(c),
    maxConcurrency: l.maxConcurrency,
    ...(l.requestsPerMinute !== undefined ? { requestsPerMinute: l.requestsPerMinute } : {}),
    cost: { mode: l.cost.mode, computeScale: l.cost.computeScale, ...(l.cost.logStepPhi !== undefined ? { logStepPhi: l.cost.logStepPhi } : {}) },
    cache: { mode: l.cache.mode, dir: l.cache.dir },
    sendSeed: l.sendSeed,
    ...extra,
  });
  client.checkModels(new Set(c.agents.flatMap((a) => (a.kind === "llm" ? [a.model] : []))));
  return client;
}

/** Train and held-out tasks of a config (inline tasks: the same list for both). */
export function buildTaskSplits(c: Config): { train: Task[]; eval: Task[] } {
  const t = c.tasks;
  switch (t.source) {
    case "inline": {
      const items = inlineTasks(t.items);
      return { train: items, eval: items };
    }
    case "jsonl": {
      const fields = t.fields;
      const all = loadJsonlTasks(t.file, fields);
      if (t.evalFile !== undefined) return { train: all, eval: loadJsonlTasks(t.evalFile, fields) };
      return splitTasks(all, t.evalFraction, c.seed);
    }
    case "arithmetic": {
      const seed = t.seed ?? c.seed;
      const opts = { seed, types: t.types, minSteps: t.minSteps, maxSteps: t.maxSteps };
      const train = generateArithmeticTasks({ ...opts, count: t.train, idPrefix: "train" });
      const seen = new Set(train.map((x) => x.prompt));
      const pool = generateArithmeticTasks({ ...opts, seed: `${seed}:eval`, count: 3 * t.eval, idPrefix: "eval" });
      return { train, eval: pool.filter((x) => !seen.has(x.prompt)).slice(0, t.eval) };
    }
  }
}

export function buildTaskSource(c: Config, split: "train" | "eval" = "train"): TaskSource {
  const order = c.tasks.order;
  switch (c.tasks.source) {
    case "inline":
      return new ListTaskSource(inlineTasks(c.tasks.items), order);
    default: {
      const s = buildTaskSplits(c);
      // held-out tasks are visited in order, so an evaluation of n ≤ #eval episodes sees each once
      return split === "train" ? new ListTaskSource(s.train, order) : new ListTaskSource(s.eval, "cycle");
    }
  }
}

export function buildEnvSpec(c: Config): EnvSpec {
  return {
    maxSteps: c.env.maxSteps,
    terminatorEndsEpisode: c.env.terminatorEndsEpisode,
    successBonus: c.reward.successBonus,
    failurePenalty: c.reward.failurePenalty,
    costPenalty: c.reward.costPenalty,
    budget: c.env.budget,
    evaluator:
      c.tasks.source === "inline"
        ? evaluatorByName(c.tasks.evaluator)
        : evaluatorByName(c.tasks.evaluator, { finalAnswer: c.tasks.finalAnswer, tolerance: c.tasks.tolerance }),
  };
}

export function buildEncoder(c: Config, llm?: LlmClient): StateEncoder {
  const e = c.encoder;
  switch (e.name) {
    case "embedding": {
      if (!llm) throw new Error("buildEncoder: the embedding encoder needs the run's LLM client (config llm section)");
      const apiKeyEnv = e.apiKeyEnv ?? c.llm?.apiKeyEnv;
      const apiKey = apiKeyFor({ ref: "encoder", apiKeyEnv }, process.env, "encoder.apiKeyEnv");
      const baseURL = e.baseURL ?? c.llm?.baseURL;
      const embedder = new Embedder({
        model: e.model,
        ...(baseURL !== undefined ? { baseURL } : {}),
        apiKey,
        dimensions: e.dimensions,
        timeoutMs: e.timeoutMs,
        maxRetries: e.maxRetries,
        cache: llm.cache,
        limiter: llm.limiter,
        stats: llm.stats,
      });
      const features = new FeaturesEncoder({
        agents: c.agents.map((a) => a.name),
        maxSteps: c.env.maxSteps,
        taskBuckets: e.taskBuckets,
        outputBuckets: e.outputBuckets,
        recentTurns: e.recentTurns,
        costScale: e.costScale,
      });
      return new EmbeddingEncoder(embedder, e.dimensions, features);
    }
    case "doa-md5":
      return new DoaMd5Encoder();
    case "features":
      return new FeaturesEncoder({
        agents: c.agents.map((a) => a.name),
        maxSteps: c.env.maxSteps,
        taskBuckets: e.taskBuckets,
        outputBuckets: e.outputBuckets,
        recentTurns: e.recentTurns,
        costScale: e.costScale,
      });
  }
}

/** Policy and trainer, initialised from the seed (init uses its own stream, so it never shifts sampling). */
export function buildTrainer(c: Config, encoder: StateEncoder): Trainer {
  const initRng = new Rng(`${c.seed}:init`);
  const policy = new CategoricalPolicy(
    encoder.dim,
    c.agents.length,
    { hidden: c.policy.hidden, activation: c.policy.activation, init: c.policy.init, outputGain: 0.01 },
    initRng,
  );
  const a = c.algo;
  switch (a.name) {
    case "reinforce":
      return new ReinforceTrainer(
        policy,
        {
          gamma: c.reward.gamma,
          lr: a.lr,
          baseline: a.reinforce.baseline,
          normalizeReturns: a.reinforce.normalizeReturns,
          entropyCoef: a.entropyCoef,
          maxGradNorm: a.maxGradNorm,
          valueLr: a.reinforce.valueLr,
          valueNet: { hidden: a.reinforce.valueHidden, activation: c.policy.activation, init: c.policy.init },
          adamEps: a.adamEps,
        },
        initRng,
      );
  }
}
