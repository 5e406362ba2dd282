import type { Agent } from "../agents/agent.js";
import type { Rng } from "../core/rng.js";
import type { AgentOutput, SystemState } from "../core/types.js";
import type { TaskSource } from "../tasks/source.js";
import { Episode, type EnvSpec } from "./env.js";
import { jointOptions, jointSize, type HeadSpec } from "./heads.js";

/** What the rollout needs from a policy: pick one action per row of a batch of encoded states. */
export interface ActionSelector {
  readonly numActions: number;
  act(obs: Float32Array, batch: number, rng: Rng, greedy: boolean, actions: Int32Array, logp: Float32Array, mask?: Uint8Array): unknown;
}

/** What the rollout needs from a state encoder. */
export interface Encoder {
  readonly dim: number;
  encodeInto(states: readonly SystemState[], out: Float32Array): void;
  /** Optional async fetch step awaited before `encodeInto` (e.g. embeddings); absent for sync encoders. */
  prepare?(states: readonly SystemState[]): Promise<void>;
}

/**
 * The cost knob of a budget-conditioned run: each episode's knob value (seen by the encoder)
 * and the cost penalty λ it implies for that episode's reward.
 */
export interface EpisodeKnob {
  /** Knob of episode `globalEpisode`; training draws it from `rng` (the task stream), evaluation fixes it. */
  draw(globalEpisode: number, rng: Rng): { value: number; penalty: number };
}

/** Per-episode summary of a rollout. */
export interface EpisodeRecord {
  /** Global episode index within the run. */
  index: number;
  taskId: string;
  /** Row indices of this episode's steps in the batch, in time order. */
  rows: number[];
  /** Agent chosen at each step. */
  agents: string[];
  /** Undiscounted return under the configured reward. */
  return: number;
  /** Undiscounted task reward only. */
  taskReturn: number;
  cost: number;
  length: number;
  success: boolean;
  /** Agents' outputs, kept only when the rollout is asked to record them. */
  outputs?: AgentOutput[];
  /** Multi-head runs: the other heads' choices at each step (e.g. {tier: "large"}). */
  options?: Array<Record<string, string>>;
  /** The episode's cost knob (budget-conditioned runs). */
  knob?: number;
}

/**
 * Transitions of a batch of episodes collected in lockstep. Rows are ordered step-major (all live
 * episodes' step 0, then step 1, ...); `episodes[i].rows` gives one trajectory in time order.
 */
export interface RolloutBatch {
  obsDim: number;
  numActions: number;
  rows: number;
  obs: Float32Array;
  actions: Int32Array;
  /** log π_old(a|s) at collection time. */
  logp: Float32Array;
  /** Configured reward r_t − costPenalty·c_t. */
  rewards: Float32Array;
  /** Task reward only (the CMDP reward signal). */
  taskRewards: Float32Array;
  costs: Float32Array;
  /** 1 on an episode's last step. */
  dones: Uint8Array;
  episodeOf: Int32Array;
  stepOf: Int32Array;
  /** Action masks (rows × numActions, 1 = allowed) when the run masks actions. */
  masks?: Uint8Array;
  episodes: EpisodeRecord[];
  envSteps: number;
}

export interface RolloutOptions {
  spec: EnvSpec;
  agents: readonly Agent[];
  encoder: Encoder;
  policy: ActionSelector;
  tasks: TaskSource;
  /** Number of episodes run in lockstep. */
  episodes: number;
  /** Global index of the first episode (task order and cache sample indices derive from it). */
  firstEpisode: number;
  /** Stream for action sampling. */
  policyRng: Rng;
  /** Stream for the agents (simulated outcomes). */
  envRng: Rng;
  /** Stream for task sampling. */
  taskRng: Rng;
  greedy?: boolean;
  /** Keep every agent output in the episode records (for traces and episodes.jsonl). */
  recordOutputs?: boolean;
  /** Optional action mask: write 1 for allowed actions of `state` into `out[offset..offset+K)`. */
  actionMask?: (state: SystemState, out: Uint8Array, offset: number) => void;
  /**
   * Factored action space: the policy picks joint actions (src/env/heads.ts), head 0 = the
   * agent, the other heads' choices reach the agent as `options`. Absent = one agent head.
   */
  heads?: readonly HeadSpec[];
  /** Budget-conditioned runs: the per-episode cost knob (drawn after the episode's task). */
  knob?: EpisodeKnob;
}

/**
 * Runs a batch of episodes in lockstep: every step encodes all live states into one matrix and takes
 * one policy forward pass. Agents answering with promises (LLM agents) run concurrently.
 */
export async function rollout(o: RolloutOptions): Promise<RolloutBatch> {
  const { spec, agents, encoder, policy, episodes: n } = o;
  const k = policy.numActions;
  const heads = o.heads && o.heads.length > 1 ? o.heads : undefined;
  const nAgents = agents.length;
  const expected = heads ? jointSize(heads) : nAgents;
  if (k !== expected) throw new Error(`rollout: policy has ${k} actions but the pool (× heads) has ${expected}`);
  if (heads && heads[0]!.choices.length !== nAgents)
    throw new Error(`rollout: the agent head has ${heads[0]!.choices.length} choices but the pool has ${nAgents} agents`);
  const dim = encoder.dim;
  const cap = n * spec.maxSteps;
  const obs = new Float32Array(cap * dim);
  const actions = new Int32Array(cap);
  const logp = new Float32Array(cap);
  const rewards = new Float32Array(cap);
  const taskRewards = new Float32Array(cap);
  const costs = new Float32Array(cap);
  const dones = new Uint8Array(cap);
  const episodeOf = new Int32Array(cap);
  const stepOf = new Int32Array(cap);
  const masks = o.actionMask ? new Uint8Array(cap * k) : undefined;

  const eps: Episode[] = [];
  const records: EpisodeRecord[] = [];
  for (let i = 0; i < n; i++) {
    const index = o.firstEpisode + i;
    const task = o.tasks.taskFor(index, o.taskRng);
    const ep = new Episode(spec, task, index);
    const knob = o.knob?.draw(index, o.taskRng);
    if (knob) ep.setKnob(knob.value, knob.penalty);
    eps.push(ep);
    records.push({
      index,
      taskId: task.id,
      rows: [],
      agents: [],
      return: 0,
      taskReturn: 0,
      cost: 0,
      length: 0,
      success: false,
      ...(o.recordOutputs ? { outputs: [] } : {}),
      ...(heads ? { options: [] } : {}),
      ...(knob ? { knob: knob.value } : {}),
    });
  }

  let live = eps.map((_, i) => i);
  let rows = 0;
  const stepActions = new Int32Array(n);
  const stepLogp = new Float32Array(n);
  const states: SystemState[] = [];
  const pending: Array<AgentOutput | Promise<AgentOutput>> = new Array(n);
  const stepOptions: Array<Record<string, string>> = new Array(n);
  const verdicts: Array<boolean | Promise<boolean> | undefined> = new Array(n);
  while (live.length > 0) {
    const b = live.length;
    states.length = b;
    for (let j = 0; j < b; j++) states[j] = eps[live[j]!]!.state;
    const stepObs = obs.subarray(rows * dim, (rows + b) * dim);
    if (encoder.prepare) await encoder.prepare(states);
    encoder.encodeInto(states, stepObs);
    let stepMask: Uint8Array | undefined;
    if (masks) {
      stepMask = masks.subarray(rows * k, (rows + b) * k);
      for (let j = 0; j < b; j++) o.actionMask!(states[j]!, stepMask, j * k);
    }
    policy.act(stepObs, b, o.policyRng, o.greedy ?? false, stepActions, stepLogp, stepMask);

    let anyAsync = false;
    for (let j = 0; j < b; j++) {
      const ep = eps[live[j]!]!;
      let out: AgentOutput | Promise<AgentOutput>;
      if (heads) {
        // joint action: head 0 (least significant) is the agent, the rest reach it as options
        const a = stepActions[j]!;
        stepOptions[j] = jointOptions(heads, a);
        out = agents[a % nAgents]!.act(ep.state, { rng: o.envRng, episode: ep.index, options: stepOptions[j] });
      } else {
        const agent = agents[stepActions[j]!]!;
        out = agent.act(ep.state, { rng: o.envRng, episode: ep.index });
      }
      if (out instanceof Promise) anyAsync = true;
      pending[j] = out;
    }
    if (anyAsync) {
      const settled = await Promise.all(pending.slice(0, b));
      for (let j = 0; j < b; j++) pending[j] = settled[j]!;
    }

    // terminal outputs are judged first, so async (module) evaluators of a step are awaited together
    let anyAsyncVerdict = false;
    for (let j = 0; j < b; j++) {
      const output = pending[j] as AgentOutput;
      if (!output.terminal) {
        verdicts[j] = undefined;
        continue;
      }
      const a = stepActions[j]!;
      const ai = heads ? a % nAgents : a;
      const v = eps[live[j]!]!.judge(agents[ai]!, ai, output);
      if (v instanceof Promise) anyAsyncVerdict = true;
      verdicts[j] = v;
    }
    if (anyAsyncVerdict) {
      const settled = await Promise.all(verdicts.slice(0, b));
      for (let j = 0; j < b; j++) verdicts[j] = settled[j];
    }

    const next: number[] = [];
    for (let j = 0; j < b; j++) {
      const e = live[j]!;
      const ep = eps[e]!;
      const a = stepActions[j]!;
      const ai = heads ? a % nAgents : a;
      const output = pending[j] as AgentOutput;
      const r = ep.apply(agents[ai]!, ai, output, verdicts[j] as boolean | undefined);
      const row = rows + j;
      actions[row] = a;
      logp[row] = stepLogp[j]!;
      rewards[row] = r.reward;
      taskRewards[row] = r.taskReward;
      costs[row] = r.cost;
      dones[row] = r.done ? 1 : 0;
      episodeOf[row] = e;
      stepOf[row] = ep.state.step - 1;
      const rec = records[e]!;
      rec.rows.push(row);
      rec.agents.push(agents[ai]!.name);
      rec.outputs?.push(output);
      rec.options?.push(stepOptions[j]!);
      if (r.done) {
        rec.return = ep.return;
        rec.taskReturn = ep.taskReturn;
        rec.cost = ep.state.costSpent;
        rec.length = ep.state.step;
        rec.success = ep.success;
      } else {
        next.push(e);
      }
    }
    rows += b;
    live = next;
  }

  return {
    obsDim: dim,
    numActions: k,
    rows,
    obs: obs.subarray(0, rows * dim),
    actions: actions.subarray(0, rows),
    logp: logp.subarray(0, rows),
    rewards: rewards.subarray(0, rows),
    taskRewards: taskRewards.subarray(0, rows),
    costs: costs.subarray(0, rows),
    dones: dones.subarray(0, rows),
    episodeOf: episodeOf.subarray(0, rows),
    stepOf: stepOf.subarray(0, rows),
    ...(masks ? { masks: masks.subarray(0, rows * k) } : {}),
    episodes: records,
    envSteps: rows,
  };
}
