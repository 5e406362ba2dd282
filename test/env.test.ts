import { describe, expect, it } from "vitest";
import { EchoAgent } from "../src/agents/echo.js";
import { TerminatorAgent } from "../src/agents/terminator.js";
import { Rng } from "../src/core/rng.js";
import { Episode, type EnvSpec } from "../src/env/env.js";
import { rollout, type ActionSelector } from "../src/env/rollout.js";
import { DoaMd5Encoder } from "../src/policy/encoders.js";
import { terminated } from "../src/tasks/evaluators.js";
import { inlineTasks, ListTaskSource } from "../src/tasks/source.js";

const echo = new EchoAgent();
const term = new TerminatorAgent();
const agents = [echo, term];
const task = { id: "0", prompt: "Describe the water cycle" };

function spec(terminatorEndsEpisode: boolean): EnvSpec {
  return { maxSteps: 4, terminatorEndsEpisode, successBonus: 1, failurePenalty: -1, costPenalty: 0.1, evaluator: terminated };
}

/** Plays a fixed sequence of agent indices; returns per-step rewards and the episode. */
function play(s: EnvSpec, seq: number[]) {
  const ep = new Episode(s, task, 0);
  const rewards: number[] = [];
  const costs: number[] = [];
  for (const a of seq) {
    const agent = agents[a]!;
    const r = ep.apply(agent, a, agent.act(ep.state) as never);
    rewards.push(r.reward);
    costs.push(r.cost);
    if (r.done) break;
  }
  return { ep, rewards, costs };
}

describe("Episode, intended termination (terminatorEndsEpisode: true)", () => {
  it("Echo costs 1 and is penalised by λ; the Terminator ends the episode with the success bonus", () => {
    const { ep, rewards, costs } = play(spec(true), [0, 0, 1, 0]);
    expect(rewards.map((r) => +r.toFixed(6))).toEqual([-0.1, -0.1, 1]);
    expect(costs).toEqual([1, 1, 0]);
    expect(ep.done && ep.success).toBe(true);
    expect(ep.return).toBeCloseTo(0.8, 10);
    expect(ep.state.history.map((t) => t.output.content)).toEqual([
      "Echo: Describe the water cycle",
      "Echo: Describe the water cycle",
      "TERMINATE",
    ]);
  });

  it("a Terminator on the last step is still a success; four Echoes are a failure worth −1.4", () => {
    expect(play(spec(true), [0, 0, 0, 1]).ep.success).toBe(true);
    const { ep, rewards } = play(spec(true), [0, 0, 0, 0]);
    expect(ep.success).toBe(false);
    expect(rewards[3]).toBeCloseTo(-1.1, 10);
    expect(ep.return).toBeCloseTo(-1.4, 10);
  });

  it("keeps the task reward separate from the cost (the CMDP signals)", () => {
    const ep = new Episode(spec(true), task, 0);
    const r = ep.apply(echo, 0, echo.act(ep.state));
    expect(r).toMatchObject({ taskReward: 0, cost: 1, done: false });
    const r2 = ep.apply(term, 1, term.act());
    expect(r2).toMatchObject({ taskReward: 1, cost: 0, done: true, success: true });
    expect(ep.taskReturn).toBe(1);
  });
});

describe("Episode, published DOA semantics (terminatorEndsEpisode: false)", () => {
  it("always runs maxSteps; every Terminator step is worth +1; Echo on the last step is −1.1", () => {
    const { ep, rewards } = play(spec(false), [1, 0, 1, 0]);
    expect(rewards.map((r) => +r.toFixed(6))).toEqual([1, -0.1, 1, -1.1]);
    expect(ep.state.step).toBe(4);
    expect(ep.success).toBe(false);
  });

  it("succeeds when the last step is the Terminator; the optimum is 4.0", () => {
    const a = play(spec(false), [0, 0, 0, 1]);
    expect(a.ep.success).toBe(true);
    expect(a.ep.return).toBeCloseTo(0.7, 10);
    const best = play(spec(false), [1, 1, 1, 1]);
    expect(best.ep.return).toBe(4);
  });

  it("refuses a step after the episode is done", () => {
    const { ep } = play(spec(true), [1]);
    expect(() => ep.apply(echo, 0, echo.act(ep.state))).toThrow(/already done/);
  });
});

/** A scripted "policy" that records how many times it was called and with how many rows. */
class Scripted implements ActionSelector {
  readonly numActions = 2;
  calls: number[] = [];
  constructor(private readonly pick: (row: number, call: number) => number) {}
  act(_obs: Float32Array, batch: number, _rng: Rng, _g: boolean, actions: Int32Array, logp: Float32Array) {
    for (let b = 0; b < batch; b++) {
      actions[b] = this.pick(b, this.calls.length);
      logp[b] = Math.log(0.5);
    }
    this.calls.push(batch);
  }
}

describe("rollout", () => {
  const tasks = new ListTaskSource(inlineTasks(["a", "b", "c", "d", "e"]), "cycle");

  it("takes one policy call per step for the whole batch (lockstep) and drops finished episodes", async () => {
    // always Echo: every episode runs out of steps
    const policy = new Scripted(() => 0);
    const batch = await rollout({
      spec: spec(true),
      agents,
      encoder: new DoaMd5Encoder(),
      policy,
      tasks,
      episodes: 6,
      firstEpisode: 10,
      policyRng: new Rng(0),
      envRng: new Rng(1),
      taskRng: new Rng(2),
    });
    expect(policy.calls).toEqual([6, 6, 6, 6]);
    expect(batch.rows).toBe(24);
    expect(batch.episodes.map((e) => e.taskId)).toEqual(["0", "1", "2", "3", "4", "0"]);
    expect(batch.episodes.every((e) => !e.success && e.length === 4)).toBe(true);
  });

  it("shrinks the batch as episodes end", async () => {
    // live episode j (in the current live list) picks the Terminator when j is 0
    const policy = new Scripted((row) => (row === 0 ? 1 : 0));
    const batch = await rollout({
      spec: spec(true),
      agents,
      encoder: new DoaMd5Encoder(),
      policy,
      tasks,
      episodes: 3,
      firstEpisode: 0,
      policyRng: new Rng(0),
      envRng: new Rng(1),
      taskRng: new Rng(2),
    });
    expect(policy.calls).toEqual([3, 2, 1]);
    expect(batch.episodes.map((e) => e.length)).toEqual([1, 2, 3]);
    expect(batch.episodes.map((e) => e.success)).toEqual([true, true, true]);
    // rows of an episode are in time order and its last row is marked done
    for (const e of batch.episodes) {
      expect(e.rows.map((r) => batch.stepOf[r])).toEqual(e.rows.map((_, t) => t));
      expect(batch.dones[e.rows[e.rows.length - 1]!]).toBe(1);
    }
  });
});
