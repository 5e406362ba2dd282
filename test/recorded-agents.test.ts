import fs from "node:fs";
import path from "node:path";
import { countTokens } from "gpt-tokenizer/encoding/cl100k_base";
import { afterAll, describe, expect, it } from "vitest";
import { buildRecordedAgent, type RecordedPool } from "../src/agents/recorded.js";
import { loadConfig } from "../src/config/load.js";
import { InputError } from "../src/core/errors.js";
import { Rng } from "../src/core/rng.js";
import type { SystemState, Task } from "../src/core/types.js";
import { Episode } from "../src/env/env.js";
import { buildActionMask, buildAgents, buildEnvSpec } from "../src/run/build.js";
import { recorded as recordedEvaluator, matchAnswer } from "../src/tasks/evaluators.js";
import { loadRecordedTable } from "../src/tasks/recorded.js";
import { removeTmpDirs, repoRoot, tmpDir } from "./helpers.js";
import { writeThreeModelFile } from "./recorded-helpers.js";

afterAll(removeTmpDirs);

const extract = { mode: "regex" as const, pattern: "####\\s*(-?[\\d,.]+)" };
const mixtral = {
  ref: "mixtral",
  provider: "openai" as const,
  model: "mix",
  temperature: 0,
  maxTokens: 1,
  timeoutMs: 1,
  maxRetries: 0,
  maxRetryWaitMs: 1,
  inputPricePerM: 0.6,
  outputPricePerM: 0.6,
  paramsB: 47,
};

function pool(file: string, o: Partial<RecordedPool> = {}): RecordedPool {
  return {
    table: loadRecordedTable({ files: [file] }),
    models: {},
    cost: { mode: "price", computeScale: 1e-12 },
    tokenizer: "cl100k_base",
    promptOverheadTokens: 0,
    outputTokensWithoutText: 1,
    judge: "auto",
    matches: (a, e) => matchAnswer("numeric", a, e, 1e-6),
    scoreThreshold: 0.5,
    ...o,
  };
}

function state(task: Task, step = 0): SystemState {
  return { task, history: [], step, maxSteps: 3, costSpent: 0 };
}

const ctx = { rng: new Rng(0), episode: 0 };

describe("recorded agents: cost", () => {
  const d = tmpDir("agents");
  const f = path.join(d, "t.jsonl");
  fs.writeFileSync(
    f,
    [
      JSON.stringify({
        id: "1",
        prompt: "What is two plus two?",
        answer: "4",
        models: {
          m: { text: "2 + 2 = 4\n#### 4", correct: true },
          n: { correct: false, cost: 0.25 },
          o: { text: "4", correct: true, tokensIn: 100, tokensOut: 7 },
        },
      }),
    ].join("\n"),
  );

  it("prices × tokens counted with the tokenizer (plus the prompt overhead), as llm.models prices them", () => {
    const a = buildRecordedAgent(
      { name: "m", model: "m", extract },
      pool(f, { models: { mixtral: { ...mixtral, model: "m" } }, promptOverheadTokens: 1000 }),
    );
    const out = a.act(state({ id: "1", prompt: "What is two plus two?" }));
    const tin = countTokens("What is two plus two?") + 1000;
    const tout = countTokens("2 + 2 = 4\n#### 4");
    expect(out.usage).toEqual({ inputTokens: tin, outputTokens: tout });
    expect(out.cost).toBeCloseTo((tin * 0.6 + tout * 0.6) / 1e6, 15);
    expect(out.answer).toBe("4");
    expect(out.meta?.correct).toBe(true);
  });

  it("recorded token counts win over counting; a recorded cost wins over prices; a fixed cost is the last resort", () => {
    const p = pool(f, { models: { mixtral: { ...mixtral, model: "o" }, n: { ...mixtral, ref: "n", model: "n" } } });
    expect(
      buildRecordedAgent({ name: "o", model: "o", extract }, p).act(state({ id: "1", prompt: "What is two plus two?" })).cost,
    ).toBeCloseTo((100 * 0.6 + 7 * 0.6) / 1e6, 15);
    expect(buildRecordedAgent({ name: "n", model: "n", extract }, p).act(state({ id: "1", prompt: "What is two plus two?" })).cost).toBe(
      0.25,
    );
    expect(
      buildRecordedAgent({ name: "m", model: "m", extract, cost: 2 }, pool(f)).act(state({ id: "1", prompt: "What is two plus two?" }))
        .cost,
    ).toBe(2);
    // named price entry
    expect(
      buildRecordedAgent({ name: "m", model: "m", extract, price: "mixtral" }, p).act(state({ id: "1", prompt: "What is two plus two?" }))
        .usage?.inputTokens,
    ).toBe(countTokens("What is two plus two?"));
  });

  it("a model without a recorded cost, a price or a fixed cost is an error at build time, not a silent zero", () => {
    expect(() => buildRecordedAgent({ name: "m", model: "m", extract }, pool(f))).toThrow(/model "m" \(agent "m"\): no cost/);
    expect(() => buildRecordedAgent({ name: "z", model: "zz", extract, cost: 1 }, pool(f))).toThrow(
      /model "zz" is not a model of the recorded table/,
    );
  });

  it("the compute proxy prices recorded tokens too (2·params·tokens)", () => {
    const a = buildRecordedAgent(
      { name: "o", model: "o", extract },
      pool(f, { models: { x: { ...mixtral, model: "o" } }, cost: { mode: "compute", computeScale: 1e-12 } }),
    );
    expect(a.act(state({ id: "1", prompt: "What is two plus two?" })).cost).toBeCloseTo(2 * 47e9 * 107 * 1e-12, 9);
  });

  it("GSM8K through the shipped config: Mixtral ≈ $0.0008 and GPT-4 ≈ $0.016 per call with the 8-shot prefix", () => {
    const c = loadConfig(path.join(repoRoot, "configs/gsm8k-cascade.yaml"));
    const agents = buildAgents(c);
    expect(agents.map((a) => a.name)).toEqual(["Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview", "terminator"]);
    const t = loadRecordedTable({ files: [path.join(repoRoot, "data/routellm/gsm8k/gsm8k_responses.csv")] });
    const item = t.items[0]!;
    const w = agents[0]!.act(state(item), ctx) as ReturnType<(typeof agents)[0]["act"]> & {
      cost: number;
      usage?: { inputTokens: number; outputTokens: number };
    };
    const tin = countTokens(item.prompt) + 1127;
    const tout = countTokens(item.models["mistralai/Mixtral-8x7B-Instruct-v0.1"]!.text!.trim());
    expect(w.cost).toBeCloseTo(((tin + tout) * 0.6) / 1e6, 12);
    const s = agents[1]!.act(state(item), ctx) as { cost: number };
    expect(s.cost).toBeGreaterThan(0.012);
    expect(s.cost).toBeLessThan(0.02);
  });
});

describe("recorded agents: which correctness counts", () => {
  const d = tmpDir("judge");
  const f = path.join(d, "j.jsonl");
  // item 1: recorded True but the gold answer disagrees with the extracted answer (RouteLLM's grader quirk);
  // item 2: no recorded flag, the gold answer decides
  fs.writeFileSync(
    f,
    [
      JSON.stringify({ id: "1", prompt: "p1", answer: "20", models: { m: { text: "#### 0", correct: true, cost: 1 } } }),
      JSON.stringify({ id: "2", prompt: "p2", answer: "7", models: { m: { text: "#### 7", cost: 1 } } }),
      JSON.stringify({ id: "3", prompt: "p3", models: { m: { score: 0.75, cost: 1 } } }),
    ].join("\n"),
  );
  const correct = (judge: RecordedPool["judge"], id: string) =>
    buildRecordedAgent({ name: "m", model: "m", extract }, pool(f, { judge })).outputFor(id)?.meta?.correct;

  it("auto: the recorded flag wins over the gold answer; the gold answer decides where no flag is recorded; a score counts from the threshold", () => {
    expect(correct("auto", "1")).toBe(true);
    expect(correct("auto", "2")).toBe(true);
    expect(correct("auto", "3")).toBe(true);
  });

  it("evaluator: the gold answer decides, and an item without one is an error naming the file and line", () => {
    const t = fs.readFileSync(f, "utf8").split("\n").slice(0, 2).join("\n");
    const g = path.join(d, "j2.jsonl");
    fs.writeFileSync(g, t);
    const a = buildRecordedAgent({ name: "m", model: "m", extract }, pool(g, { judge: "evaluator" }));
    expect(a.outputFor("1")?.meta?.correct).toBe(false);
    expect(a.outputFor("2")?.meta?.correct).toBe(true);
    expect(() => correct("evaluator", "3")).toThrow(new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:3: .*no gold answer`));
  });

  it("recorded: an item without a flag or score is an error", () => {
    expect(() => correct("recorded", "1")).toThrow(/j\.jsonl:2: item "2", model "m": no recorded correctness/);
  });

  it("an episode succeeds on the correctness of the LAST model's answer, judged when the terminator ends it", () => {
    const c = loadConfig(path.join(repoRoot, "configs/gsm8k-cascade.yaml"));
    const spec = buildEnvSpec(c);
    expect(spec.evaluator).toBe(recordedEvaluator);
    const agents = buildAgents(c);
    const t = loadRecordedTable({ files: [path.join(repoRoot, "data/routellm/gsm8k/gsm8k_responses.csv")] });
    // an item where Mixtral is wrong and GPT-4 right
    const item = t.items.find(
      (i) => !i.models["mistralai/Mixtral-8x7B-Instruct-v0.1"]!.correct && i.models["gpt-4-1106-preview"]!.correct,
    )!;
    const run = (path: number[]) => {
      const ep = new Episode(spec, item, 0);
      for (const a of path) ep.apply(agents[a]!, a, agents[a]!.act(ep.state, ctx) as never);
      return ep.success;
    };
    expect(run([0, 2])).toBe(false);
    expect(run([0, 1, 2])).toBe(true);
    expect(run([1, 2])).toBe(true);
    expect(run([1, 0, 2])).toBe(false); // (the cascade mask forbids this path; the env judges the last answer)
  });
});

describe('model "*" and call shapes', () => {
  it("expands into one agent per model of the table, cheapest first", () => {
    const d = tmpDir("shape");
    const f = writeThreeModelFile(path.join(d, "g.jsonl"), 30);
    const c = loadConfig(path.join(repoRoot, "configs/gsm8k-cascade.yaml"), { sets: [`tasks.file=${f}`] });
    expect(c.agents.map((a) => a.name)).toEqual(["small", "medium", "large", "terminator"]);
    expect(c.agents.every((a) => a.kind !== "recorded" || a.model !== "*")).toBe(true);
  });

  it("cascade: calls only go up the pool order, the terminator only after a call and alone at the last step; router: one call, then the terminator", () => {
    const c = loadConfig(path.join(repoRoot, "configs/gsm8k-cascade.yaml"));
    const mask = buildActionMask(c)!;
    const m = (history: string[], step: number) => {
      const out = new Uint8Array(3);
      mask(
        {
          task: { id: "x", prompt: "x" },
          history: history.map((agent, i) => ({ agent, agentIndex: i, output: { content: "", cost: 0 } })),
          step,
          maxSteps: 3,
          costSpent: 0,
        },
        out,
        0,
      );
      return [...out];
    };
    const [w, s] = c.agents.map((a) => a.name);
    expect(m([], 0)).toEqual([1, 1, 0]);
    expect(m([w!], 1)).toEqual([0, 1, 1]);
    expect(m([s!], 1)).toEqual([0, 0, 1]); // no way back down to the cheaper model
    expect(m([w!, s!], 2)).toEqual([0, 0, 1]);
    const r = loadConfig(path.join(repoRoot, "configs/gsm8k-router.yaml"));
    const rm = buildActionMask(r)!;
    const out = new Uint8Array(3);
    rm(state({ id: "x", prompt: "x" }, 0), out, 0);
    expect([...out]).toEqual([1, 1, 0]);
    rm(state({ id: "x", prompt: "x" }, 1), out, 0);
    expect([...out]).toEqual([0, 0, 1]);
  });

  it("rejects recorded agents without recorded tasks, and shapes without exactly one terminator", () => {
    const base = { name: "t", env: { maxSteps: 3 }, train: { updates: 1, episodesPerUpdate: 2 } };
    const d = tmpDir("shape");
    const f = writeThreeModelFile(path.join(d, "g.jsonl"), 10);
    const file = path.join(d, "c.yaml");
    const write = (o: object) => fs.writeFileSync(file, JSON.stringify(o));
    write({ ...base, agents: [{ kind: "recorded", model: "small" }, "terminator"], tasks: { source: "inline", items: ["a"] } });
    expect(() => loadConfig(file)).toThrow(/kind recorded needs tasks.source: recorded/);
    write({
      ...base,
      agents: [{ kind: "recorded", model: "*" }, "echo"],
      tasks: { source: "recorded", file: f },
      env: { maxSteps: 3, shape: "cascade" },
    });
    expect(() => loadConfig(file)).toThrow(InputError);
    write({
      ...base,
      agents: [{ kind: "recorded", model: "*" }, "terminator"],
      tasks: { source: "recorded", file: f },
      knob: { name: "lambda" },
      algo: { name: "p3o" },
      env: { maxSteps: 3, budget: 1 },
    });
    expect(() => loadConfig(file)).toThrow(/knob: the budget-conditioned policy is trained with algo.name reinforce or ppo/);
  });
});
