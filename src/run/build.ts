import type { Agent } from "../agents/agent.js";
import { buildAgent, type AgentDeps } from "../agents/loader.js";
import { linkSimAgents } from "../agents/sim.js";
import type { LagrangeOptions } from "../algos/lagrange.js";
import type { OnPolicyOptions } from "../algos/on-policy.js";
import { P3oTrainer } from "../algos/p3o.js";
import { PpoLagrangianTrainer } from "../algos/ppo-lagrangian.js";
import { PpoTrainer } from "../algos/ppo.js";
import { ReinforceTrainer } from "../algos/reinforce.js";
import type { Trainer } from "../algos/trainer.js";
import { CpoTrainer } from "../algos/cpo.js";
import { MacpoTrainer, type CpoOptions } from "../algos/macpo.js";
import { MappoLagrangianTrainer } from "../algos/mappo-lagrangian.js";
import { FactoredPolicy } from "../policy/factored.js";
import { jointSize } from "../env/heads.js";
import { headsOf } from "../config/heads.js";
import { Rng, type RngState } from "../core/rng.js";
import type { EnvSpec } from "../env/env.js";
import { DoaMd5Encoder, FeaturesEncoder, type FeaturesEncoderOptions, type StateEncoder } from "../policy/encoders.js";
import { CategoricalPolicy } from "../policy/policy.js";
import { evaluatorByName, recorded, recordedEvaluator, type AsyncEvaluator } from "../tasks/evaluators.js";
import { moduleEvaluator, moduleEvaluatorFunction } from "../tasks/module-evaluator.js";
import { moduleAgentFunction } from "../agents/module.js";
import { importModuleExport, loadedModuleExport, moduleWhere, type ModuleRef } from "../agents/user-module.js";
import { AnswersEncoder, KnobEncoder } from "../policy/answers.js";
import { CostKnob } from "../algos/knob.js";
import {
  costUnitOf,
  priceRank,
  recordedAgents,
  recordedJudges,
  recordedPool,
  recordedSplits,
  recordedTable,
  tableCostedAgents,
} from "../config/recorded.js";
import { goldJudge, RecordedJudgedAgent } from "../agents/judged.js";
import { InputError } from "../core/errors.js";
import { SimTaskSource } from "../tasks/sim.js";
import { inlineTasks, ListTaskSource, type TaskSource } from "../tasks/source.js";
import { generateArithmeticTasks } from "../tasks/arithmetic.js";
import { loadJsonlTasks, splitTasks } from "../tasks/jsonl.js";
import { trainSubset } from "../tasks/recorded.js";
import type { SystemState, Task } from "../core/types.js";
import { LlmClient, type LlmClientOptions } from "../llm/client.js";
import { Embedder } from "../llm/embeddings.js";
import { apiKeyFor } from "../llm/providers.js";
import { EmbeddingEncoder } from "../policy/embedding.js";
import { constrainedAlgos, type AlgoName, type Config } from "../config/schema.js";
import { modelSettings } from "../config/models.js";

export { modelSettings };

/** The random streams of a run, each derived from the one seed. */
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

  /** Restores every stream in place from a checkpoint (components keep their references). */
  restore(states: Record<string, RngState>): void {
    if (states.policy) this.policy.restore(states.policy);
    if (states.env) this.env.restore(states.env);
    if (states.tasks) this.tasks.restore(states.tasks);
    if (states.trainer) this.trainer.restore(states.trainer);
  }
}

export function buildAgents(c: Config, deps: AgentDeps = {}): Agent[] {
  // recorded agents are built once per config (their per-item outputs are precomputed)
  const recorded = c.tasks.source === "recorded" ? recordedAgents(c) : undefined;
  // llm agents on recorded tasks: replies judged and featured as their model's recorded answers
  const judges = recorded ? recordedJudges(c) : undefined;
  const agents = c.agents.map((d) => {
    const r = recorded?.get(d.name);
    if (r) return r;
    const a = buildAgent(d, deps);
    if (!judges || d.kind !== "llm") return a;
    return new RecordedJudgedAgent(a, judges.get(d.name) ?? goldJudge(recordedPool(c)));
  });
  linkSimAgents(agents);
  return agents;
}

/**
 * The run's one LLM client (shared by all its LLM agents and the embedding encoder), or undefined
 * when the config has no llm section. Creates every used model's SDK client, so a missing API key
 * variable is reported before anything is written.
 */
export function buildLlm(c: Config, extra: Partial<LlmClientOptions> = {}): LlmClient | undefined {
  const l = c.llm;
  if (!l) return undefined;
  // an llm section that only prices recorded answers needs no client
  if (!c.agents.some((a) => a.kind === "llm") && c.encoder.name !== "embedding") return undefined;
  const client = new LlmClient({
    models: modelSettings(c),
    maxConcurrency: l.maxConcurrency,
    ...(l.requestsPerMinute !== undefined ? { requestsPerMinute: l.requestsPerMinute } : {}),
    cost: {
      mode: l.cost.mode,
      computeScale: l.cost.computeScale,
      ...(l.cost.logStepPhi !== undefined ? { logStepPhi: l.cost.logStepPhi } : {}),
    },
    cache: { mode: l.cache.mode, dir: l.cache.dir },
    sendSeed: l.sendSeed,
    ...extra,
  });
  client.checkModels(new Set(c.agents.flatMap((a) => (a.kind === "llm" ? [a.model] : []))));
  client.cache.check();
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
      return splitTasks(all, t.evalFraction, c.seed, `${t.file}: tasks.evalFraction`);
    }
    case "arithmetic": {
      const seed = t.seed ?? c.seed;
      const opts = { seed, types: t.types, minSteps: t.minSteps, maxSteps: t.maxSteps };
      const train = generateArithmeticTasks({ ...opts, count: t.train, idPrefix: "train" });
      const seen = new Set(train.map((x) => x.prompt));
      const pool = generateArithmeticTasks({ ...opts, seed: `${seed}:eval`, count: 3 * t.eval, idPrefix: "eval" });
      return { train, eval: pool.filter((x) => !seen.has(x.prompt)).slice(0, t.eval) };
    }
    case "recorded": {
      // `eval` is the TEST split: every figure maestro reports on recorded data is on held-out test items
      const s = recordedSplits(c);
      return { train: trainSubset(s.train, t.trainItems), eval: s.test };
    }
    case "sim":
      throw new Error("buildTaskSplits: simulated tasks are drawn per episode by type; there is no fixed task list");
  }
}

export function buildTaskSource(c: Config, split: "train" | "eval" = "train"): TaskSource {
  switch (c.tasks.source) {
    case "inline":
      return new ListTaskSource(inlineTasks(c.tasks.items), c.tasks.order);
    case "sim":
      return new SimTaskSource(c.tasks.types);
    default: {
      const order = c.tasks.order;
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
    // the constrained trainers optimise the task reward under env.budget and never use the penalty, so
    // their episodes' "return" (metrics.csv return_mean, progress, eval) is the task return
    costPenalty: constrainedAlgos.includes(c.algo.name) ? 0 : c.reward.costPenalty,
    budget: c.env.budget,
    evaluator: buildEvaluator(c),
  };
}

function buildEvaluator(c: Config): AsyncEvaluator {
  const t = c.tasks;
  if (t.source === "recorded") return t.finalAnswer === "last" ? recorded : recordedEvaluator(t.finalAnswer, priceRank(c));
  if (typeof t.evaluator === "object") {
    const e = t.evaluator;
    const ref = { module: e.module, export: e.export };
    const where = `tasks.evaluator (${e.module}, export "${e.export}")`;
    const fn = moduleEvaluatorFunction(loadedModuleExport(ref, "tasks.evaluator"), where);
    return moduleEvaluator(fn, ref, e.params, "finalAnswer" in t ? t.finalAnswer : "last");
  }
  if (t.source === "inline" || t.source === "sim") return evaluatorByName(t.evaluator as "terminated" | "solved");
  return evaluatorByName(t.evaluator, { finalAnswer: t.finalAnswer, tolerance: t.tolerance });
}

/** The module references of a config: `kind: module` agents and a module task evaluator. */
function moduleRefs(c: Config): Array<{ def: object; ref: ModuleRef; field: string; check(value: unknown, where: string): unknown }> {
  const out: ReturnType<typeof moduleRefs> = [];
  c.agents.forEach((a, i) => {
    if (a.kind === "module")
      out.push({ def: a, ref: { module: a.module, export: a.export }, field: `agents[${i}]`, check: moduleAgentFunction });
  });
  const e = "evaluator" in c.tasks ? c.tasks.evaluator : undefined;
  if (typeof e === "object")
    out.push({ def: e, ref: { module: e.module, export: e.export }, field: "tasks.evaluator", check: moduleEvaluatorFunction });
  return out;
}

/**
 * Imports the user modules a config names (`kind: module` agents, a module task evaluator) and checks
 * that each export has the expected shape; errors name the file and field the module was given in
 * (`where`: the config, for configs built in code). Done once per process before anything is built
 * from the config (train, eval, orchestrate call it), so a bad module stops a run before its folder exists.
 */
export async function loadUserModules(c: Config, where = "config"): Promise<void> {
  for (const m of moduleRefs(c)) {
    const fallback = { file: where, field: m.field };
    const value = await importModuleExport(m.ref, moduleWhere(m.def, "export", fallback));
    m.check(value, moduleWhere(m.def, "export", fallback) + ` ("${m.ref.export}" of ${m.ref.module})`);
  }
}

/**
 * The action mask of env.shape, or undefined for a `free` pool that may repeat every call. free with
 * recorded agents (or env.callOnce): each such agent at most once, the terminator only after a call and
 * alone at the last step. cascade: calls go up the pool order
 * (after calling agent k only agents listed after k; each at most once; the first call may be any), the
 * terminator only after a call, only the terminator at the last step; router: one non-terminal agent at
 * step 0, then only the terminator.
 */
/**
 * The stop action that greedy decoding reads first (`policy.greedy`), or undefined for plain argmax. `auto`
 * reads it first where the free shape orchestrates a recorded pool: there a policy weighs one stop against
 * many models.
 */
export function greedyStopAction(c: Config): number | undefined {
  const stop = c.agents.findIndex((a) => a.kind === "terminator");
  if (stop < 0 || (c.policy.heads !== undefined && c.policy.heads.length > 1)) return undefined;
  const mode = c.policy.greedy;
  if (mode === "argmax") return undefined;
  if (mode === "stop-first") return stop;
  const pool =
    c.env.shape === "free" &&
    c.agents.some((a) => a.kind !== "terminator" && (a.kind === "recorded" || c.tasks.source === "recorded" || c.env.callOnce));
  return pool ? stop : undefined;
}

export function buildActionMask(c: Config): ((state: SystemState, out: Uint8Array, offset: number) => void) | undefined {
  const shape = c.env.shape;
  const names = c.agents.map((a) => a.name);
  const terminal = c.agents.map((a) => a.kind === "terminator");
  const maxSteps = c.env.maxSteps;
  const index = new Map(names.map((n, i) => [n, i]));
  if (shape === "free") {
    // on recorded tasks every model (recorded, or live llm agents answering the same items) answers an item the
    // same way each time it is asked
    const once = c.agents.map((a) => a.kind !== "terminator" && (a.kind === "recorded" || c.tasks.source === "recorded" || c.env.callOnce));
    if (!once.some(Boolean)) return undefined;
    return (state, out, offset) => {
      const called = new Set<number>();
      for (const t of state.history) {
        const i = index.get(t.agent);
        if (i !== undefined && !t.output.terminal) called.add(i);
      }
      const last = state.step >= maxSteps - 1;
      let any = false;
      for (let i = 0; i < names.length; i++) {
        const ok = terminal[i] ? called.size > 0 : !last && !(once[i] && called.has(i));
        out[offset + i] = ok ? 1 : 0;
        any ||= ok;
      }
      // nothing callable (every model asked, or no call possible): only the terminator is left
      if (!any) for (let i = 0; i < names.length; i++) out[offset + i] = terminal[i] ? 1 : 0;
    };
  }
  return (state, out, offset) => {
    const last = state.step >= maxSteps - 1 || (shape === "router" && state.step >= 1);
    // cascade: only agents after the last one called, in pool order (cheapest first for model "*")
    let after = -1;
    for (const t of state.history) after = Math.max(after, index.get(t.agent) ?? -1);
    let any = false;
    for (let i = 0; i < names.length; i++) {
      let ok: boolean;
      if (terminal[i]) ok = state.step > 0;
      else ok = !last && (shape === "router" || i > after);
      out[offset + i] = ok ? 1 : 0;
      any ||= ok && !terminal[i];
    }
    // every model called: only the terminator is left
    if (!any) for (let i = 0; i < names.length; i++) out[offset + i] = terminal[i] ? 1 : 0;
  };
}

/**
 * The cost knob of a budget-conditioned config (undefined without `knob`), with auto ranges resolved:
 * λ ∈ [λ_max/100 on the log scale, else 0; λ_max = 1.25·(successBonus − failurePenalty)]; budget ∈ [cheapest agent's mean cost, all agents' sum]
 * in cost units over the training items.
 */
export function buildKnob(c: Config): CostKnob | undefined {
  const k = c.knob;
  if (!k) return undefined;
  const costUnit = costUnitOf(c);
  const gap = Math.max(1e-9, c.reward.successBonus - c.reward.failurePenalty);
  let min = k.min;
  let max = k.max;
  if (k.name === "lambda") {
    max ??= 1.25 * gap;
    min ??= k.scale === "log" ? max / 100 : 0;
  } else if (min === null || max === null) {
    if (c.tasks.source !== "recorded") {
      throw new InputError(
        `knob.min / knob.max: a budget knob needs an explicit range unless tasks.source is recorded (auto uses the recorded costs)`,
        undefined,
        "knob",
      );
    }
    const train = recordedSplits(c).train;
    const costs = tableCostedAgents(c).map((a) => a.meanCost(train) / costUnit);
    min ??= Math.min(...costs);
    max ??= costs.reduce((x, y) => x + y, 0);
  }
  if (!(max! >= min!)) throw new InputError(`knob: min ${min} > max ${max}`, undefined, "knob");
  if (k.scale === "log" && !(min! > 0))
    throw new InputError(`knob.min: a log-scale knob needs min > 0 (got ${min})`, undefined, "knob.min");
  return new CostKnob({
    name: k.name,
    min: min!,
    max: max!,
    costUnit,
    scale: k.scale,
    bins: k.bins,
    lambdaLr: k.lambdaLr,
    lambdaMax: 1.25 * gap,
  });
}

/** The `features` encoder of a config (alone, or as the structural part of the embedding encoder). */
function featuresEncoder(
  c: Config,
  e: { taskBuckets: number; outputBuckets: number; recentTurns: number; costScale: number },
  extra: Partial<FeaturesEncoderOptions> = {},
): FeaturesEncoder {
  return new FeaturesEncoder({
    agents: c.agents.map((a) => a.name),
    maxSteps: c.env.maxSteps,
    taskBuckets: e.taskBuckets,
    outputBuckets: e.outputBuckets,
    recentTurns: e.recentTurns,
    costScale: e.costScale,
    ...extra,
  });
}

/** The config's state encoder; budget-conditioned configs append the knob (src/policy/answers.ts). */
export function buildEncoder(c: Config, llm?: LlmClient): StateEncoder {
  const base = baseEncoder(c, llm);
  const knob = buildKnob(c);
  return knob ? new KnobEncoder(base, (v) => knob.position(v)) : base;
}

function baseEncoder(c: Config, llm?: LlmClient): StateEncoder {
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
        maxRetryWaitMs: c.llm?.maxRetryWaitMs ?? 60_000,
        cache: llm.cache,
        limiter: llm.limiter,
        stats: llm.stats,
      });
      return new EmbeddingEncoder(embedder, e.dimensions, featuresEncoder(c, e));
    }
    case "doa-md5":
      return new DoaMd5Encoder();
    case "answers":
      return new AnswersEncoder({
        agents: c.agents.map((a) => a.name),
        terminal: c.agents.filter((a) => a.kind === "terminator").map((a) => a.name),
        maxSteps: c.env.maxSteps,
        costUnit: costUnitOf(c),
        types: c.tasks.source === "recorded" ? recordedTable(c).types : [],
        taskBuckets: e.taskBuckets,
      });
    case "features":
      return featuresEncoder(c, e, {
        view: e.view,
        markovAgents: c.agents
          .filter((a) => a.kind === "sim" && a.boost !== undefined && Object.keys(a.boost).length > 0)
          .map((a) => a.name),
        ...(c.tasks.source === "sim" ? { taskTypes: Object.keys(c.tasks.types) } : {}),
      });
  }
}

/**
 * Policy and trainer, initialised from the seed (init uses its own stream, so it never shifts sampling).
 * `trainerRng` orders minibatches (pass the run's RunRngs.trainer so it is checkpointed).
 */
/** What a trainer's builder gets: the RNGs, and its policy network(s), made on demand from the config. */
interface TrainerParts {
  initRng: Rng;
  rng: Rng;
  /** One categorical over the (joint) actions: the trainers with a single policy. */
  policy(): CategoricalPolicy;
  /** One network per head of policy.heads (macpo, mappo-lagrangian). */
  factored(): {
    policy: FactoredPolicy;
    heads: Array<{ name: string; policy: CategoricalPolicy }>;
    order: { headOrder: Config["algo"]["headOrder"]; step: Config["algo"]["macpo"]["step"] };
  };
}

/**
 * How each trainer is built from a config, one line per trainer: a new trainer is its file in src/algos, its
 * line in the schema's trainer table (with its option block under `algo`), and its line here.
 */
const trainerBuilders: { [K in AlgoName]: (c: Config, p: TrainerParts) => Trainer } = {
  reinforce: (c, p) => new ReinforceTrainer(p.policy(), reinforceOptions(c), p.initRng),
  ppo: (c, p) => new PpoTrainer(p.policy(), onPolicyOptions(c), p.initRng, p.rng),
  "ppo-lagrangian": (c, p) => new PpoLagrangianTrainer(p.policy(), onPolicyOptions(c), lagrangeOptions(c), p.initRng, p.rng),
  p3o: (c, p) =>
    new P3oTrainer(p.policy(), onPolicyOptions(c), { ...c.algo.p3o, budget: requireBudget(c), dual: lagrangeOptions(c) }, p.initRng, p.rng),
  cpo: (c, p) => new CpoTrainer(p.policy(), onPolicyOptions(c), cpoOptions(c), p.initRng, p.rng),
  macpo: (c, p) => {
    const f = p.factored();
    return new MacpoTrainer(f.policy, f.heads, onPolicyOptions(c), cpoOptions(c), f.order, p.initRng, p.rng);
  },
  "mappo-lagrangian": (c, p) => {
    const f = p.factored();
    return new MappoLagrangianTrainer(f.policy, onPolicyOptions(c), lagrangeOptions(c), f.order, p.initRng, p.rng);
  },
};

export function buildTrainer(c: Config, encoder: StateEncoder, trainerRng: Rng = new Rng(`${c.seed}:trainer`)): Trainer {
  const initRng = new Rng(`${c.seed}:init`);
  const netOpts = { hidden: c.policy.hidden, activation: c.policy.activation, init: c.policy.init, outputGain: 0.01 };
  return trainerBuilders[c.algo.name](c, {
    initRng,
    rng: trainerRng,
    policy: () => {
      const policy = new CategoricalPolicy(encoder.dim, jointSize(headsOf(c)), netOpts, initRng);
      policy.greedyStop = greedyStopAction(c);
      return policy;
    },
    factored: () => {
      const heads = headsOf(c);
      const policy = new FactoredPolicy(
        encoder.dim,
        heads.map((h) => h.name),
        heads.map((h) => h.choices.length),
        netOpts,
        initRng,
      );
      return {
        policy,
        heads: policy.heads.map((p, i) => ({ name: heads[i]!.name, policy: p })),
        order: { headOrder: c.algo.headOrder, step: c.algo.macpo.step },
      };
    },
  });
}

/** REINFORCE's options: its own learning rate, baseline and return normalisation, the shared algo fields. */
function reinforceOptions(c: Config): ConstructorParameters<typeof ReinforceTrainer>[1] {
  const a = c.algo;
  return {
    gamma: c.reward.gamma,
    lr: a.reinforce.lr ?? a.lr,
    baseline: a.reinforce.baseline,
    normalizeReturns: a.reinforce.normalizeReturns,
    entropyCoef: a.entropyCoef,
    entropyCoefFinal: a.entropyCoefFinal,
    totalUpdates: c.train.updates,
    averageFraction: a.averagePolicy,
    maxGradNorm: a.maxGradNorm,
    valueLr: a.critic.lr,
    valueNet: { hidden: a.critic.hidden, activation: c.policy.activation, init: c.policy.init },
    adamEps: a.adamEps,
  };
}

/** The CPO step options of cpo and macpo. */
export function cpoOptions(c: Config): CpoOptions {
  return { ...c.algo.cpo, entropyCoef: c.algo.entropyCoef, budget: requireBudget(c) };
}

function requireBudget(c: Config): number {
  if (c.env.budget === undefined) throw new Error(`algo ${c.algo.name} needs env.budget`);
  return c.env.budget;
}

/** The Lagrange multiplier settings of the Lagrangian trainers (ppo-lagrangian, mappo-lagrangian). */
function lagrangeOptions(c: Config): LagrangeOptions {
  const l = c.algo.dual;
  return { init: l.lambdaInit, lr: l.lambdaLr, max: l.lambdaMax, kp: l.kp, optimizer: l.optimizer, pid: l.pid, budget: requireBudget(c) };
}

/** The options of every trainer with critics (algo.critic, algo.ppo and the shared algo fields). */
export function onPolicyOptions(c: Config): OnPolicyOptions {
  const a = c.algo;
  const cr = a.critic;
  return {
    gamma: c.reward.gamma,
    gaeLambda: cr.gaeLambda,
    costGamma: cr.costGamma ?? c.reward.gamma,
    costGaeLambda: cr.costGaeLambda ?? cr.gaeLambda,
    clipRatio: a.ppo.clipRatio,
    epochs: a.epochs,
    minibatches: a.minibatches,
    targetKl: a.ppo.targetKl,
    lr: a.lr,
    valueLr: cr.lr,
    valueNet: { hidden: cr.hidden, activation: c.policy.activation, init: c.policy.init },
    entropyCoef: a.entropyCoef,
    entropyCoefFinal: a.entropyCoefFinal,
    maxGradNorm: a.maxGradNorm,
    adamEps: a.adamEps,
    normalizeAdvantage: cr.normalizeAdvantage,
    standardizeCostAdvantage: cr.standardizeCostAdvantage,
    costWindow: cr.costWindow ?? c.train.episodesPerUpdate,
    annealLr: a.annealLr,
    averageFraction: a.averagePolicy,
    totalUpdates: c.train.updates,
  };
}
