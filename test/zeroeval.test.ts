import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { buildRecordedAgent, type RecordedPool } from "../src/agents/recorded.js";
import { extractAnswer } from "../src/agents/llm.js";
import { loadConfig } from "../src/config/load.js";
import { recordedAgents } from "../src/config/recorded.js";
import { InputError } from "../src/core/errors.js";
import { countTokens } from "../src/llm/tokens.js";
import { matchAnswer } from "../src/tasks/evaluators.js";
import { loadRecordedTable } from "../src/tasks/recorded.js";
import { importZeroEval, writeRecordedJsonl, zeroEvalFiles } from "../src/tasks/zeroeval.js";
import {
  evalArithmetic,
  extractZeroEval,
  gradeZeroEval,
  pyFloatRepr,
  sanitizeMathAnswer,
  zeroEvalMatch,
} from "../src/tasks/zeroeval-rule.js";
import { removeTmpDirs, repoRoot, runCli, tmpDir } from "./helpers.js";

afterAll(removeTmpDirs);

const shipped = path.join(repoRoot, "data", "zeroeval");
const rawDir = path.resolve(repoRoot, "..", "shared", "data", "zeroeval", "gsm");

/** ZeroEval's own table (gsm.summary.md): model → {acc, noAnswer} in percent. */
function summaryTable(): Map<string, { acc: number; noAnswer: number }> {
  const out = new Map<string, { acc: number; noAnswer: number }>();
  for (const line of fs.readFileSync(path.join(shipped, "gsm.summary.md"), "utf8").split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    if (cells.length < 7 || !/^\d/.test(cells[3]!)) continue;
    out.set(cells[1]!, { acc: Number(cells[3]), noAnswer: Number(cells[4]) });
  }
  return out;
}

const seventeen = [
  "Meta-Llama-3.1-70B-Instruct",
  "Meta-Llama-3.1-8B-Instruct",
  "Mistral-Large-2",
  "Mixtral-8x7B-Instruct-v0.1",
  "Qwen2-72B-Instruct",
  "Qwen2-7B-Instruct",
  "claude-3-5-haiku-20241022",
  "claude-3-5-sonnet-20241022",
  "claude-3-haiku-20240307",
  "command-r",
  "deepseek-v2.5-0908",
  "gemini-1.5-flash",
  "gemma-2-2b-it",
  "gemma-2-9b-it",
  "gpt-3.5-turbo-0125",
  "gpt-4o-2024-08-06",
  "gpt-4o-mini-2024-07-18",
];

describe("ZeroEval's grading rule", () => {
  it("reads the answer of the first complete JSON object (fenced, numbers, nested braces)", () => {
    expect(extractZeroEval('```json\n{\n  "reasoning": "9 * 2 = 18",\n  "answer": "18"\n}\n```')).toEqual({ answer: "18", source: "json" });
    expect(extractZeroEval('{"reasoning": "x", "answer": 18}').answer).toBe("18");
    expect(extractZeroEval('{"reasoning": "x", "answer": 0.5}').answer).toBe("0.5");
    expect(extractZeroEval('{"reasoning": "x", "answer": null}').answer).toBe("None");
    expect(extractZeroEval('{"answer": 20000000000000000}').answer).toBe("20000000000000000");
    expect(extractZeroEval('{"answer": 0.00001}').answer).toBe("1e-05");
    expect(extractZeroEval('{"answer": [12, "x"]}').answer).toBe("[12, 'x']");
    expect(extractZeroEval('{"reasoning": "{a} and {b}", "answer": "7"} then {"answer": "8"}').answer).toBe("7");
  });

  it("falls back to a regular expression when the first JSON object does not parse or has no answer", () => {
    // an unescaped quote breaks the JSON: `"answer": "..."` is found by the pattern
    expect(extractZeroEval('{"reasoning": "she said "hi"", "answer": "$1,000"}')).toEqual({ answer: "$1,000", source: "regex" });
    // an unquoted value runs to the next comma or space, as the source's `[^,\s]*` does; its first number is 42
    expect(extractZeroEval('{"reasoning": "r" "answer": 42}')).toEqual({ answer: "42}", source: "regex" });
    expect(extractZeroEval("The reasoning is long.\nanswer: 12 apples")).toEqual({ answer: "12", source: "regex" });
    expect(extractZeroEval('{"reasoning": "only reasoning"}').source).toBe("none");
  });

  it("reads a trailing \\boxed{} for Llama-3.1 models only", () => {
    const reply = "We add 3 and 4 to get 7. The final answer is $\\boxed{7}$.";
    expect(extractZeroEval(reply, "Meta-Llama-3.1-8B-Instruct")).toEqual({ answer: "7", source: "boxed" });
    expect(extractZeroEval(reply, "gpt-4o-mini-2024-07-18")).toEqual({ answer: undefined, source: "none" });
    expect(extractZeroEval(reply)).toEqual({ answer: undefined, source: "none" });
    // "boxed" must be in the last 30 characters
    const early = `\\boxed{7} ${"and then a long explanation follows without any box. ".repeat(2)}`;
    expect(extractZeroEval(early, "Meta-Llama-3.1-70B-Instruct").source).toBe("none");
  });

  it("compares the first numbers after dropping $ and , and evaluating fractions", () => {
    expect(zeroEvalMatch("$1,000", "# 1000")).toBe(true);
    expect(zeroEvalMatch("1000 dollars", "1,000")).toBe(true);
    expect(zeroEvalMatch("3/4", "0.75")).toBe(true);
    expect(zeroEvalMatch("(1+2)/4", "0.75")).toBe(true);
    expect(zeroEvalMatch("18.0", "18")).toBe(true);
    expect(zeroEvalMatch("-5", "5")).toBe(false);
    expect(zeroEvalMatch("5/8 cups", "5")).toBe(true); // not an expression: the first number, 5
    expect(zeroEvalMatch("about 17 or 18", "18")).toBe(false); // the first number only
    expect(zeroEvalMatch("none", "18")).toBe(false);
    expect(zeroEvalMatch("١٨", "18")).toBe(true); // Python's \d and float() read any script's digits
    expect(sanitizeMathAnswer("08/15")).toBe("08/15"); // a leading zero is a syntax error in Python: kept
    expect(sanitizeMathAnswer("1/0")).toBe("1/0");
    expect(evalArithmetic("7//2 + 2**3 - -1 % 3")).toBe(3 + 8 - 2);
    expect(evalArithmetic("abs(3)/2")).toBeUndefined();
  });

  it("prints floats as Python does", () => {
    expect([0.75, 2, 1e-5, 1.5e-7, 1e16, 123456.789, -0.001, 1e15].map(pyFloatRepr)).toEqual([
      "0.75",
      "2.0",
      "1e-05",
      "1.5e-07",
      "1e+16",
      "123456.789",
      "-0.001",
      "1000000000000000.0",
    ]);
    expect(sanitizeMathAnswer("1/100000")).toBe("1e-05");
  });

  it("grades: no answer is wrong; the json-answer extract mode and the zeroeval evaluator use the same rule", () => {
    expect(gradeZeroEval("I do not know.", "# 18")).toEqual({ answer: undefined, source: "none", correct: false });
    expect(gradeZeroEval('{"answer": "$18.00"}', "# 18").correct).toBe(true);
    const reply = 'Sure. {"reasoning": "1/2 of 36", "answer": "18"}';
    expect(extractAnswer(reply, { mode: "json-answer" })).toBe("18");
    expect(extractAnswer("so $\\boxed{18}$", { mode: "json-answer" }, "meta-llama/Meta-Llama-3.1-8B-Instruct")).toBe("18");
    expect(matchAnswer("zeroeval", "$1,000.00", "1000", 0)).toBe(true);
    expect(matchAnswer("zeroeval", "1/2", "0.5", 0)).toBe(true);
    expect(matchAnswer("numeric", "1/2", "0.5", 1e-6)).toBe(false); // numeric reads 1: it does not evaluate fractions
  });
});

describe.skipIf(!fs.existsSync(rawDir))("importing ZeroEval's raw GSM8K files (../shared/data/zeroeval)", () => {
  it("reproduces gsm.summary.md's Acc and No answer for all 17 models to 0.01 point", { timeout: 300_000 }, () => {
    const table = summaryTable();
    const r = importZeroEval({ files: zeroEvalFiles([rawDir]) });
    expect(r.models.map((m) => m.model).sort()).toEqual([...seventeen].sort());
    expect(r.items).toHaveLength(1319);
    for (const m of r.models) {
      const want = table.get(m.model)!;
      expect(want, m.model).toBeDefined();
      expect(Math.abs(m.accuracy - want.acc), m.model).toBeLessThan(0.005 + 1e-9);
      expect(Math.abs((100 * m.noAnswer) / m.items - want.noAnswer), m.model).toBeLessThan(0.005 + 1e-9);
      expect(m.meanTokensIn, m.model).toBeGreaterThan(100);
      expect(m.meanTokensOut, m.model).toBeGreaterThan(50);
    }
    // the shipped file is this import, byte for byte (scripts/import-zeroeval.sh regenerates it)
    const d = tmpDir("zeroeval-raw");
    writeRecordedJsonl(path.join(d, "g.jsonl.gz"), r.items);
    expect(
      zlib
        .gunzipSync(fs.readFileSync(path.join(d, "g.jsonl.gz")))
        .equals(zlib.gunzipSync(fs.readFileSync(path.join(shipped, "gsm8k-zeroeval.jsonl.gz")))),
    ).toBe(true);
  });
});

describe("the shipped data (data/zeroeval)", () => {
  it("its correct flags reproduce gsm.summary.md for all 17 models; answers and tokens are recorded", () => {
    const table = summaryTable();
    const t = loadRecordedTable({ files: [path.join(shipped, "gsm8k-zeroeval.jsonl.gz")] });
    expect(t.items).toHaveLength(1319);
    expect(t.types).toEqual(["gsm"]);
    expect([...t.models].sort()).toEqual([...seventeen].sort());
    for (const m of t.models) {
      const rec = t.items.map((it) => it.models[m]!);
      const acc = (100 * rec.filter((a) => a.correct === true).length) / rec.length;
      const none = (100 * rec.filter((a) => a.answer === null).length) / rec.length;
      expect(Math.abs(acc - table.get(m)!.acc), m).toBeLessThan(0.005 + 1e-9);
      expect(Math.abs(none - table.get(m)!.noAnswer), m).toBeLessThan(0.005 + 1e-9);
      for (const a of rec) {
        expect(typeof a.text).toBe("string");
        expect(a.tokensIn).toBeGreaterThan(0);
        expect(a.tokensOut).toBeGreaterThan(0);
      }
      // each flag is the rule applied to the recorded answer and the gold
      for (const it of t.items.slice(0, 50)) {
        const a = it.models[m]!;
        expect(a.correct, `${m} ${it.id}`).toBe(a.answer !== null && a.answer !== undefined && zeroEvalMatch(a.answer, it.answer!));
      }
    }
    expect(t.items[0]).toMatchObject({ id: "gsm8k-main-test-#0", answer: "18" });
  });

  it("a recorded agent returns the recorded answer, and no answer where the grader found none", () => {
    const t = loadRecordedTable({ files: [path.join(shipped, "gsm8k-zeroeval.jsonl.gz")] });
    const model = "Mixtral-8x7B-Instruct-v0.1";
    const none = t.items.find((it) => it.models[model]!.answer === null)!;
    const some = t.items.find((it) => it.models[model]!.answer !== null)!;
    const pool: RecordedPool = {
      table: t,
      models: {},
      cost: { mode: "price", computeScale: 1e-12 },
      tokenizer: "cl100k_base",
      promptOverheadTokens: 0,
      outputTokensWithoutText: 1,
      judge: "auto",
      scoreThreshold: 0.5,
    };
    // last-number would find numbers in the reasoning of an unanswered reply; the recorded null wins
    const a = buildRecordedAgent({ name: "mix", model, cost: 1, extract: { mode: "last-number" } }, pool);
    expect(a.outputFor(none.id)!.answer).toBeUndefined();
    expect(a.outputFor(some.id)!.answer).toBe(some.models[model]!.answer);
    expect(a.outputFor(some.id)!.meta!.correct).toBe(some.models[model]!.correct);
  });
});

/** A ZeroEval result file (math-style: `problem`, numeric ids, plain-number golds). */
function writeResult(file: string, items: Array<Record<string, unknown>>): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(items));
  return file;
}

function mathItem(id: number | string, reply: unknown, o: Record<string, unknown> = {}): Record<string, unknown> {
  const golds: Record<string, unknown> = { "0": "0.5", "1": 3, "2": "\\frac{1}{4}" };
  return {
    id,
    problem: `Problem number ${id}: compute it.`,
    answer: golds[String(id)] ?? "7",
    output: [reply],
    model_input: "n/a",
    chat_history: [`## Problem\n\nProblem number ${id}: compute it.\n\nAnswer in JSON.`],
    ...o,
  };
}

describe("importing math-style files", () => {
  const dir = tmpDir("zeroeval-math");
  const folder = path.join(dir, "math-l5");
  writeResult(path.join(folder, "alpha.json"), [mathItem(0, '{"answer": "1/2"}'), mathItem(1, '{"answer": 3}'), mathItem(2, "no idea")]);
  writeResult(path.join(folder, "beta.json"), [
    mathItem(2, '{"answer": "0.25"}', { model_input: "<s>[INST] Problem number 2 [/INST]" }),
    mathItem(0, '"answer": 0.5,'),
    mathItem(1, '{"answer": "4"}'),
  ]);

  it("imports `problem` and numeric ids, joins the models on the id, grades plain-number golds", () => {
    const r = importZeroEval({ files: zeroEvalFiles([folder]) });
    expect(r.items.map((it) => it.id)).toEqual(["0", "1", "2"]);
    expect(r.items.map((it) => it.type)).toEqual(["math-l5", "math-l5", "math-l5"]); // the folder's name
    expect(r.items[1]).toMatchObject({ prompt: "Problem number 1: compute it.", answer: "3" });
    expect(r.items[0]!.models.alpha).toMatchObject({ answer: "1/2", correct: true });
    expect(r.items[2]!.models.alpha).toMatchObject({ answer: null, correct: false });
    expect(r.items[0]!.models.beta).toMatchObject({ answer: "0.5", correct: true });
    expect(r.items[1]!.models.beta).toMatchObject({ answer: "4", correct: false });
    // a LaTeX gold has no first number ZeroEval could compare: 0.25 vs \frac{1}{4} is graded wrong, as upstream
    expect(r.items[2]!.models.beta).toMatchObject({ answer: "0.25", correct: false });
    // tokens: model_input when it is not "n/a", else the chat_history prompt
    expect(r.items[2]!.models.beta!.tokensIn).toBe(countTokens("<s>[INST] Problem number 2 [/INST]"));
    expect(r.items[2]!.models.alpha!.tokensIn).toBe(countTokens("## Problem\n\nProblem number 2: compute it.\n\nAnswer in JSON."));
    expect(r.items[0]!.models.alpha!.tokensOut).toBe(countTokens('{"answer": "1/2"}'));
    expect(r.models.map((m) => [m.model, m.correct, m.noAnswer])).toEqual([
      ["alpha", 2, 1],
      ["beta", 1, 0],
    ]);
    const sub = importZeroEval({ files: zeroEvalFiles([folder]), models: ["beta"], type: "math", tokenizer: "o200k_base" });
    expect(Object.keys(sub.items[0]!.models)).toEqual(["beta"]);
    expect(sub.items.map((it) => it.id)).toEqual(["2", "0", "1"]);
    expect(sub.items[0]!.type).toBe("math");
    expect(sub.items[0]!.models.beta!.tokensIn).toBe(countTokens("<s>[INST] Problem number 2 [/INST]", "o200k_base"));
  });

  it("writes JSONL or gzip atomically, and the table loads either", () => {
    const r = importZeroEval({ files: zeroEvalFiles([folder]) });
    for (const name of ["m.jsonl", "m.jsonl.gz"]) {
      const f = path.join(dir, name);
      writeRecordedJsonl(f, r.items);
      expect(fs.readdirSync(dir).filter((x) => x.includes(".tmp-"))).toEqual([]);
      const t = loadRecordedTable({ files: [f] });
      expect(t.models).toEqual(["alpha", "beta"]);
      expect(t.types).toEqual(["math-l5"]);
      expect(t.items[2]!.models.alpha!.answer).toBeNull();
    }
    expect(zlib.gunzipSync(fs.readFileSync(path.join(dir, "m.jsonl.gz"))).toString()).toBe(
      fs.readFileSync(path.join(dir, "m.jsonl"), "utf8"),
    );
  });
});

describe("bad ZeroEval files fail naming the file and the item", () => {
  const dir = tmpDir("zeroeval-bad");
  const ok = writeResult(path.join(dir, "ok", "good.json"), [mathItem(0, '{"answer": "1"}'), mathItem(1, '{"answer": "2"}')]);
  const err = (files: string[]): InputError => {
    try {
      importZeroEval({ files });
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      return e as InputError;
    }
    throw new Error("no error");
  };
  const bad = (name: string, content: string | Array<Record<string, unknown>>): string => {
    const f = path.join(dir, "bad", name);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, typeof content === "string" ? content : JSON.stringify(content));
    return f;
  };

  it.each([
    ["malformed JSON", "broken.json", '[{"id": 0,', /broken\.json: not valid JSON/],
    ["not a list", "object.json", '{"id": 0}', /object\.json: expected a JSON list of items .*got object/],
    [
      "a reply that is not a string",
      "reply.json",
      [mathItem(0, '{"answer": "1"}'), mathItem(1, 42)],
      /reply\.json: item "1" \(\[1\]\): field "output" must be a list whose first element is the reply \(a string\); got a list whose first element is number/,
    ],
    [
      "a duplicate id",
      "dup.json",
      [mathItem(0, "a"), mathItem(1, "b"), mathItem(1, "c")],
      /dup\.json: item "1" \(\[2\]\): duplicate id \(also item \[1\]\)/,
    ],
    [
      "no question",
      "noq.json",
      [mathItem(0, "a"), { ...mathItem(1, "b"), problem: undefined }],
      /noq\.json: item "1" \(\[1\]\): no question/,
    ],
    ["no id", "noid.json", [{ ...mathItem(0, "a"), id: undefined }], /noid\.json: item \[0\]: field "id"/],
    ["an item missing from one model's file", "short.json", [mathItem(0, "a")], /short\.json: no item "1" \(.*good\.json has it/],
    [
      "an item the first model lacks",
      "extra.json",
      [mathItem(0, "a"), mathItem(1, "b"), mathItem(5, "c")],
      /extra\.json: item "5" \(\[2\]\): not an item of .*good\.json/,
    ],
    [
      "a different gold",
      "gold.json",
      [mathItem(0, "a"), { ...mathItem(1, "b"), answer: "# 9" }],
      /gold\.json: item "1" \(\[1\]\): gold answer "9" differs from "3"/,
    ],
  ] as Array<[string, string, string | Array<Record<string, unknown>>, RegExp]>)("%s", (_what, name, content, message) => {
    const e = err([ok, bad(name, content)]);
    expect(e.message).toMatch(message);
    expect(e.file).toContain(name);
  });

  it("an unknown --models name and a missing path are clear errors", () => {
    expect(() => importZeroEval({ files: [ok], models: ["nope"] })).toThrow(/--models: no result file for "nope" \(files of: good\)/);
    expect(() => zeroEvalFiles([path.join(dir, "absent")])).toThrow(/absent: cannot read ZeroEval results \(ENOENT\)/);
    fs.mkdirSync(path.join(dir, "empty"), { recursive: true });
    expect(() => zeroEvalFiles([path.join(dir, "empty")])).toThrow(/empty: no ZeroEval result files/);
  });
});

describe("gzip recorded tables", () => {
  const dir = tmpDir("zeroeval-gz");
  const line = (id: number, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ id, prompt: `p${id}`, answer: "1", models: { m: { text: "1", correct: true, ...extra } } });

  it("errors carry the line numbers of the unpacked file", () => {
    const f = path.join(dir, "bad.jsonl.gz");
    fs.writeFileSync(f, zlib.gzipSync([line(1), line(2), "{not json", line(4)].join("\n")));
    expect(() => loadRecordedTable({ files: [f] })).toThrow(
      new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:3: malformed JSON line`),
    );
    const g = path.join(dir, "field.jsonl.gz");
    fs.writeFileSync(g, zlib.gzipSync([line(1), "", line(3, { answer: 5 })].join("\n")));
    expect(() => loadRecordedTable({ files: [g] })).toThrow(/field\.jsonl\.gz:3: models\.m\.answer: /);
  });

  it("a file that is not gzip is named; a .csv.gz loads as CSV; the task type drops both extensions", () => {
    const f = path.join(dir, "plain.jsonl.gz");
    fs.writeFileSync(f, line(1));
    expect(() => loadRecordedTable({ files: [f] })).toThrow(/plain\.jsonl\.gz: not a readable gzip file/);
    const c = path.join(dir, "routed.csv.gz");
    fs.writeFileSync(c, zlib.gzipSync("prompt,m\nwhat?,True\nwho?,False\n"));
    const t = loadRecordedTable({ files: [c] });
    expect(t.items.map((it) => it.models.m!.correct)).toEqual([true, false]);
    expect(t.types).toEqual(["routed"]);
  });
});

describe("price tables (llm.prices)", () => {
  const dir = tmpDir("zeroeval-prices");
  const data = path.join(dir, "data", "t.jsonl");
  fs.mkdirSync(path.dirname(data), { recursive: true });
  fs.writeFileSync(
    data,
    [1, 2, 3]
      .map((i) =>
        JSON.stringify({
          id: String(i),
          prompt: `q${i}`,
          answer: "1",
          models: {
            cheap: { text: "1", answer: "1", correct: true, tokensIn: 100, tokensOut: 50 },
            dear: { text: "2", answer: "2", correct: false, tokensIn: 100, tokensOut: 10 },
          },
        }),
      )
      .join("\n"),
  );
  const config = (prices: string, agents = "[{kind: recorded, model: cheap}, {kind: recorded, model: dear}, terminator]") => {
    const f = path.join(dir, "configs", `c-${Math.random().toString(36).slice(2)}.yaml`);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(
      f,
      `name: p\nagents: ${agents}\ntasks: {source: recorded, file: ../data/t.jsonl}\nllm: {prices: ${prices}}\nenv: {maxSteps: 3}\n`,
    );
    return f;
  };
  const priceFile = (name: string, text: string) => {
    const f = path.join(dir, "data", name);
    fs.writeFileSync(f, text);
    return f;
  };

  it("prices come from the file (relative to the config); changing one changes the cost, not the data", () => {
    priceFile("p1.yaml", "cheap: {inputPricePerM: 1, outputPricePerM: 2}\ndear: {inputPricePerM: 10, outputPricePerM: 30}\n");
    priceFile("p2.yaml", "cheap: {inputPricePerM: 1, outputPricePerM: 2}\ndear: {inputPricePerM: 20, outputPricePerM: 30}\n");
    const c1 = loadConfig(config("../data/p1.yaml"));
    const c2 = loadConfig(config("../data/p2.yaml"));
    expect(c1.llm!.prices).toBe(path.join(dir, "data", "p1.yaml"));
    const items = [{ id: "1" }];
    const a1 = recordedAgents(c1);
    const a2 = recordedAgents(c2);
    expect(a1.get("cheap")!.meanCost(items)).toBeCloseTo((100 * 1 + 50 * 2) / 1e6, 15);
    expect(a1.get("dear")!.meanCost(items)).toBeCloseTo((100 * 10 + 10 * 30) / 1e6, 15);
    expect(a2.get("dear")!.meanCost(items)).toBeCloseTo((100 * 20 + 10 * 30) / 1e6, 15);
    expect(a2.get("cheap")!.meanCost(items)).toBe(a1.get("cheap")!.meanCost(items));
    expect(a2.get("dear")!.outputFor("1")!.usage).toEqual(a1.get("dear")!.outputFor("1")!.usage);
    // a price set in llm.models wins over the table's
    const over = loadConfig(config("../data/p1.yaml"), { sets: ["llm.models.dear.inputPricePerM=0"] });
    expect(recordedAgents(over).get("dear")!.meanCost(items)).toBeCloseTo((10 * 30) / 1e6, 15);
  });

  it("a model of the pool without a price is an error naming the model and the price file", () => {
    const f = priceFile("partial.yaml", "cheap: {inputPricePerM: 1, outputPricePerM: 2}\n");
    expect(() => recordedAgents(loadConfig(config("../data/partial.yaml")))).toThrow(
      new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: no price for model "dear" \\(agent "dear"; llm.prices\\)`),
    );
    // model "*" expands at load time: the same error
    expect(() => loadConfig(config("../data/partial.yaml", '[{kind: recorded, model: "*"}, terminator]'))).toThrow(
      /partial\.yaml: no price for model "dear"/,
    );
  });

  it("a malformed price table names the file and the model; a missing one names llm.prices", () => {
    priceFile("bad.yaml", "cheap: {inputPricePerM: -1, outputPricePerM: 2}\n");
    expect(() => loadConfig(config("../data/bad.yaml"))).toThrow(/bad\.yaml: cheap\.inputPricePerM: /);
    priceFile("typo.yaml", "cheap: {inputPrice: 1, outputPricePerM: 2}\n");
    expect(() => loadConfig(config("../data/typo.yaml"))).toThrow(/typo\.yaml: cheap: .*inputPrice/);
    expect(() => loadConfig(config("../data/none.yaml"))).toThrow(/llm\.prices: "\.\.\/data\/none\.yaml" not found/);
  });

  it("the shipped prices.yaml prices 14 of the 17 shipped models", () => {
    const f = path.join(dir, "configs", "shipped.yaml");
    fs.writeFileSync(
      f,
      `name: s\nagents: [{kind: recorded, model: gpt-4o-mini-2024-07-18}, {kind: recorded, model: claude-3-5-sonnet-20241022}, terminator]\n` +
        `tasks: {source: recorded, file: ${path.join(shipped, "gsm8k-zeroeval.jsonl.gz")}}\nllm: {prices: ${path.join(shipped, "prices.yaml")}}\nenv: {maxSteps: 3}\n`,
    );
    const c = loadConfig(f);
    const a = recordedAgents(c);
    const t = loadRecordedTable({ files: [path.join(shipped, "gsm8k-zeroeval.jsonl.gz")] });
    const mini = a.get("gpt-4o-mini-2024-07-18")!;
    const it0 = t.items[0]!.models["gpt-4o-mini-2024-07-18"]!;
    expect(mini.outputFor(t.items[0]!.id)!.cost).toBeCloseTo((it0.tokensIn! * 0.15 + it0.tokensOut! * 0.6) / 1e6, 15);
    expect(Object.keys(c.llm!.models)).toHaveLength(14);
  });
});

describe("maestro import zeroeval (the CLI bundle)", () => {
  it("imports, prints the per-model table, writes gzip atomically; a failed import keeps the old file", { timeout: 120_000 }, () => {
    const dir = tmpDir("zeroeval-cli");
    const src = path.join(dir, "gsm");
    writeResult(path.join(src, "alpha.json"), [mathItem(0, '{"answer": "1/2"}'), mathItem(1, '{"answer": 3}')]);
    writeResult(path.join(src, "beta.json"), [mathItem(0, "no"), mathItem(1, '{"answer": "3"}')]);
    const out = path.join(dir, "out", "x.jsonl.gz");
    const r = runCli(["import", "zeroeval", src, "--out", out, "--models", "beta,alpha"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/beta\s+2\s+50\.00\s+50\.00/);
    expect(r.stdout).toMatch(/alpha\s+2\s+100\.00\s+0\.00/);
    expect(r.stdout).toContain(`wrote 2 items × 2 models to ${out}`);
    const before = fs.readFileSync(out);
    expect(loadRecordedTable({ files: [out] }).models).toEqual(["beta", "alpha"]);

    writeResult(path.join(src, "gamma.json"), [mathItem(0, '{"answer": "1"}')]);
    const bad = runCli(["import", "zeroeval", src, "--out", out]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/gamma\.json: no item "1"/);
    expect(fs.readFileSync(out).equals(before)).toBe(true);
    expect(fs.readdirSync(path.dirname(out))).toEqual(["x.jsonl.gz"]);
  });
});
