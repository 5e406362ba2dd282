import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { extractAnswer, renderTranscript } from "../src/agents/llm.js";
import { InputError } from "../src/core/errors.js";
import type { Turn } from "../src/core/types.js";
import { validateConfig } from "../src/config/load.js";
import { train } from "../src/run/train.js";
import { buildTaskSplits } from "../src/run/build.js";
import { CacheMissError, ResponseCache, cacheKey } from "../src/llm/cache.js";
import { usageCost } from "../src/llm/cost.js";
import { Limiter } from "../src/llm/limiter.js";
import type { ModelSettings } from "../src/llm/types.js";
import { generateArithmeticTasks, parseArithmeticProblem } from "../src/tasks/arithmetic.js";
import { answerEvaluator, finalAnswer, matchAnswer } from "../src/tasks/evaluators.js";
import { loadJsonlTasks, splitTasks } from "../src/tasks/jsonl.js";

const tmpdir = () => fs.mkdtempSync(path.join(os.tmpdir(), "maestro-llm-units-"));
const turn = (agent: string, answer?: string, content = "x"): Turn => ({
  agent,
  agentIndex: 0,
  output: { content, cost: 0, ...(answer !== undefined ? { answer } : {}) },
});

describe("arithmetic tasks", () => {
  it("generates seeded problems the parser solves exactly, all three types", () => {
    const a = generateArithmeticTasks({ seed: 3, count: 600, types: ["addsub", "muldiv", "percent"], minSteps: 2, maxSteps: 4 });
    const b = generateArithmeticTasks({ seed: 3, count: 600, types: ["addsub", "muldiv", "percent"], minSteps: 2, maxSteps: 4 });
    expect(a).toEqual(b);
    expect(new Set(a.map((t) => t.type))).toEqual(new Set(["addsub", "muldiv", "percent"]));
    for (const t of a) {
      const p = parseArithmeticProblem(`Task:\n${t.prompt}\n\nTranscript:\n(no turns yet)`);
      expect(p?.type).toBe(t.type);
      expect(Math.abs(p!.answer - Number(t.answer))).toBeLessThan(1e-9);
    }
    expect(generateArithmeticTasks({ seed: 4, count: 5, types: ["addsub"], minSteps: 2, maxSteps: 2 })[0]).not.toEqual(a[0]);
    expect(parseArithmeticProblem("Write a haiku about programming")).toBeUndefined();
  });

  it("keeps held-out arithmetic tasks disjoint from training tasks", () => {
    const c = validateConfig(
      {
        name: "t",
        agents: ["echo", "terminator"],
        tasks: { source: "arithmetic", train: 200, eval: 100 },
        env: { maxSteps: 2 },
        train: { updates: 1, episodesPerUpdate: 1 },
      },
      "t.yaml",
      process.cwd(),
    );
    const s = buildTaskSplits(c);
    expect(s.train).toHaveLength(200);
    expect(s.eval).toHaveLength(100);
    const trainPrompts = new Set(s.train.map((t) => t.prompt));
    expect(s.eval.some((t) => trainPrompts.has(t.prompt))).toBe(false);
  });
});

describe("evaluators and final answers", () => {
  it("matches answers by rule", () => {
    expect(matchAnswer("exact", "  Paris. ", "paris", 0)).toBe(true);
    expect(matchAnswer("exact", "Lyon", "paris", 0)).toBe(false);
    expect(matchAnswer("numeric", "$1,250.00", "1250", 1e-6)).toBe(true);
    expect(matchAnswer("numeric", "12.5", "12.51", 1e-6)).toBe(false);
    expect(matchAnswer("numeric", "12.5", "12.51", 1e-3)).toBe(true);
    expect(matchAnswer("numeric", "no number", "3", 1e-6)).toBe(false);
    expect(matchAnswer("choice", "(b) because", "B", 0)).toBe(true);
    expect(matchAnswer("choice", "The answer is C", "B", 0)).toBe(false);
    expect(matchAnswer("regex", "color: grey", "gr[ae]y", 0)).toBe(true);
    expect(matchAnswer("regex", "green", "^gr[ae]y$", 0)).toBe(false);
    expect(matchAnswer("contains", "It is Mount Everest, in Nepal", "mount everest", 0)).toBe(true);
    expect(matchAnswer("contains", "K2", "everest", 0)).toBe(false);
  });

  it("forms the final answer by last or majority, and needs a terminal end", () => {
    const h = [turn("a", "4"), turn("b", "5"), turn("c"), turn("d", "4 "), turn("e", "5")];
    expect(finalAnswer(h, "last")).toBe("5");
    expect(finalAnswer([turn("a", "4"), turn("b", "5"), turn("c", "4")], "majority")).toBe("4");
    // tie: the most recent of the tied answers wins
    expect(finalAnswer(h, "majority")).toBe("5");
    expect(finalAnswer([turn("a")], "last")).toBeUndefined();
    const ev = answerEvaluator("numeric", { finalAnswer: "last", tolerance: 1e-6 });
    expect(ev({ id: "1", prompt: "p", answer: "5" }, h, true)).toBe(true);
    expect(ev({ id: "1", prompt: "p", answer: "5" }, h, false)).toBe(false);
    expect(ev({ id: "1", prompt: "p" }, h, true)).toBe(false);
  });

  it("extracts answers by mode", () => {
    expect(extractAnswer("work\nANSWER: 42\nmore\nAnswer: 43", { mode: "answer-line" })).toBe("43");
    expect(extractAnswer("**Answer:** 7**", { mode: "answer-line" })).toBe("7");
    expect(extractAnswer("no final line", { mode: "answer-line" })).toBeUndefined();
    expect(extractAnswer("x = 3, y = 1,250 so", { mode: "last-number" })).toBe("1250");
    expect(extractAnswer("Result <<17>> and <<18>>", { mode: "regex", pattern: "<<(\\d+)>>" })).toBe("18");
    expect(extractAnswer("I pick B, not A. Final: C", { mode: "choice" })).toBe("C");
    expect(extractAnswer("ANSWER: 1", { mode: "none" })).toBeUndefined();
  });

  it("shows the last N turns within a token budget, skipping terminal and error turns", () => {
    const h: Turn[] = [
      turn("a", undefined, "first"),
      turn("b", undefined, "second"),
      { agent: "x", agentIndex: 1, output: { content: "[error] 500", cost: 0, meta: { error: "500" } } },
      turn("c", undefined, "third"),
    ];
    expect(renderTranscript(h, 2, 1000)).toBe("[b]\nsecond\n\n[c]\nthird");
    expect(renderTranscript(h, 5, 3)).toBe("[c]\nthird");
    expect(renderTranscript([], 5, 100)).toBe("(no turns yet)");
  });
});

describe("JSONL datasets", () => {
  it("loads mapped fields and reports a malformed line with its number", () => {
    const dir = tmpdir();
    const good = path.join(dir, "good.jsonl");
    fs.writeFileSync(
      good,
      '{"qid": 1, "question": "2+2?", "gold": 4, "cat": "math"}\n\n{"qid": "b", "question": "Capital of France?", "gold": "Paris"}\n',
    );
    const tasks = loadJsonlTasks(good, { id: "qid", prompt: "question", answer: "gold", type: "cat" });
    expect(tasks).toEqual([
      { id: "1", prompt: "2+2?", answer: "4", type: "math" },
      { id: "b", prompt: "Capital of France?", answer: "Paris" },
    ]);
    const bad = path.join(dir, "bad.jsonl");
    fs.writeFileSync(bad, '{"id": 1, "prompt": "a", "answer": "b"}\n{"id": 2, "prompt": "c", "answer": \n');
    expect(() => loadJsonlTasks(bad)).toThrow(InputError);
    expect(() => loadJsonlTasks(bad)).toThrow(`${bad}:2: malformed JSON line`);
    const noAnswer = path.join(dir, "noanswer.jsonl");
    fs.writeFileSync(noAnswer, '{"id": 1, "prompt": "a"}\n');
    expect(() => loadJsonlTasks(noAnswer)).toThrow(`${noAnswer}:1: field "answer"`);
    expect(loadJsonlTasks(noAnswer, undefined, { requireAnswer: false })).toEqual([{ id: "1", prompt: "a" }]);
    const s = splitTasks(
      Array.from({ length: 10 }, (_, i) => ({ id: String(i), prompt: `p${i}`, answer: "x" })),
      0.3,
      1,
    );
    expect(s.train).toHaveLength(7);
    expect(s.eval).toHaveLength(3);
    expect(new Set([...s.train, ...s.eval].map((t) => t.id)).size).toBe(10);
    // evalFraction 0 holds nothing out; a one-task dataset cannot be split and says how to fix it
    const none = splitTasks(s.train, 0, 1);
    expect(none.eval).toEqual(s.train);
    expect(() => splitTasks([s.train[0]!], 0.2, 1, "d.jsonl: tasks.evalFraction")).toThrow(
      /d\.jsonl: tasks\.evalFraction: a dataset of 1 task cannot be split; add tasks or set evalFraction: 0/,
    );
  });

  it("does not start a run (no run folder) when the dataset has a malformed line", async () => {
    const dir = tmpdir();
    fs.writeFileSync(path.join(dir, "data.jsonl"), '{"id": 1, "prompt": "a", "answer": "b"}\n{"id": 2, "prompt": "c" "answer": "d"}\n');
    const config = validateConfig(
      {
        name: "bad-data",
        agents: ["echo", "terminator"],
        tasks: { source: "jsonl", file: "data.jsonl" },
        env: { maxSteps: 2 },
        train: { updates: 1, episodesPerUpdate: 2 },
      },
      path.join(dir, "c.yaml"),
      dir,
    );
    const runDir = path.join(dir, "run");
    await expect(train({ config, runDir })).rejects.toThrow(`${path.join(dir, "data.jsonl")}:2: malformed JSON line`);
    expect(fs.existsSync(runDir)).toBe(false);
  });
});

describe("LLM config validation", () => {
  const base = {
    name: "x",
    tasks: { source: "arithmetic", train: 10, eval: 5 },
    env: { maxSteps: 3 },
    train: { updates: 1, episodesPerUpdate: 2 },
  };
  const agent = { name: "solver", kind: "llm", prompt: "Role: coder.", model: "m" };
  it("names the field of a missing model, a missing llm section and a key-like apiKeyEnv", () => {
    expect(() => validateConfig({ ...base, agents: [agent, "terminator"] }, "c.yaml", process.cwd())).toThrow(
      /c\.yaml: llm: agent "solver" \(agents\[0\]\) is an LLM agent/,
    );
    expect(() =>
      validateConfig({ ...base, agents: [agent, "terminator"], llm: { models: { other: { model: "x" } } } }, "c.yaml", process.cwd()),
    ).toThrow(/c\.yaml: agents\[0\]\.model: agent "solver" uses model "m"/);
    expect(() =>
      validateConfig(
        { ...base, agents: [agent, "terminator"], llm: { models: { m: { model: "x", apiKeyEnv: "sk-live-abc123" } } } },
        "c.yaml",
        process.cwd(),
      ),
    ).toThrow(/c\.yaml: llm\.models\.m\.apiKeyEnv: the NAME of an environment variable/);
    expect(() =>
      validateConfig(
        { ...base, agents: [{ ...agent, extract: { mode: "regex" } }, "terminator"], llm: { models: { m: { model: "x" } } } },
        "c.yaml",
        process.cwd(),
      ),
    ).toThrow(/agents\.0\.extract\.pattern: extract\.mode regex needs a pattern/);
    expect(() =>
      validateConfig({ ...base, agents: [agent, "echo"], llm: { models: { m: { model: "x" } } } }, "c.yaml", process.cwd()),
    ).toThrow(/tasks\.evaluator: "numeric" judges the answer when a terminator ends the episode/);
  });
});

describe("limiter, cost and cache", () => {
  it("never runs more than maxConcurrency tasks at once and runs them all", async () => {
    const lim = new Limiter(3);
    let active = 0;
    let peak = 0;
    const done = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        lim.run(async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setTimeout(r, 2));
          active--;
          return i;
        }),
      ),
    );
    expect(done).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(peak).toBe(3);
  });

  it("holds requests beyond requestsPerMinute", async () => {
    const lim = new Limiter(10, 2);
    let started = 0;
    const ps = [0, 1, 2].map(() => lim.run(async () => void started++));
    await Promise.all(ps.slice(0, 2));
    await new Promise((r) => setTimeout(r, 20));
    expect(started).toBe(2);
    expect(lim.waiting).toBe(1);
    void ps[2];
  });

  it("prices usage and computes Puppeteer's compute proxy", () => {
    const m = { ref: "m", paramsB: 7, inputPricePerM: 1, outputPricePerM: 4 } as ModelSettings;
    expect(usageCost({ inputTokens: 1000, outputTokens: 500 }, m, { mode: "price", computeScale: 1 }, 0)).toBeCloseTo(0.003, 12);
    expect(usageCost({ inputTokens: 100, outputTokens: 50 }, m, { mode: "compute", computeScale: 1e-12 }, 0)).toBeCloseTo(2.1, 12);
    expect(usageCost({ inputTokens: 100, outputTokens: 50 }, m, { mode: "compute", computeScale: 1e-12, logStepPhi: 2 }, 1)).toBeCloseTo(
      2.1 * Math.log(2),
      12,
    );
  });

  it("stores and replays replies; read-only misses are errors; off never writes", () => {
    const dir = tmpdir();
    const k = cacheKey({
      kind: "chat",
      provider: "openai",
      model: "m",
      messages: [{ role: "user", content: "hi" }],
      params: { t: 1 },
      sampleIndex: 3,
    });
    expect(k).toBe(
      cacheKey({
        kind: "chat",
        provider: "openai",
        model: "m",
        messages: [{ role: "user", content: "hi" }],
        params: { t: 1 },
        sampleIndex: 3,
      }),
    );
    expect(k).not.toBe(
      cacheKey({
        kind: "chat",
        provider: "openai",
        model: "m",
        messages: [{ role: "user", content: "hi" }],
        params: { t: 1 },
        sampleIndex: 4,
      }),
    );
    const rw = new ResponseCache(dir, "read-write");
    expect(rw.get(k)).toBeUndefined();
    rw.set(k, { content: "hello", usage: { inputTokens: 1, outputTokens: 1 } });
    expect(new ResponseCache(dir, "read-only").get(k)).toEqual({ content: "hello", usage: { inputTokens: 1, outputTokens: 1 } });
    expect(() => new ResponseCache(dir, "read-only").get("f".repeat(64))).toThrow(CacheMissError);
    const offDir = tmpdir();
    const off = new ResponseCache(offDir, "off");
    off.set(k, { x: 1 });
    expect(off.get(k)).toBeUndefined();
    expect(fs.readdirSync(offDir)).toEqual([]);
  });
});

describe("error turns", () => {
  it("never carry the API key, even when the server echoes it", async () => {
    const { describeError } = await import("../src/llm/client.js");
    const key = "sk-test-ABCDEF123456";
    const err = Object.assign(new Error(`401 Incorrect API key provided: ${key} (Authorization: Bearer ${key})`), {
      status: 401,
      name: "AuthenticationError",
    });
    const text = describeError(err, [key]);
    expect(text).not.toContain(key);
    expect(text).toMatch(/^401 AuthenticationError: 401 Incorrect API key provided: \[redacted\]/);
  });
});
