import { Rng } from "../core/rng.js";
import { rollout } from "../env/rollout.js";
import { buildAgents, buildEnvSpec, buildTaskSource } from "../run/build.js";
import { loadTrainedRun } from "../run/trained.js";
import { headsOf } from "../config/heads.js";
import { mean, std } from "../core/math.js";

export interface EvalOptions {
  episodes?: number;
  greedy?: boolean;
  /** Seed of the evaluation streams (default: the run's seed). */
  seed?: number;
  /** Episodes run in lockstep per batch. */
  batchSize?: number;
}

export interface EvalResult {
  runDir: string;
  checkpointUpdate: number;
  episodes: number;
  greedy: boolean;
  backend: string;
  return_mean: number;
  return_std: number;
  success_rate: number;
  cost_mean: number;
  ep_len_mean: number;
  /** How often each agent was chosen, as a fraction of steps. */
  agentUsage: Record<string, number>;
}

/** Evaluates the last checkpoint of a run by sampling (or greedy) episodes. */
export async function evaluateRun(runDir: string, o: EvalOptions = {}): Promise<EvalResult> {
  const { config, checkpointUpdate, backend, llm, encoder, trainer } = await loadTrainedRun(runDir);
  try {
    // LLM runs: the run's models and cache; tasks come from the held-out split (inline: the same list)
    const agents = buildAgents(config, { llm });
    const tasks = buildTaskSource(config, "eval");
    const spec = buildEnvSpec(config);
    const n = o.episodes ?? 100;
    const seed = o.seed ?? config.seed;
    const policyRng = new Rng(`${seed}:eval-policy`);
    const envRng = new Rng(`${seed}:eval-env`);
    const taskRng = new Rng(`${seed}:eval-tasks`);
    const bs = o.batchSize ?? 256;
    const all = { return: [] as number[], success: [] as number[], cost: [] as number[], len: [] as number[] };
    const usage = new Map<string, number>();
    let steps = 0;
    for (let start = 0; start < n; start += bs) {
      const batch = await rollout({
        spec,
        agents,
        encoder,
        policy: trainer.policy,
        heads: headsOf(config),
        tasks,
        episodes: Math.min(bs, n - start),
        firstEpisode: start,
        policyRng,
        envRng,
        taskRng,
        greedy: o.greedy ?? false,
      });
      for (const e of batch.episodes) {
        all.return.push(e.return);
        all.success.push(e.success ? 1 : 0);
        all.cost.push(e.cost);
        all.len.push(e.length);
        for (const a of e.agents) usage.set(a, (usage.get(a) ?? 0) + 1);
        steps += e.length;
      }
    }
    return {
      runDir,
      checkpointUpdate,
      episodes: n,
      greedy: o.greedy ?? false,
      backend,
      return_mean: mean(all.return),
      return_std: std(all.return),
      success_rate: mean(all.success),
      cost_mean: mean(all.cost),
      ep_len_mean: mean(all.len),
      agentUsage: Object.fromEntries(config.agents.map((a) => [a.name, (usage.get(a.name) ?? 0) / steps])),
    };
  } finally {
    trainer.dispose();
  }
}
