import type { Agent } from "../agents/agent.js";
import { buildAgent } from "../agents/loader.js";
import { ReinforceTrainer } from "../algos/reinforce.js";
import type { Trainer } from "../algos/trainer.js";
import { Rng, type RngState } from "../core/rng.js";
import type { EnvSpec } from "../env/env.js";
import { DoaMd5Encoder, FeaturesEncoder, type StateEncoder } from "../policy/encoders.js";
import { CategoricalPolicy } from "../policy/policy.js";
import { evaluatorByName } from "../tasks/evaluators.js";
import { inlineTasks, ListTaskSource, type TaskSource } from "../tasks/source.js";
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

export function buildAgents(c: Config): Agent[] {
  return c.agents.map(buildAgent);
}

export function buildTaskSource(c: Config): TaskSource {
  switch (c.tasks.source) {
    case "inline":
      return new ListTaskSource(inlineTasks(c.tasks.items), c.tasks.order);
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
    evaluator: evaluatorByName(c.tasks.evaluator),
  };
}

export function buildEncoder(c: Config): StateEncoder {
  const e = c.encoder;
  switch (e.name) {
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
