import fs from "node:fs";
import path from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { goldJudge, RecordedJudgedAgent } from "../src/agents/judged.js";
import type { Agent } from "../src/agents/agent.js";
import { validateConfig } from "../src/config/load.js";
import { recordedJudges, recordedPool } from "../src/config/recorded.js";
import { Rng } from "../src/core/rng.js";
import type { AgentOutput, Task } from "../src/core/types.js";
import { loadRecordedTable } from "../src/tasks/recorded.js";
import { startReplayServer, type ReplayServer } from "../src/llm/replay-server.js";
import { llmMetricColumns } from "../src/run/columns.js";
import { train } from "../src/run/train.js";
import { removeTmpDirs, tmpDir } from "./helpers.js";
import { replayModels, writeReplayTable } from "./replay-helpers.js";

/**
 * The same orchestration problem two ways: `kind: recorded` agents reading the table, and `kind: llm`
 * agents (one per model, same prices and answer form) asking the replay server for the same table over
 * the OpenAI-compatible API. Training must not tell them apart.
 */

const dir = tmpDir("replay-eq");
const file = writeReplayTable(path.join(dir, "answers.jsonl"), 12);
const names = { small: "acme/small-1", medium: "acme/medium-2", large: "acme/large-3" } as const;

let server: ReplayServer;
beforeAll(async () => {
  server = await startReplayServer({ files: [file], port: 0, promptOverheadTokens: 25 });
});
afterAll(async () => {
  await server.close();
  removeTmpDirs();
});

function raw(kind: "recorded" | "llm", shape: "cascade" | "free", algo: "ppo" | "reinforce"): Record<string, unknown> {
  const agents =
    kind === "recorded"
      ? Object.entries(names).map(([name, model]) => ({ kind: "recorded", name, model, extract: { mode: "answer-line" } }))
      : Object.keys(names).map((name) => ({
          kind: "llm",
          name,
          model: name,
          prompt: `You are ${name}.`,
          extract: { mode: "answer-line" },
          transcript: { lastTurns: 0 },
        }));
  return {
    name: `eq-${kind}`,
    seed: 5,
    agents: [...agents, "terminator"],
    tasks: { source: "recorded", file, evaluator: "numeric", promptOverheadTokens: 25, split: { train: 0.5, val: 0, test: 0.5 } },
    llm: {
      baseURL: `${server.url}/v1`,
      maxConcurrency: 4,
      cache: { mode: "off" },
      models: Object.fromEntries(Object.entries(names).map(([k, model]) => [k, { model, ...replayModels[model] }])),
    },
    env: { maxSteps: 4, shape },
    encoder: { name: "answers" },
    algo: algo === "ppo" ? { name: "ppo", lr: 0.01, epochs: 2, minibatches: 2 } : { name: "reinforce", lr: 0.05 },
    train: { updates: 4, episodesPerUpdate: 24, checkpointEvery: 4 },
    log: { plot: false, episodeSample: 0 },
  };
}

function metrics(runDir: string): Array<Record<string, string>> {
  return parseCsv(fs.readFileSync(path.join(runDir, "metrics.csv"), "utf8"), { columns: true }) as Array<Record<string, string>>;
}

/** Columns only a run with LLM agents has or fills (its client's counters), and the timing column. */
const notCompared = new Set(["wall_s", ...llmMetricColumns]);

describe("kind: llm agents on the replay server train exactly like kind: recorded agents", () => {
  for (const [shape, algo] of [
    ["cascade", "ppo"],
    ["free", "reinforce"],
  ] as const) {
    it(`${shape} shape, ${algo}: metrics.csv equal apart from wall_s and the LLM counters`, async () => {
      const rows: Record<string, Array<Record<string, string>>> = {};
      for (const kind of ["recorded", "llm"] as const) {
        const config = validateConfig(raw(kind, shape, algo), path.join(dir, `${kind}.yaml`), dir);
        const runDir = path.join(dir, `${kind}-${shape}`);
        await train({ config, runDir });
        rows[kind] = metrics(runDir);
      }
      const rec = rows.recorded!;
      const llm = rows.llm!;
      expect(llm).toHaveLength(4);
      // the llm run really went over the API: every episode called at least one model, none failed
      expect(llm.every((r) => Number(r.llm_calls) >= 24 && r.llm_errors === "0")).toBe(true);
      const strip = (r: Record<string, string>) => Object.fromEntries(Object.entries(r).filter(([k]) => !notCompared.has(k)));
      expect(llm.map(strip)).toEqual(rec.map(strip));
      // a non-trivial comparison: some episodes succeed and cost varies across updates
      expect(rec.some((r) => Number(r.success_rate) > 0)).toBe(true);
      expect(Number(rec[0]!.cost_mean)).toBeGreaterThan(0);
    }, 120_000);
  }
});

describe("how a live reply on a recorded task is judged", () => {
  const config = () => validateConfig(raw("llm", "free", "reinforce"), path.join(dir, "llm.yaml"), dir);
  const table = loadRecordedTable({ files: [file] });
  // q3: the large model's recorded flag says wrong although its text has the gold answer
  const q3 = table.byId.get("q3")!;
  const task: Task = { id: q3.id, prompt: q3.prompt, answer: q3.answer! };
  const replying = (content: string, answer?: string, error?: string): Agent => ({
    name: "large",
    kind: "llm",
    act: (): AgentOutput => ({
      content,
      cost: 0.5,
      ...(answer !== undefined ? { answer } : {}),
      meta: { model: "acme/large-3", ...(error ? { error } : {}) },
    }),
  });
  const act = (a: Agent) =>
    a.act({ task, history: [], step: 0, maxSteps: 4, costSpent: 0 }, { rng: new Rng(0), episode: 0 }) as Promise<AgentOutput>;

  it("the recorded text is the recorded answer (its flag), another reply is judged against the gold answer, an error turn is left alone", async () => {
    const judge = recordedJudges(config()).get("large")!;
    const text = q3.models["acme/large-3"]!.text!;
    expect(q3.models["acme/large-3"]!.correct).toBe(false);
    expect(text).toContain(`ANSWER: ${q3.answer}`);
    const recordedText = await act(new RecordedJudgedAgent(replying(`\n${text}  `, q3.answer), judge));
    expect(recordedText.meta!.correct).toBe(false);
    expect(recordedText.meta!.features).toBeInstanceOf(Float32Array);
    const live = await act(new RecordedJudgedAgent(replying(`It is ${q3.answer}.\nANSWER: ${q3.answer}`, q3.answer), judge));
    expect(live.meta!.correct).toBe(true);
    const wrong = await act(new RecordedJudgedAgent(replying("ANSWER: 1", "1"), judge));
    expect(wrong.meta!.correct).toBe(false);
    const failed = await act(new RecordedJudgedAgent(replying("[error] 500", undefined, "500 boom"), judge));
    expect(failed.meta).toEqual({ model: "acme/large-3", error: "500 boom" });
  });

  it("an llm agent whose model is no column of the table is judged against the gold answers alone", async () => {
    const c = config();
    const other = { ...c, llm: { ...c.llm!, models: { ...c.llm!.models, large: { ...c.llm!.models.large!, model: "acme/unknown" } } } };
    expect(recordedJudges(other).has("large")).toBe(false);
    const a = new RecordedJudgedAgent(replying(`ANSWER: ${q3.answer}`, q3.answer), goldJudge(recordedPool(other)));
    expect((await act(a)).meta!.correct).toBe(true);
    const off = await act(new RecordedJudgedAgent(replying("ANSWER: 3", "3"), goldJudge(recordedPool(other))));
    expect(off.meta!.correct).toBe(false);
  });
});
