import { beforeAll, describe, expect, it } from "vitest";
import { clipByGlobalNorm } from "../src/algos/adam.js";
import { ReinforceTrainer, type ReinforceOptions } from "../src/algos/reinforce.js";
import { Rng } from "../src/core/rng.js";
import type { RolloutBatch } from "../src/env/rollout.js";
import { rollout } from "../src/env/rollout.js";
import { EchoAgent } from "../src/agents/echo.js";
import { TerminatorAgent } from "../src/agents/terminator.js";
import { selectBackend, tf } from "../src/policy/backend.js";
import { DoaMd5Encoder } from "../src/policy/encoders.js";
import { CategoricalPolicy } from "../src/policy/policy.js";
import { terminated } from "../src/tasks/evaluators.js";
import { inlineTasks, ListTaskSource } from "../src/tasks/source.js";

beforeAll(async () => {
  await selectBackend("auto");
});

const net = { hidden: [16], activation: "relu" as const, init: "torch-default" as const };
const base: ReinforceOptions = {
  gamma: 0.9,
  lr: 1e-3,
  baseline: "none",
  normalizeReturns: false,
  entropyCoef: 0,
  entropyCoefFinal: null,
  totalUpdates: 1,
  averageFraction: 0,
  maxGradNorm: null,
  valueLr: 1e-3,
  valueNet: net,
  adamEps: 1e-8,
};

/** Two hand-made trajectories over 2-d observations: (a0, r=−0.1) (a1, r=1) and (a1, r=1). */
function handBatch(): RolloutBatch {
  return {
    obsDim: 2,
    numActions: 2,
    rows: 3,
    obs: Float32Array.from([1, 0, 0, 1, 0.5, 0.5]),
    actions: Int32Array.from([0, 1, 1]),
    logp: new Float32Array(3),
    rewards: Float32Array.from([-0.1, 1, 1]),
    taskRewards: Float32Array.from([0, 1, 1]),
    costs: Float32Array.from([1, 0, 0]),
    dones: Uint8Array.from([0, 1, 1]),
    episodeOf: Int32Array.from([0, 0, 1]),
    stepOf: Int32Array.from([0, 1, 0]),
    episodes: [
      {
        index: 0,
        taskId: "0",
        rows: [0, 1],
        agents: ["echo", "terminator"],
        return: 0.9,
        taskReturn: 1,
        cost: 1,
        length: 2,
        success: true,
      },
      { index: 1, taskId: "1", rows: [2], agents: ["terminator"], return: 1, taskReturn: 1, cost: 0, length: 1, success: true },
    ],
    envSteps: 3,
  };
}

describe("REINFORCE", () => {
  it("computes γ-discounted returns-to-go per trajectory", () => {
    const policy = new CategoricalPolicy(2, 2, net, new Rng(0));
    const tr = new ReinforceTrainer(policy, base, new Rng(1));
    const g = tr.returns(handBatch());
    expect(g[0]).toBeCloseTo(-0.1 + 0.9 * 1, 6);
    expect(g[1]).toBeCloseTo(1, 6);
    expect(g[2]).toBeCloseTo(1, 6);
    tr.dispose();
    policy.dispose();
  });

  it("reports loss = −(1/N) Σ log π(a|s)·G_t, evaluated before the step", async () => {
    const policy = new CategoricalPolicy(2, 2, net, new Rng(0));
    const tr = new ReinforceTrainer(policy, base, new Rng(1));
    const b = handBatch();
    const p = policy.probs(b.obs, 3);
    const lp = [Math.log(p[0]!), Math.log(p[3]!), Math.log(p[5]!)];
    const G = [0.8, 1, 1];
    const expected = -(lp[0]! * G[0]! + lp[1]! * G[1]! + lp[2]! * G[2]!) / 2;
    const m = await tr.update(b);
    expect(m.loss).toBeCloseTo(expected, 5);
    // entropy = mean over the rows of −Σ p log p
    const rowH = [0, 2, 4].map((o) => -[0, 1].reduce((acc, i) => acc + p[o + i]! * Math.log(p[o + i]!), 0));
    expect(m.entropy).toBeCloseTo((rowH[0]! + rowH[1]! + rowH[2]!) / 3, 5);
    // the step moved probability towards the rewarded actions
    const p2 = policy.probs(b.obs, 3);
    expect(p2[3]! + p2[5]!).toBeGreaterThan(p[3]! + p[5]!);
    tr.dispose();
    policy.dispose();
  });

  it("adds the entropy bonus summed over each trajectory's steps, like the return: −(1/N) Σ_i Σ_t β·H(π(·|s_t))", async () => {
    const beta = 0.3;
    const policy = new CategoricalPolicy(2, 2, net, new Rng(0));
    const tr = new ReinforceTrainer(policy, { ...base, entropyCoef: beta }, new Rng(1));
    const b = handBatch();
    const p = policy.probs(b.obs, 3);
    const lp = [Math.log(p[0]!), Math.log(p[3]!), Math.log(p[5]!)];
    const G = [0.8, 1, 1];
    const rowH = [0, 2, 4].map((o) => -[0, 1].reduce((acc, i) => acc + p[o + i]! * Math.log(p[o + i]!), 0));
    // N = 2 trajectories of 2 and 1 steps: the bonus is (H_0 + H_1 + H_2)/2, not the per-step mean (…)/3
    const expected = -(lp[0]! * G[0]! + lp[1]! * G[1]! + lp[2]! * G[2]!) / 2 - (beta * (rowH[0]! + rowH[1]! + rowH[2]!)) / 2;
    const m = await tr.update(b);
    expect(m.loss).toBeCloseTo(expected, 5);
    expect(m.entropy).toBeCloseTo((rowH[0]! + rowH[1]! + rowH[2]!) / 3, 5);
    tr.dispose();
    policy.dispose();
  });

  it("clips gradients by global norm as torch's clip_grad_norm_ does", () => {
    const g = [tf.tensor1d([3]), tf.tensor1d([4])];
    const clipped = clipByGlobalNorm(g, 1);
    expect(clipped.norm.dataSync()[0]).toBeCloseTo(5, 5);
    expect(clipped.grads[0]!.dataSync()[0]).toBeCloseTo(0.6, 5);
    expect(clipped.grads[1]!.dataSync()[0]).toBeCloseTo(0.8, 5);
    const loose = clipByGlobalNorm(g, 10);
    expect(loose.grads[1]!.dataSync()[0]).toBeCloseTo(4, 5);
    tf.dispose([...g, ...clipped.grads, clipped.norm, ...loose.grads, loose.norm]);
  });

  it("throws on a non-finite loss instead of applying it", async () => {
    const policy = new CategoricalPolicy(2, 2, net, new Rng(0));
    const tr = new ReinforceTrainer(policy, base, new Rng(1));
    const b = handBatch();
    b.rewards[1] = Infinity;
    const before = Array.from(policy.variables[0]!.dataSync());
    await expect(tr.update(b)).rejects.toThrow(/loss became/);
    expect(Array.from(policy.variables[0]!.dataSync())).toEqual(before);
    tr.dispose();
    policy.dispose();
  });

  it.each(["none", "mean", "value"] as const)("leaves no tensors alive across updates (baseline %s)", async (baseline) => {
    const enc = new DoaMd5Encoder();
    const policy = new CategoricalPolicy(enc.dim, 2, net, new Rng(0));
    const tr = new ReinforceTrainer(
      policy,
      { ...base, baseline, maxGradNorm: 1, entropyCoef: 0.01, normalizeReturns: baseline === "mean" },
      new Rng(1),
    );
    const tasks = new ListTaskSource(inlineTasks(["a", "b", "c"]));
    const spec = { maxSteps: 4, terminatorEndsEpisode: true, successBonus: 1, failurePenalty: -1, costPenalty: 0.1, evaluator: terminated };
    const rngs = [new Rng(1), new Rng(2), new Rng(3)] as const;
    const step = async (u: number) => {
      const batch = await rollout({
        spec,
        agents: [new EchoAgent(), new TerminatorAgent()],
        encoder: enc,
        policy,
        tasks,
        episodes: 8,
        firstEpisode: u * 8,
        policyRng: rngs[0],
        envRng: rngs[1],
        taskRng: rngs[2],
      });
      return tr.update(batch);
    };
    await step(0);
    const n0 = tf.memory().numTensors;
    for (let u = 1; u < 6; u++) await step(u);
    expect(tf.memory().numTensors).toBe(n0);
    tr.dispose();
    policy.dispose();
  });
});
