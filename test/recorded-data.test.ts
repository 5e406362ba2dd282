import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/load.js";
import { InputError } from "../src/core/errors.js";
import { loadRecordedTable, splitRecorded } from "../src/tasks/recorded.js";
import { answerFeatures, arithmeticChecks, evalArithmetic } from "../src/tasks/answer-features.js";
import { recordedSplits } from "../src/config/recorded.js";
import { buildTaskSource } from "../src/run/build.js";
import { Rng } from "../src/core/rng.js";
import { removeTmpDirs, repoRoot, runCli, tmpDir } from "./helpers.js";
import { writeThreeModelFile } from "./recorded-helpers.js";

afterAll(removeTmpDirs);

const gsm8k = path.join(repoRoot, "data/routellm/gsm8k/gsm8k_responses.csv");
const gold = path.join(repoRoot, "data/routellm/gsm8k/test.jsonl");
const W = "mistralai/Mixtral-8x7B-Instruct-v0.1";
const S = "gpt-4-1106-preview";

function write(dir: string, name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

/** The InputError a call throws (fails the test if it throws nothing or something else). */
function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error("expected an InputError");
}

describe("recorded outputs: RouteLLM's CSV", () => {
  it("reads the GSM8K file as published: 1,319 items, both models, multi-line answers, the measured accuracies", () => {
    const t = loadRecordedTable({ files: [gsm8k] });
    expect(t.models).toEqual([W, S]);
    expect(t.items).toHaveLength(1319);
    expect(t.items.filter((i) => i.models[W]!.correct).length).toBe(842);
    expect(t.items.filter((i) => i.models[S]!.correct).length).toBe(1130);
    // record 2 starts on line 9 of the file (record 1's answers span lines 2–8)
    expect(t.items[1]!.line).toBe(9);
    expect(t.items[0]!.models[W]!.text).toContain("#### 18");
    expect(t.items[0]!.models[W]!.text!.split("\n").length).toBeGreaterThan(3);
    expect(t.types).toEqual(["gsm8k_responses"]);
  });

  it("joins gold answers on the prompt and extracts them with the pattern", () => {
    const t = loadRecordedTable({ files: [gsm8k], gold: { file: gold, prompt: "question", answer: "answer", pattern: "####\\s*(.+)$" } });
    expect(t.items[0]!.answer).toBe("18");
    expect(t.items.every((i) => i.answer !== undefined)).toBe(true);
    expect(t.warnings).toEqual([]);
  });

  it("reads the optional per-model columns (_response, _tokens_in, _tokens_out, _cost, _score) and id/type columns", () => {
    const d = tmpDir("rec");
    const f = write(
      d,
      "t.csv",
      'id,prompt,type,a,b,a_response,a_cost,b_tokens_in,b_tokens_out,b_score\nx1,"two\nlines",alg,True,False,"hi\nthere",0.5,10,3,0.25\nx2,p2,geo,false,true,,0.25,11,4,\n',
    );
    const t = loadRecordedTable({ files: [f] });
    expect(t.models).toEqual(["a", "b"]);
    const [i1, i2] = t.items;
    expect(i1).toMatchObject({ id: "x1", prompt: "two\nlines", type: "alg", line: 2 });
    expect(i1!.models.a).toEqual({ correct: true, text: "hi\nthere", cost: 0.5 });
    expect(i1!.models.b).toEqual({ correct: false, tokensIn: 10, tokensOut: 3, score: 0.25 });
    expect(i2).toMatchObject({ id: "x2", type: "geo", line: 5 });
    expect(i2!.models.a).toEqual({ correct: false, cost: 0.25 });
  });

  it("rejects a non-boolean flag with file, line and column", () => {
    const d = tmpDir("rec");
    const f = write(d, "bad.csv", 'prompt,m1,m2\n"q1",True,False\n"q2\nstill q2",True,maybe\n');
    const e = inputError(() => loadRecordedTable({ files: [f] }));
    expect(e.message).toContain(`${f}:3`);
    expect(e.message).toContain('column "m2"');
    expect(e.message).toContain("expected True or False");
  });

  it("rejects a row with a missing column (csv-parse's error, with the file and line)", () => {
    const d = tmpDir("rec");
    const f = write(d, "short.csv", "prompt,m1,m2\nq1,True,False\nq2,True\n");
    const e = inputError(() => loadRecordedTable({ files: [f] }));
    expect(e.message).toContain(f);
    expect(e.message).toMatch(/line 3|:3/);
  });

  it("rejects a file without a prompt column, without model columns, and an unknown layout", () => {
    const d = tmpDir("rec");
    expect(inputError(() => loadRecordedTable({ files: [write(d, "np.csv", "question,m1\nq,True\n")] })).message).toContain(
      'no "prompt" column',
    );
    expect(inputError(() => loadRecordedTable({ files: [write(d, "nm.csv", "prompt,id\nq,1\n")] })).message).toContain("no model columns");
    expect(inputError(() => loadRecordedTable({ files: [write(d, "x.tsv", "prompt\tm\n")] })).message).toContain(
      "unknown recorded-output layout",
    );
  });

  it("rejects a model column absent from one of several files, naming the file and the model", () => {
    const d = tmpDir("rec");
    const a = write(d, "a.csv", "prompt,m1,m2\nq1,True,False\n");
    const b = write(d, "b.csv", "prompt,m1\nq2,True\n");
    const e = inputError(() => loadRecordedTable({ files: [a, b] }));
    expect(e.message).toContain(b);
    expect(e.message).toContain('model column "m2" absent');
  });
});

describe("recorded outputs: maestro's JSONL", () => {
  it("reads items, answers, types and per-model fields", () => {
    const d = tmpDir("rec");
    const f = write(
      d,
      "x.jsonl",
      [
        JSON.stringify({
          id: "a",
          prompt: "p1",
          answer: 3,
          type: "t1",
          models: { m: { text: "x", correct: true, tokensIn: 5, tokensOut: 2 }, n: { correct: false, cost: 0.1 } },
        }),
        "",
        JSON.stringify({ prompt: "p2", models: { m: { score: 0.7 }, n: { text: "y" } } }),
      ].join("\n"),
    );
    const t = loadRecordedTable({ files: [f] });
    expect(t.models).toEqual(["m", "n"]);
    expect(t.items[0]).toMatchObject({ id: "a", answer: "3", type: "t1", line: 1 });
    expect(t.items[1]).toMatchObject({ id: "x:3", type: "x", line: 3 });
    expect(t.items[1]!.models.m).toEqual({ score: 0.7 });
  });

  it("names the file, line and field of a bad line", () => {
    const d = tmpDir("rec");
    const ok = JSON.stringify({ prompt: "p", models: { m: { correct: true } } });
    const cases: Array<[string, RegExp]> = [
      [`${ok}\n{"prompt": "q", "models": {"m": {"correct": "yes"}}}`, /:2: models\.m\.correct/],
      [`${ok}\nnot json`, /:2: malformed JSON line/],
      [`${ok}\n{"models": {"m": {"correct": true}}}`, /:2: prompt/],
      [`${ok}\n{"prompt": "q", "models": {"m": {"correct": true, "price": 1}}}`, /:2: models\.m/],
    ];
    for (const [text, re] of cases) {
      const f = write(d, "bad.jsonl", text);
      expect(inputError(() => loadRecordedTable({ files: [f] })).message).toMatch(re);
    }
  });

  it("rejects an item lacking a model that other items have", () => {
    const d = tmpDir("rec");
    const f = write(
      d,
      "gap.jsonl",
      [
        JSON.stringify({ prompt: "p", models: { m: { correct: true }, n: { correct: true } } }),
        JSON.stringify({ prompt: "q", models: { m: { correct: false } } }),
      ].join("\n"),
    );
    const e = inputError(() => loadRecordedTable({ files: [f] }));
    expect(e.message).toContain(`${f}:2`);
    expect(e.message).toContain('no answer of model "n"');
  });
});

describe("tasks.file: globs and lists", () => {
  it("loads the three MMLU subject files of a glob as one dataset, each file's items typed by the file", () => {
    const c = loadConfig(path.join(repoRoot, "configs/mmlu-router.yaml"));
    const files = c.tasks.source === "recorded" ? c.tasks.file : [];
    expect(files).toHaveLength(3);
    expect((files as string[]).every((f) => path.isAbsolute(f))).toBe(true);
    const t = loadRecordedTable({ files: files as string[] });
    expect(t.items).toHaveLength(144 + 270 + 234);
    expect(t.types).toEqual(["mmlu_college_biology", "mmlu_high_school_mathematics", "mmlu_marketing"]);
  });

  it("takes a list of files and patterns; a pattern that matches nothing is an error before anything is written", () => {
    const d = tmpDir("rec");
    writeThreeModelFile(path.join(d, "data/a.jsonl"), 20, 1);
    writeThreeModelFile(path.join(d, "data/b.jsonl"), 20, 2);
    fs.writeFileSync(
      path.join(d, "c.yaml"),
      "name: t\nagents: [{kind: recorded, model: '*'}, terminator]\ntasks: {source: recorded, file: [data/a.jsonl, 'data/b*.jsonl']}\nenv: {maxSteps: 4, shape: cascade}\ntrain: {updates: 1, episodesPerUpdate: 4}\n",
    );
    // ids repeat across the two generated files: a clear error naming both places
    expect(() => loadConfig(path.join(d, "c.yaml"))).toThrow(/b\.jsonl:1: duplicate item id "g0" \(also .*a\.jsonl:1\)/);
    writeThreeModelFile(path.join(d, "data/b.jsonl"), 20, 2, "h");
    const c = loadConfig(path.join(d, "c.yaml"));
    expect(c.tasks.source === "recorded" && c.tasks.file).toEqual([path.join(d, "data/a.jsonl"), path.join(d, "data/b.jsonl")]);
    expect(recordedSplits(c).train.length + recordedSplits(c).val.length + recordedSplits(c).test.length).toBe(40);
    const r = runCli(["train", path.join(d, "c.yaml"), "--set", "tasks.file=data/none*.jsonl", "--run-dir", path.join(d, "run")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('the pattern "data/none*.jsonl" matches no file (looked for');
    expect(fs.existsSync(path.join(d, "run"))).toBe(false);
  });

  it("a malformed dataset stops `maestro train` with the file and line, and writes no run folder", () => {
    const d = tmpDir("rec");
    const f = write(d, "bad.csv", "prompt,m1,m2\nq1,True,False\nq2,True,nope\n");
    const run = path.join(d, "run");
    const r = runCli(["train", path.join(repoRoot, "configs/gsm8k-router.yaml"), "--set", `tasks.file=${f}`, "--run-dir", run]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${f}:3`);
    expect(r.stderr).toContain('column "m2"');
    expect(fs.existsSync(run)).toBe(false);
  });
});

describe("train / validation / test split", () => {
  it("is deterministic by seed, disjoint, complete and stratified by type", () => {
    const t = loadRecordedTable({
      files: fs
        .readdirSync(path.join(repoRoot, "data/routellm/mmlu-sample"))
        .map((f) => path.join(repoRoot, "data/routellm/mmlu-sample", f)),
    });
    const a = splitRecorded(t.items, { train: 0.6, val: 0.1, test: 0.3 }, 7);
    const b = splitRecorded(t.items, { train: 0.6, val: 0.1, test: 0.3 }, 7);
    const c = splitRecorded(t.items, { train: 0.6, val: 0.1, test: 0.3 }, 8);
    const ids = (xs: { id: string }[]) => xs.map((x) => x.id);
    expect(ids(a.test)).toEqual(ids(b.test));
    expect(ids(a.test)).not.toEqual(ids(c.test));
    const all = [...ids(a.train), ...ids(a.val), ...ids(a.test)];
    expect(new Set(all).size).toBe(t.items.length);
    expect(all).toHaveLength(t.items.length);
    for (const type of t.types) {
      const n = t.items.filter((i) => i.type === type).length;
      expect(a.test.filter((i) => i.type === type).length).toBe(n - Math.round(0.6 * n) - Math.round(0.1 * n));
    }
  });

  it("training never sees a test item: every episode of a run draws from the train split", async () => {
    const d = tmpDir("rec");
    const run = path.join(d, "run");
    const r = runCli([
      "train",
      path.join(repoRoot, "configs/gsm8k-cascade.yaml"),
      "--set",
      "train.updates=3",
      "--set",
      "log.episodeSample=-1",
      "--set",
      "log.plot=false",
      "--run-dir",
      run,
      "--quiet",
    ]);
    expect(r.status, r.stderr).toBe(0);
    const seen = new Set(
      fs
        .readFileSync(path.join(run, "episodes.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => (JSON.parse(l) as { task: string }).task),
    );
    expect(seen.size).toBeGreaterThan(200);
    const c = loadConfig(path.join(repoRoot, "configs/gsm8k-cascade.yaml"));
    const s = recordedSplits(c);
    const train = new Set(s.train.map((i) => i.id));
    for (const id of seen) expect(train.has(id), id).toBe(true);
    for (const i of [...s.test, ...s.val]) expect(seen.has(i.id)).toBe(false);
    // and the training source only ever holds the train split
    const src = buildTaskSource(c, "train");
    expect(src.size).toBe(s.train.length);
    const rng = new Rng(1);
    for (let e = 0; e < 2000; e++) expect(train.has(src.taskFor(e, rng).id)).toBe(true);
  });
});

describe("answer features", () => {
  it("checks arithmetic safely and finds wrong statements", () => {
    expect(evalArithmetic("16 - 3 - 4")).toBe(9);
    expect(evalArithmetic("(2 + 3) * $4")).toBe(20);
    expect(evalArithmetic("2 x 3 ÷ 4")).toBe(1.5);
    expect(evalArithmetic("process.exit(1)")).toBeUndefined();
    expect(evalArithmetic("2 +")).toBeUndefined();
    expect(arithmeticChecks("So 16 - 3 = 13 and <<9*2=18>> then 4 * 125 - 2 = 500.")).toEqual({ checked: 3, wrong: 1 });
    // a chained statement is checked at its end only; a variable before the expression is not checked
    expect(arithmeticChecks("a = 10 + 68 / 2 = 10 + 34 = 44 and x * 3/4 = 9")).toEqual({ checked: 1, wrong: 0 });
  });

  it("describes the final answer's form", () => {
    const ok = answerFeatures("She has 16 - 3 = 13 eggs.\n#### 13", "13");
    expect(ok[0]).toBe(1); // has a final answer
    expect(ok[4]).toBe(0); // integer
    expect(ok[8]).toBe(0); // nothing after it
    expect(ok[10]).toBe(0); // arithmetic right
    const bad = answerFeatures("Approximately 2.5 apples, 2 + 2 = 5.\n#### 2.5\nNote: about 3 apples.", "2.5");
    expect([bad[4], bad[7], bad[8], bad[11]]).toEqual([1, 1, 1, 1]);
    expect(bad[10]).toBeCloseTo(1 / 3, 6); // one wrong statement (of at most 3 counted)
    expect(answerFeatures("no answer here", undefined)[0]).toBe(0);
  });
});
