import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/load.js";
import { recordedAgents, recordedSplits } from "../src/config/recorded.js";
import type { AgentOutput, SystemState, Turn } from "../src/core/types.js";
import { buildActionMask, buildEncoder, buildTaskSplits, greedyStopAction } from "../src/run/build.js";
import { pickAction } from "../src/policy/policy.js";
import { Rng } from "../src/core/rng.js";
import { trainSubset } from "../src/tasks/recorded.js";
import { train } from "../src/run/train.js";
import { poolCurveRun } from "../src/analysis/pool-curve.js";
import { curveCommand } from "../src/plots/curve.js";
import { answerKey, finalAnswer, finalTurn, recordedEvaluator } from "../src/tasks/evaluators.js";
import { arithmeticChecks } from "../src/tasks/answer-features.js";
import { writeThreeModelFile } from "./recorded-helpers.js";
import { removeTmpDirs, tmpDir } from "./helpers.js";

afterAll(removeTmpDirs);

const turn = (agent: string, answer: string | undefined, o: Partial<AgentOutput> = {}): Turn => ({
  agent,
  agentIndex: 0,
  output: { content: answer ?? "", cost: 1, ...(answer !== undefined ? { answer } : {}), ...o },
});

describe("final answer rules over the answers so far", () => {
  it("answerKey: numbers agree whatever their form, text is normalised", () => {
    expect(answerKey("$1,000.00")).toBe(answerKey("1000"));
    expect(answerKey("1000 apples")).toBe(answerKey("1000"));
    expect(answerKey("Paris.")).toBe(answerKey(" paris"));
    expect(answerKey("12")).not.toBe(answerKey("13"));
  });

  const rank = (t: Turn) => ({ cheap: 1, mid: 2, dear: 3, top: 4 })[t.agent as "cheap"] ?? 0;
  const h = [turn("dear", "7"), turn("cheap", "5"), turn("mid", "5"), turn("top", "7")];

  it("last: the latest answer; failed calls and the terminator carry none", () => {
    expect(finalAnswer([...h, turn("x", "9", { meta: { error: "timeout" } }), turn("t", undefined, { terminal: true })], "last")).toBe("7");
  });

  it("majority: the largest group; a tie goes to the group answered last", () => {
    expect(finalAnswer([turn("a", "3"), turn("b", "4"), turn("c", "3")], "majority")).toBe("3");
    expect(finalAnswer(h, "majority", rank)).toBe("7");
    expect(finalAnswer(h.slice(0, 3), "majority", rank)).toBe("5");
  });

  it("consensus: the largest group; a tie goes to the group holding the most expensive model, and its answer", () => {
    // 5 (cheap, mid) against 7 (dear): the 5s are more
    expect(finalTurn(h.slice(0, 3), "consensus", rank)!.agent).toBe("mid");
    // a 2–2 tie: the group with the top model wins, whatever the order
    expect(finalTurn(h, "consensus", rank)!.agent).toBe("top");
    expect(finalTurn([h[3]!, h[1]!, h[2]!, h[0]!], "consensus", rank)!.agent).toBe("top");
    expect(finalTurn([turn("t", undefined, { terminal: true })], "consensus", rank)).toBeUndefined();
  });

  it("recorded evaluator: success is the chosen answer's recorded correctness", () => {
    const right = (a: string, ok: boolean, agent: string) => turn(agent, a, { meta: { correct: ok } });
    const hist = [right("5", false, "cheap"), right("7", true, "dear"), right("5", false, "mid"), turn("t", undefined, { terminal: true })];
    const task = { id: "1", prompt: "?" };
    expect(recordedEvaluator("last", rank)(task, hist, true)).toBe(false);
    expect(recordedEvaluator("consensus", rank)(task, hist, true)).toBe(false);
    const tie = [right("5", false, "cheap"), right("7", true, "dear"), turn("t", undefined, { terminal: true })];
    expect(recordedEvaluator("consensus", rank)(task, tie, true)).toBe(true);
    expect(recordedEvaluator("majority", rank)(task, tie, true)).toBe(true);
    expect(recordedEvaluator("consensus", rank)(task, tie, false)).toBe(false);
  });
});

it("arithmetic checks stay fast on a long chain of operations with no '=' (no exponential backtracking)", () => {
  const chain = Array.from({ length: 60 }, (_, i) => `${i + 10} ${i % 2 ? "+" : "-"}`).join(" ") + " 7";
  // before the fix this call did not return within the test timeout
  expect(arithmeticChecks(`x = ${chain}. So 2 + 3 = 5 and 4 * 2 = 9.`)).toEqual({ checked: 2, wrong: 1 });
});

describe("free orchestration over a recorded pool", () => {
  const dir = tmpDir("pool");
  const data = writeThreeModelFile(path.join(dir, "three.jsonl"), 160, 4);
  const yaml = (extra: string[] = [], tasksExtra = "") => {
    const f = path.join(dir, `pool-${extra.length}${tasksExtra ? "-t" : ""}.yaml`);
    fs.writeFileSync(
      f,
      [
        "name: pool",
        "agents:",
        "  - {kind: recorded, model: '*', extract: {mode: regex, pattern: '####\\s*(\\d+)'}}",
        "  - terminator",
        `tasks: {source: recorded, file: ${path.basename(data)}, split: {train: 0.5, val: 0.2, test: 0.3}, finalAnswer: consensus${tasksExtra}}`,
        "env: {maxSteps: 4, shape: free}",
        "encoder: {name: answers}",
        "knob: {name: lambda, min: 0.05, max: 5}",
        "policy: {hidden: [32, 32]}",
        "algo: {name: ppo, lr: 0.001, entropyCoef: 0.05, entropyCoefFinal: null, averagePolicy: 0, epochs: 4, minibatches: 2}",
        "train: {updates: 12, episodesPerUpdate: 64, checkpointEvery: 6}",
        "log: {plot: false, episodeSample: 0, tensorboard: false}",
        ...extra,
      ].join("\n"),
    );
    return f;
  };

  it("the mask: each model at most once, the stop only after a call, only the stop at the last step", () => {
    const c = loadConfig(yaml());
    const mask = buildActionMask(c)!;
    expect(mask).toBeDefined();
    const names = c.agents.map((a) => a.name);
    const out = new Uint8Array(names.length);
    const state = (history: Turn[], step = history.length): SystemState => ({
      task: { id: "g0", prompt: "?" },
      history,
      step,
      maxSteps: 4,
      costSpent: 0,
    });
    mask(state([]), out, 0);
    expect([...out]).toEqual(names.map((n) => (n === "terminator" ? 0 : 1)));
    const first = { ...turn(names[1]!, "5"), agentIndex: 1 };
    mask(state([first]), out, 0);
    expect([...out]).toEqual(names.map((_, i) => (i === 1 ? 0 : 1)));
    mask(state([first], 3), out, 0);
    expect([...out]).toEqual(names.map((n) => (n === "terminator" ? 1 : 0)));
  });

  it("the encoder shows agreement groups for three or more models", () => {
    const c = loadConfig(yaml());
    const enc = buildEncoder(c);
    const names = c.agents.map((a) => a.name);
    const s = (answers: string[]): SystemState => ({
      task: { id: "g0", prompt: "Problem 0: what is 4 plus 3?" },
      history: answers.map((a, i) => ({ ...turn(names[i]!, a), agentIndex: i })),
      step: answers.length,
      maxSteps: 4,
      costSpent: 0,
      knob: 1,
    });
    const two = new Float32Array(enc.dim);
    const agree = new Float32Array(enc.dim);
    enc.encodeInto([s(["7", "8"])], two);
    enc.encodeInto([s(["7", "7"])], agree);
    // the last features before the knob: called, largest, second, distinct (over 3 models), newest joins largest, majority
    const g = (v: Float32Array) => Array.from(v.slice(enc.dim - 7, enc.dim - 1)).map((x) => Math.round(x * 1000) / 1000);
    expect(g(two)).toEqual([0.667, 0.333, 0.333, 0.667, 1, 0]);
    expect(g(agree)).toEqual([0.667, 0.667, 0, 0.333, 1, 1]);
  });

  it("costAxis strong-calls: a call of the most expensive model costs 1, the others 0; meta.usd keeps the $", () => {
    const c = loadConfig(yaml(["# strong calls"]));
    c.tasks = { ...c.tasks, costAxis: "strong-calls" } as typeof c.tasks;
    const agents = recordedAgents(c);
    const item = recordedSplits(c).train[0]!;
    const costs = [...agents.values()].map((a) => [a.o.model, a.outputFor(item.id)!.cost, a.outputFor(item.id)!.meta!.usd]);
    expect(costs).toEqual([
      ["small", 0, 0.001],
      ["medium", 0, 0.004],
      ["large", 1, 0.02],
    ]);
  });

  it("greedy decoding reads the stop first on a pool: stop when P(stop) ≥ ½, else the likeliest model", () => {
    const rng = new Rng(1);
    // the policy goes on with probability 0.7, spread over four models: argmax would stop
    const p = [0.2, 0.15, 0.2, 0.15, 0.3];
    expect(pickAction(p, 0, 5, true, rng)).toBe(4);
    expect(pickAction(p, 0, 5, true, rng, 4)).toBe(0);
    expect(pickAction([0.1, 0.3, 0.6], 0, 3, true, rng, 2)).toBe(2);
    expect(pickAction([0.3, 0.2, 0.5], 0, 3, true, rng, 0)).toBe(2);
    // a row further into the matrix, and every model masked out: the stop
    expect(pickAction([0.5, 0.5, 0, 0, 1], 2, 3, true, rng, 2)).toBe(2);
    // auto: the pool's terminator; argmax and other shapes: none
    const c = loadConfig(yaml());
    expect(greedyStopAction(c)).toBe(c.agents.findIndex((a) => a.kind === "terminator"));
    expect(greedyStopAction({ ...c, policy: { ...c.policy, greedy: "argmax" } })).toBeUndefined();
    expect(greedyStopAction({ ...c, env: { ...c.env, shape: "cascade" } })).toBeUndefined();
    expect(greedyStopAction({ ...c, env: { ...c.env, shape: "cascade" }, policy: { ...c.policy, greedy: "stop-first" } })).toBe(3);
    const bad = path.join(dir, "bad-greedy.yaml");
    fs.writeFileSync(
      bad,
      fs.readFileSync(yaml(), "utf8").replace("policy: {hidden: [32, 32]}", "policy: {hidden: [32, 32], greedy: first}"),
    );
    expect(() => loadConfig(bad)).toThrow(/policy\.greedy/);
  });

  it(
    "tasks.trainItems: training draws from a seeded subset of the train split, in its type proportions; spend counts against the whole split",
    { timeout: 120_000 },
    async () => {
      const full = recordedSplits(loadConfig(yaml())).train;
      const c = loadConfig(yaml([], ", trainItems: 0.25"));
      const sub = buildTaskSplits(c).train;
      expect(sub).toHaveLength(Math.round(0.25 * full.length));
      const ids = new Set(full.map((t) => t.id));
      for (const t of sub) expect(ids.has(t.id)).toBe(true);
      // a count, the same prefix, and a larger subset contains a smaller one
      expect(trainSubset(full, 10).map((t) => t.id)).toEqual(
        trainSubset(full, 20)
          .slice(0, 10)
          .map((t) => t.id),
      );
      expect(trainSubset(full, 10_000)).toHaveLength(full.length);
      expect(trainSubset(full, null)).toHaveLength(full.length);
      // in type proportions: a two-type table keeps both types
      const typed = full.map((t, i) => ({ ...t, type: i % 4 === 0 ? "b" : "a" }));
      const part = trainSubset(typed, 0.5);
      expect(part.filter((t) => t.type === "b").length).toBe(Math.round(0.5 * typed.filter((t) => t.type === "b").length));
      const summary = await train({ config: { ...c, train: { ...c.train, updates: 4 } }, runDir: path.join(dir, "subset") });
      const sp = summary.trainingSpend!;
      // the table is still the whole split's; training can only have called models on its quarter of it
      expect(sp.tableCalls).toBe(3 * full.length);
      expect(sp.calls).toBeLessThanOrEqual(3 * sub.length);
      const called = new Set<string>();
      for (const line of fs
        .readFileSync(path.join(dir, "subset", "training-calls.jsonl"), "utf8")
        .trim()
        .split("\n"))
        for (const [item] of (JSON.parse(line) as { calls: Array<[string, string]> }).calls) called.add(item);
      const subIds = new Set(sub.map((t) => t.id));
      for (const id of called) expect(subIds.has(id)).toBe(true);
      expect(() => loadConfig(yaml([], ", trainItems: 0"))).toThrow(/tasks\.trainItems/);
    },
  );

  it(
    "trains, reports its training spend (resumed or not), and draws the N-model curve with every baseline",
    { timeout: 240_000 },
    async () => {
      const runDir = path.join(dir, "run");
      const summary = await train({ config: loadConfig(yaml()), runDir });
      expect(summary.status).toBe("completed");
      const sp = summary.trainingSpend!;
      expect(sp.tableCalls).toBe(3 * recordedSplits(loadConfig(yaml())).train.length);
      expect(sp.calls).toBeGreaterThan(0);
      expect(sp.calls).toBeLessThanOrEqual(sp.tableCalls);
      expect(sp.share).toBeCloseTo(sp.usd / sp.tableUsd, 12);
      expect(sp.tableUsd).toBeCloseTo((sp.tableCalls / 3) * (0.001 + 0.004 + 0.02), 9);
      // a run stopped after its first checkpoint and resumed counts the same calls
      const half = path.join(dir, "half");
      const cfg = loadConfig(yaml());
      await train({ config: { ...cfg, train: { ...cfg.train, updates: 6 } }, runDir: half });
      const resumed = await train({ resumeDir: half, resumeSets: ["train.updates=12"] });
      expect(resumed.trainingSpend).toEqual(sp);
      expect(fs.readFileSync(path.join(half, "training-calls.jsonl"), "utf8").trim().split("\n")).toHaveLength(12);

      const r = await poolCurveRun(runDir, { points: 5 });
      expect(r.kind).toBe("pool");
      expect(r.trainedFor).toBe("dollars");
      expect(r.models.map((m) => m.model)).toEqual(["small", "medium", "large"]);
      expect(r.strong).toBe(r.models[2]!.agent);
      const names = r.baselines.map((b) => b.name);
      for (const n of ["cascade-k2", "cascade-k3", "agreement-rules", "majority-all", "prompt-router", "random", "oracle"])
        expect(names).toContain(n);
      expect(names.filter((n) => n.startsWith("single:"))).toHaveLength(3);
      expect(r.learned.length).toBeGreaterThanOrEqual(5);
      for (const p of r.learned) {
        expect(p.cost).toBeGreaterThan(0);
        expect(p.accuracy).toBeGreaterThanOrEqual(0);
        expect(p.accuracy).toBeLessThanOrEqual(1);
      }
      // every flag is a point where the learned frontier is below a baseline on the axis it was trained for
      for (const b of r.below) expect(b.baselineAccuracy - b.learned).toBeGreaterThan(r.tolerance);
      expect(r.below.some((b) => b.baseline === "oracle")).toBe(false);
      const cmd = await curveCommand([runDir], { points: 5 });
      const json = JSON.parse(fs.readFileSync(cmd.files.json, "utf8")) as { kind: string; dollars: { apgrDollars: number | null } };
      expect(json.kind).toBe("pool");
      expect(fs.readFileSync(cmd.files.csv, "utf8").split("\n")[0]).toBe("series,cost,strong_share,accuracy,calls,param");
      expect(fs.statSync(cmd.files.png).size).toBeGreaterThan(10_000);
    },
  );
});
