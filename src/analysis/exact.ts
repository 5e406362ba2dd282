/**
 * Exact evaluation of a stochastic policy on a simulated config: no sampling, the expected
 * return, success probability and cost are sums over every reachable branch.
 *
 * Enumeration: a frontier of partial episodes per step, starting from one per task type (weight =
 * type probability). Each is extended by every action with π(a|s) > 0 and every outcome of that agent
 * (a sim solver: success with p, failure with 1 − p; other agents: their one deterministic output),
 * applying the env's own reward rules (Episode.apply), so the numbers are exactly those training sees
 * in expectation. With the `markov` encoder view, partial episodes in the same Markov state (type,
 * step, helpers) see the same policy input and have identical futures, so they are merged (keeping
 * probability-weighted sums of what they accumulated): the frontier is as small as the Markov state
 * space. With any other encoder every history is its own branch (exact, but exponential in maxSteps).
 *
 * "value" is the same objective the oracle maximises (see oracle.ts): J_R = E[Σ task reward] for the
 * constrained problem (ppo-lagrangian / p3o with a budget), E[Σ (r_t − λ·c_t)] otherwise. "return" is
 * always E[Σ configured reward] (the metrics.csv return_mean), "cost" is E[episode cost] = J_C.
 */
import type { Agent } from "../agents/agent.js";
import { SimAgent } from "../agents/sim.js";
import { Rng } from "../core/rng.js";
import type { AgentOutput, SystemState, Task } from "../core/types.js";
import { Episode, type EnvSpec } from "../env/env.js";
import { simTaskPrompt } from "../tasks/sim.js";
import type { StateEncoder } from "../policy/encoders.js";
import type { ActionPolicy } from "../policy/factored.js";
import { headsOf } from "../config/heads.js";
import { jointOptions } from "../env/heads.js";
import { buildEnvSpec } from "../run/build.js";
import { loadTrainedRun } from "../run/trained.js";
import type { Config } from "../config/schema.js";
import { markovKey, objectiveText, simProblem } from "./oracle.js";

/** Action probabilities (rows × numActions, row-major) of a batch of states. */
export type PolicyProbs = (states: readonly SystemState[]) => Float32Array | Float64Array;

export interface ExactResult {
  mode: "constrained" | "penalised";
  /** The objective `value` measures, in words (the oracle's objectiveText). */
  objective: string;
  /** The oracle's objective evaluated for this policy. */
  value: number;
  /** E[Σ configured reward] (undiscounted). */
  return: number;
  /** E[Σ task reward] = J_R. */
  taskReturn: number;
  success: number;
  /** E[episode cost] = J_C. */
  cost: number;
  budget: number | null;
  /** Partial episodes expanded (a size measure of the enumeration). */
  nodes: number;
}

interface Node {
  task: Task;
  turns: Array<{ action: number; output: AgentOutput }>;
  prob: number;
  /** Probability-weighted sums of what the merged partial episodes accumulated so far. */
  wReturn: number;
  wTaskReturn: number;
  wCost: number;
}

const dummyRng = new Rng("exact-eval");

function replay(spec: EnvSpec, agents: readonly Agent[], node: Node): Episode {
  const ep = new Episode(spec, node.task, 0);
  for (const t of node.turns) ep.apply(agents[t.action]!, t.action, t.output);
  return ep;
}

function outcomesOf(agent: Agent, state: SystemState, options?: Record<string, string>): Array<{ prob: number; output: AgentOutput }> {
  if (agent instanceof SimAgent) return agent.outcomes(state, options);
  // echo / terminator: deterministic
  const out = agent.act(state, { rng: dummyRng, episode: 0 });
  if (out instanceof Promise) throw new Error(`exact evaluation: agent ${agent.name} is asynchronous (not simulated)`);
  return [{ prob: 1, output: out }];
}

/** Exact expected return, success and cost of the policy `probs` on the simulated config `c`. */
export function exactEvaluate(c: Config, probs: PolicyProbs, maxNodes = 2_000_000): ExactResult {
  const pb = simProblem(c);
  const agents = pb.agents;
  const spec = buildEnvSpec(c);
  // joint actions of the factored action space (= the agents with one head; src/env/heads.ts)
  const heads = headsOf(c);
  const nAgents = agents.length;
  const multi = heads.length > 1;
  const k = multi ? heads.reduce((n, h) => n * h.choices.length, 1) : nAgents;
  // With the markov encoder view the policy's input is a function of the Markov state (tested in
  // test/sim.test.ts), so partial episodes in one Markov state have identical futures and are merged;
  // otherwise each history is its own branch.
  const markovInput = c.encoder.name === "features" && c.encoder.view === "markov";
  let frontier: Node[] = pb.types.map((t) => ({
    task: { id: t.name, prompt: simTaskPrompt(t.name), type: t.name },
    turns: [],
    prob: t.prob,
    wReturn: 0,
    wTaskReturn: 0,
    wCost: 0,
  }));
  let ret = 0;
  let taskRet = 0;
  let cost = 0;
  let success = 0;
  let nodes = 0;
  while (frontier.length > 0) {
    nodes += frontier.length;
    if (nodes > maxNodes)
      throw new Error(`exact evaluation: more than ${maxNodes} partial episodes; use the markov encoder view or a smaller maxSteps`);
    const eps = frontier.map((n) => replay(spec, agents, n));
    const states = eps.map((e) => e.state);
    const p = probs(states);
    const merged = new Map<string, Node>();
    frontier.forEach((node, j) => {
      const state = states[j]!;
      for (let a = 0; a < k; a++) {
        const pa = p[j * k + a]!;
        if (!(pa > 0)) continue;
        const ai = multi ? a % nAgents : a;
        for (const oc of outcomesOf(agents[ai]!, state, multi ? jointOptions(heads, a) : undefined)) {
          const w = node.prob * pa * oc.prob;
          if (!(w > 0)) continue;
          const ep = replay(spec, agents, node);
          const r = ep.apply(agents[ai]!, ai, oc.output);
          // the new branch's probability-weighted accumulations: scale the node's sums by pa·oc.prob
          const share = pa * oc.prob;
          const wReturn = node.wReturn * share + w * r.reward;
          const wTaskReturn = node.wTaskReturn * share + w * r.taskReward;
          const wCost = node.wCost * share + w * r.cost;
          if (r.done) {
            ret += wReturn;
            taskRet += wTaskReturn;
            cost += wCost;
            if (r.success) success += w;
            continue;
          }
          const child: Node = {
            task: node.task,
            turns: [...node.turns, { action: ai, output: oc.output }],
            prob: w,
            wReturn,
            wTaskReturn,
            wCost,
          };
          const helpers = ep.state.history.map((t) => t.agent).filter((name) => pb.helpers.includes(name));
          let key = markovKey(node.task.type ?? "", ep.state.step, helpers);
          if (!markovInput) key += "|" + child.turns.map((t) => `${t.action}:${t.output.content}:${t.output.cost}`).join(";");
          const prev = merged.get(key);
          if (prev) {
            prev.prob += w;
            prev.wReturn += wReturn;
            prev.wTaskReturn += wTaskReturn;
            prev.wCost += wCost;
          } else merged.set(key, child);
        }
      }
    });
    frontier = [...merged.values()];
  }
  const value = pb.mode === "constrained" ? taskRet : ret;
  return {
    mode: pb.mode,
    objective: objectiveText(c),
    value,
    return: ret,
    taskReturn: taskRet,
    success,
    cost,
    budget: c.env.budget ?? null,
    nodes,
  };
}

/** The action probabilities of a trained policy, through its encoder (one forward per frontier). */
export function policyProbs(encoder: StateEncoder, policy: ActionPolicy): PolicyProbs {
  return (states) => {
    const obs = new Float32Array(states.length * encoder.dim);
    encoder.encodeInto(states, obs);
    return policy.probs(obs, states.length);
  };
}

/** The LP optimum of the same objective next to a policy's exact value. */
export interface ExactOptimum {
  /** value* of the objective (the oracle's LP optimum; constrained problems: J_R* within the budget). */
  value: number;
  /** J_C* of the optimal policy. */
  cost: number;
  /** value / value* (null when value* ≤ 0, where a ratio would not say how close the policy is). */
  ratio: number | null;
  /** value* − value, in the objective's units. */
  gap: number;
}

/**
 * `maestro eval <runDir> --exact`: exact evaluation of the last checkpoint of a simulated run, next to the
 * optimum of the same objective (oracle.ts's LP).
 */
export async function exactEvaluateRun(
  runDir: string,
): Promise<ExactResult & { runDir: string; checkpointUpdate: number; backend: string; optimum: ExactOptimum }> {
  const { config, checkpointUpdate, backend, encoder, trainer } = await loadTrainedRun(runDir, {
    check: (c) => simProblem(c, `${runDir}/config.yaml`),
  });
  try {
    const x = exactEvaluate(config, policyProbs(encoder, trainer.policy));
    const { solveOracle } = await import("./oracle.js");
    const opt = await solveOracle(config, `${runDir}/config.yaml`);
    const optimum = { value: opt.value, cost: opt.cost, ratio: opt.value > 0 ? x.value / opt.value : null, gap: opt.value - x.value };
    return { runDir, checkpointUpdate, backend, ...x, optimum };
  } finally {
    trainer.dispose();
  }
}
