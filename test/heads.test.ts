import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { describe, expect, it } from "vitest";
import { expectInputError } from "./helpers.js";
import { Rng } from "../src/core/rng.js";
import { decodeJoint, encodeJoint, jointLabel, jointOptions, jointSize } from "../src/env/heads.js";
import { rollout } from "../src/env/rollout.js";
import { buildAgents, buildEncoder, buildEnvSpec, buildTaskSource, buildTrainer } from "../src/run/build.js";
import { loadConfig, validateConfig, type Config } from "../src/config/index.js";
import { exactEvaluate, policyProbs } from "../src/analysis/exact.js";
import { headsOf } from "../src/config/heads.js";
import { solveOracle } from "../src/analysis/oracle.js";
import { train } from "../src/run/train.js";
import { selectBackend } from "../src/policy/backend.js";
import { FactoredPolicy } from "../src/policy/factored.js";

const root = path.resolve(import.meta.dirname, "..");
await selectBackend("cpu");

/** A tiered bandit: maxSteps 1, a solver (p 0.5, cost 1; large tier ×3, +0.4) and the Terminator. */
function tieredBandit(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "tiered",
    agents: [
      { name: "solver", kind: "sim", cost: 1, solve: { any: 0.5 }, tiers: { large: { costMultiplier: 3, successDelta: 0.4 } } },
      { name: "stop", kind: "terminator" },
    ],
    policy: { hidden: [8], heads: [{ name: "agent" }, { name: "tier", choices: ["small", "large"] }] },
    tasks: { source: "sim", types: { any: 1 } },
    env: { maxSteps: 1, budget: 2 },
    reward: { successBonus: 1, failurePenalty: 0, gamma: 1 },
    encoder: { name: "features", view: "markov" },
    algo: { name: "macpo" },
    train: { updates: 1, episodesPerUpdate: 4 },
    ...over,
  };
}

function validate(raw: Record<string, unknown>): Config {
  return validateConfig(raw, "bad.yaml", root);
}

describe("joint actions", () => {
  it("mixed radix with head 0 least significant; one head = the agent index", () => {
    const sizes = [3, 2, 4];
    for (let a = 0; a < 24; a++) {
      const idx = decodeJoint(a, sizes);
      expect(encodeJoint(idx, sizes)).toBe(a);
      expect(idx[0]).toBe(a % 3);
    }
    expect(decodeJoint(2, [5])).toEqual([2]);
    const heads = [
      { name: "agent", choices: ["a", "b", "c"] },
      { name: "tier", choices: ["small", "large"] },
    ];
    expect(jointSize(heads)).toBe(6);
    expect(jointOptions(heads, 4)).toEqual({ tier: "large" });
    expect(jointLabel(heads, 4)).toBe("b/large");
    expect(jointLabel([heads[0]!], 2)).toBe("c");
  });
});

describe("policy.heads config errors name the file and the field", () => {
  it("unknown head name", () => {
    expectInputError(
      () => validate(tieredBandit({ policy: { heads: [{ name: "agent" }, { name: "temperature", choices: ["lo", "hi"] }] } })),
      "bad.yaml",
      "policy.heads[1].name",
      "unknown head",
      "temperature",
    );
  });
  it("choices missing on a non-agent head", () => {
    expectInputError(
      () => validate(tieredBandit({ policy: { heads: [{ name: "agent" }, { name: "tier" }] } })),
      "bad.yaml",
      "policy.heads[1].choices",
      "needs its list of choices",
    );
  });
  it("the agent head must come first and has no choices", () => {
    expectInputError(
      () => validate(tieredBandit({ policy: { heads: [{ name: "tier", choices: ["small", "large"] }, { name: "agent" }] } })),
      "bad.yaml",
      "policy.heads[0].name",
      "first head",
    );
    expectInputError(
      () =>
        validate(
          tieredBandit({
            policy: {
              heads: [
                { name: "agent", choices: ["x", "y"] },
                { name: "tier", choices: ["small", "large"] },
              ],
            },
          }),
        ),
      "policy.heads[0].choices",
    );
  });
  it("a single choice, duplicate heads and duplicate choices", () => {
    expectInputError(
      () => validate(tieredBandit({ policy: { heads: [{ name: "agent" }, { name: "tier", choices: ["small"] }] } })),
      "bad.yaml",
      "policy.heads[1].choices",
    );
    expectInputError(
      () => validate(tieredBandit({ policy: { heads: [{ name: "agent" }, { name: "agent" }] } })),
      "policy.heads[1].name",
      "duplicate head",
    );
    expectInputError(
      () => validate(tieredBandit({ policy: { heads: [{ name: "agent" }, { name: "tier", choices: ["small", "small"] }] } })),
      "policy.heads[1].choices",
      "duplicate choice",
    );
  });
  it("tiers declared on a solver but no tier head; a tier that is not a choice", () => {
    expectInputError(() => validate(tieredBandit({ policy: { hidden: [8] } })), "bad.yaml", "agents[0] (solver).tiers", 'no "tier" head');
    const raw = tieredBandit();
    (raw.agents as Array<Record<string, unknown>>)[0]!.tiers = { huge: { costMultiplier: 9 } };
    expectInputError(() => validate(raw), "bad.yaml", "agents[0] (solver).tiers.huge", "not a choice of the tier head");
  });
  it("through the CLI: exit code 1, the message names file and field, nothing is written", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-heads-"));
    const file = path.join(dir, "bad.yaml");
    fs.writeFileSync(file, YAML.stringify(tieredBandit({ policy: { heads: [{ name: "agent" }, { name: "tier" }] } })));
    const runDir = path.join(dir, "run");
    const r = spawnSync(process.execPath, [path.join(root, "dist/cli.js"), "train", file, "--run-dir", runDir, "--quiet"], {
      cwd: root,
      encoding: "utf8",
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`${file}: policy.heads[1].choices`);
    expect(fs.existsSync(runDir)).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("the tiered bandit: oracle over joint actions and exact evaluation", () => {
  // max 0.5·x_small + 0.9·x_large s.t. x_small + 3·x_large ≤ 2 (terminator: 0 reward, 0 cost)
  // ⇒ x_small = x_large = 0.5, J_R* = 0.7, λ* = (0.9 − 0.5)/(3 − 1) = 0.2
  it("J_R* = 0.7, λ* = 0.2, optimal joint policy solver/small 0.5 + solver/large 0.5", async () => {
    const c = validate(tieredBandit());
    const r = await solveOracle(c);
    expect(r.lpColumns).toBe(4);
    expect(r.value).toBeCloseTo(0.7, 9);
    expect(r.cost).toBeCloseTo(2, 9);
    expect(r.lambda).toBeCloseTo(0.2, 9);
    expect(r.policy[0]!.policy["solver/small"]).toBeCloseTo(0.5, 9);
    expect(r.policy[0]!.policy["solver/large"]).toBeCloseTo(0.5, 9);
  });

  it("exact evaluation of the uniform joint policy: J_R = 0.35, J_C = 1", () => {
    const c = validate(tieredBandit());
    const x = exactEvaluate(c, (states) => new Float64Array(states.length * 4).fill(0.25));
    expect(x.taskReturn).toBeCloseTo(0.25 * 0.5 + 0.25 * 0.9, 12);
    expect(x.cost).toBeCloseTo(0.25 * 1 + 0.25 * 3, 12);
  });
});

describe("rollout with two heads", () => {
  it("the tier reaches the agent (cost and success follow it), episodes record the options, logp = Σ head log-probs", async () => {
    const c = loadConfig(path.join(root, "configs/sim-tiers.yaml"));
    const agents = buildAgents(c);
    const encoder = buildEncoder(c);
    const heads = headsOf(c);
    const policy = new FactoredPolicy(
      encoder.dim,
      ["agent", "tier"],
      [3, 2],
      { hidden: [16], activation: "tanh", init: "orthogonal", outputGain: 0.01 },
      new Rng("p"),
    );
    expect(policy.numActions).toBe(6);
    const batch = await rollout({
      spec: buildEnvSpec(c),
      agents,
      encoder,
      policy,
      heads,
      tasks: buildTaskSource(c),
      episodes: 64,
      firstEpisode: 0,
      policyRng: new Rng("a"),
      envRng: new Rng("b"),
      taskRng: new Rng("c"),
    });
    const seen = new Set<string>();
    for (const e of batch.episodes) {
      expect(e.options).toHaveLength(e.length);
      e.rows.forEach((row, t) => {
        const a = batch.actions[row]!;
        const agent = e.agents[t]!;
        const tier = e.options![t]!.tier!;
        expect(agent).toBe(c.agents[a % 3]!.name);
        expect(tier).toBe(["small", "large"][Math.floor(a / 3)]);
        const expected = agent === "solver" ? (tier === "large" ? 4 : 1) : agent === "planner" ? 0.5 : 0; // the planner declares no tiers: ×1 on both
        expect(batch.costs[row]).toBe(expected);
        seen.add(`${agent}/${tier}`);
      });
    }
    expect(seen.size).toBeGreaterThanOrEqual(5);
    // joint log-prob = Σ_h log π^h(a_h|s), joint probs sum to 1
    const probs = policy.probs(batch.obs.subarray(0, 4 * encoder.dim), 4);
    for (let b = 0; b < 4; b++) {
      const row = Array.from(probs.subarray(b * 6, b * 6 + 6));
      expect(row.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 5);
      expect(Math.log(row[batch.actions[b]!]!)).toBeCloseTo(batch.logp[b]!, 4);
    }
    policy.dispose();
  });

  it("exact evaluation of a trained-from-scratch factored policy equals the product of its heads", async () => {
    const c = loadConfig(path.join(root, "configs/sim-tiers.yaml"));
    const encoder = buildEncoder(c);
    const trainer = buildTrainer(c, encoder);
    const x = exactEvaluate(c, policyProbs(encoder, trainer.policy));
    // untrained heads are near-uniform: 1/3 per agent, 1/2 per tier, so the success and cost are
    // those of the near-uniform joint policy (a sanity bound, not a closed form)
    expect(x.cost).toBeGreaterThan(0.5);
    expect(x.success).toBeGreaterThan(0.1);
    expect(x.success).toBeLessThan(0.9);
    trainer.dispose();
  });
});

describe("single-head trainers on a two-head config: one categorical over the joint actions", () => {
  it.each(["reinforce", "ppo-lagrangian", "p3o", "cpo"])("%s trains on configs/sim-tiers.yaml", async (algo) => {
    const c = loadConfig(path.join(root, "configs/sim-tiers.yaml"), {
      sets: [`algo.name=${algo}`, "train.updates=2", "train.episodesPerUpdate=8"],
    });
    const encoder = buildEncoder(c);
    const trainer = buildTrainer(c, encoder);
    expect(trainer.policy.numActions).toBe(6);
    trainer.dispose();
    const runDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "maestro-joint-")), "run");
    const s = await train({ config: c, runDir });
    expect(s.status).toBe("completed");
    expect(s.updates).toBe(2);
    const ep = JSON.parse(fs.readFileSync(path.join(runDir, "episodes.jsonl"), "utf8").split("\n")[0]!) as {
      options: Array<{ tier: string }>;
    };
    expect(["small", "large"]).toContain(ep.options[0]!.tier);
    fs.rmSync(path.dirname(runDir), { recursive: true, force: true });
  });
});
