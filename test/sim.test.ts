import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadAgentFile } from "../src/agents/loader.js";
import { SimAgent } from "../src/agents/sim.js";
import { InputError } from "../src/core/errors.js";
import { Rng } from "../src/core/rng.js";
import type { AgentOutput, SystemState } from "../src/core/types.js";
import { Episode } from "../src/env/env.js";
import { buildAgents, buildEncoder, buildEnvSpec, buildTaskSource } from "../src/run/build.js";
import { loadConfig } from "../src/config/load.js";
import { simTaskPrompt } from "../src/tasks/sim.js";

const root = path.resolve(import.meta.dirname, "..");
const budgetCfg = () => loadConfig(path.join(root, "configs/sim-budget.yaml"));

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "maestro-sim-"));
}

/** A state of sim-budget.yaml after the given calls (failed solver calls, helper calls). */
function stateAfter(type: string, calls: string[]): SystemState {
  const c = budgetCfg();
  const agents = buildAgents(c);
  const ep = new Episode(buildEnvSpec(c), { id: "x", prompt: simTaskPrompt(type), type }, 0);
  for (const name of calls) {
    const a = agents.findIndex((g) => g.name === name);
    const agent = agents[a]!;
    const out: AgentOutput =
      agent instanceof SimAgent && agent.isSolver
        ? { content: `${name}: failed`, cost: agent.cost, solved: false }
        : { content: `${name}: done`, cost: (agent as SimAgent).cost };
    ep.apply(agent, a, out);
  }
  return ep.state;
}

describe("simulated agents: Markov semantics", () => {
  it("success probability = clamp(solve[type] + boosts of helpers already called, 0, 1)", () => {
    const agents = buildAgents(budgetCfg());
    const cheap = agents.find((a) => a.name === "cheap") as SimAgent;
    const strong = agents.find((a) => a.name === "strong") as SimAgent;
    expect(cheap.successProb("easy", [])).toBeCloseTo(0.6, 12);
    expect(cheap.successProb("hard", ["planner"])).toBeCloseTo(0.5, 12);
    // a helper counts once, however often it was called; calls of other agents do not boost
    expect(cheap.successProb("easy", ["planner", "planner", "strong"])).toBeCloseTo(0.9, 12);
    expect(strong.successProb("easy", ["planner"])).toBe(1); // 0.9 + 0.2 clamped
  });

  it("success ends the episode with successBonus; failure goes on; Terminator gives up; maxSteps fails", () => {
    const c = budgetCfg();
    const agents = buildAgents(c);
    const spec = buildEnvSpec(c);
    const strong = agents.findIndex((a) => a.name === "strong");
    const term = agents.findIndex((a) => a.kind === "terminator");
    const task = { id: "t", prompt: simTaskPrompt("easy"), type: "easy" };
    // empirical success rate of one strong call on easy ≈ 0.9 (seeded)
    const rng = new Rng("sim-test");
    let wins = 0;
    for (let i = 0; i < 4000; i++) {
      const ep = new Episode(spec, task, i);
      const r = ep.apply(agents[strong]!, strong, agents[strong]!.act(ep.state, { rng, episode: i }) as AgentOutput);
      if (r.done) {
        expect(r.success).toBe(true);
        expect(r.taskReward).toBe(1);
        wins++;
      } else expect(r.taskReward).toBe(0);
      expect(r.cost).toBe(3);
    }
    expect(wins / 4000).toBeGreaterThan(0.88);
    expect(wins / 4000).toBeLessThan(0.92);
    const ep = new Episode(spec, task, 0);
    const r = ep.apply(agents[term]!, term, agents[term]!.act(ep.state, { rng, episode: 0 }) as AgentOutput);
    expect(r).toMatchObject({ done: true, success: false, taskReward: 0, cost: 0 });
    const s = stateAfter("hard", ["planner", "planner"]);
    expect(s.step).toBe(2);
    const ep3 = new Episode(spec, task, 0);
    ep3.apply(agents[0]!, 0, { content: "cheap: failed", cost: 1, solved: false });
    ep3.apply(agents[0]!, 0, { content: "cheap: failed", cost: 1, solved: false });
    const last = ep3.apply(agents[0]!, 0, { content: "cheap: failed", cost: 1, solved: false });
    expect(last).toMatchObject({ done: true, success: false, taskReward: 0 });
  });

  it("the sim task source draws types by weight and the task text names the type", () => {
    const src = buildTaskSource(loadConfig(path.join(root, "configs/sim-budget.yaml"), { sets: ["tasks.types={easy: 3, hard: 1}"] }));
    const rng = new Rng("tasks");
    let easy = 0;
    for (let i = 0; i < 4000; i++) {
      const t = src.taskFor(i, rng);
      expect(t.prompt).toBe(simTaskPrompt(t.type!));
      expect(t.prompt).toContain(t.type!);
      if (t.type === "easy") easy++;
    }
    expect(easy / 4000).toBeGreaterThan(0.72);
    expect(easy / 4000).toBeLessThan(0.78);
  });
});

describe("features encoder, markov view: sees exactly (task type, step, helpers called)", () => {
  const enc = buildEncoder(budgetCfg());
  const code = (s: SystemState) => Array.from(enc.encode([s]).dataSync());

  it("states differing in type, step or helper set encode differently", () => {
    const base = code(stateAfter("easy", ["planner"]));
    expect(code(stateAfter("hard", ["planner"]))).not.toEqual(base); // type
    expect(code(stateAfter("easy", ["planner", "cheap"]))).not.toEqual(base); // step
    expect(code(stateAfter("easy", ["cheap"]))).not.toEqual(base); // helper set (same step)
    expect(code(stateAfter("easy", []))).not.toEqual(code(stateAfter("hard", [])));
  });

  it("states equal in (type, step, helpers) encode identically, whatever else the history holds", () => {
    // same Markov state (easy, step 2, {planner}) reached by different histories and costs
    const a = stateAfter("easy", ["planner", "cheap"]);
    const b = stateAfter("easy", ["strong", "planner"]);
    const c = stateAfter("easy", ["planner", "planner"]);
    expect(a.costSpent).not.toBe(b.costSpent);
    expect(code(a)).toEqual(code(b));
    expect(code(a)).toEqual(code(c));
    // (hard, step 2, {}) via different failed solvers
    expect(code(stateAfter("hard", ["cheap", "strong"]))).toEqual(code(stateAfter("hard", ["strong", "cheap"])));
    expect(code(stateAfter("hard", ["cheap", "cheap"]))).toEqual(code(stateAfter("hard", ["strong", "strong"])));
  });

  it("the full view sees more of the history (which is why sim configs use markov)", () => {
    const full = buildEncoder(loadConfig(path.join(root, "configs/sim-budget.yaml"), { sets: ["encoder.view=full"] }));
    const f = (s: SystemState) => Array.from(full.encode([s]).dataSync());
    expect(f(stateAfter("hard", ["cheap", "strong"]))).not.toEqual(f(stateAfter("hard", ["strong", "cheap"])));
  });
});

describe("bad input", () => {
  it("a malformed sim agent file names the file and the field", () => {
    const dir = tmpDir();
    const file = path.join(dir, "bad.yaml");
    fs.writeFileSync(file, "name: bad\nkind: sim\ncost: 1\nsolve: {easy: 1.5}\n");
    expect(() => loadAgentFile(file)).toThrowError(InputError);
    expect(() => loadAgentFile(file)).toThrowError(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: solve\\.easy: .*1`));
    fs.writeFileSync(file, "name: bad\nkind: sim\ncost: 1\n");
    expect(() => loadAgentFile(file)).toThrowError(/bad\.yaml: solve: a sim agent needs `solve`/);
    fs.writeFileSync(file, "name: bad\nkind: sim\ncost: -1\nboost: {x: 0.1}\n");
    expect(() => loadAgentFile(file)).toThrowError(/bad\.yaml: cost: /);
  });

  it("a malformed sim task config names the file and the field, and nothing is written", () => {
    const dir = tmpDir();
    const cfgText = fs
      .readFileSync(path.join(root, "configs/sim-budget.yaml"), "utf8")
      .replace(
        /agents:\n( {2}- .*\n)+/,
        "agents: [" +
          ["cheap", "strong", "planner"]
            .map((n) => path.join(root, `agents/sim-${n === "planner" ? "planner" : n + "-solver"}.yaml`))
            .join(", ") +
          ", terminator]\n",
      );
    const bad1 = path.join(dir, "bad1.yaml");
    fs.writeFileSync(bad1, cfgText.replace("types: {easy: 0.5, hard: 0.5}", "types: {easy: 0.5, hard: -1}"));
    expect(() => loadConfig(bad1)).toThrowError(/bad1\.yaml: tasks\.types\.hard: /);
    const bad2 = path.join(dir, "bad2.yaml");
    fs.writeFileSync(bad2, cfgText.replace("types: {easy: 0.5, hard: 0.5}", "types: {easy: 0.5, medium: 0.5}"));
    expect(() => loadConfig(bad2)).toThrowError(/bad2\.yaml: agents\[0\] \(cheap\)\.solve: no success probability for task type "medium"/);
    const bad3 = path.join(dir, "bad3.yaml");
    fs.writeFileSync(bad3, cfgText.replace("  budget: 2.5\n", ""));
    expect(() => loadConfig(bad3)).toThrowError(/bad3\.yaml: env\.budget: .*ppo-lagrangian.*budget/);
    // the CLI refuses too, and writes no run folder
    const runDir = path.join(dir, "run");
    const res = spawnSync(process.execPath, [path.join(root, "dist/cli.js"), "train", bad1, "--run-dir", runDir], { encoding: "utf8" });
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/bad1\.yaml: tasks\.types\.hard/);
    expect(fs.existsSync(runDir)).toBe(false);
  });
});
