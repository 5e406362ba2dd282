import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../src/core/errors.js";
import { matchItem, startReplayServer, type ReplayServer } from "../src/llm/replay-server.js";
import { countTokens } from "../src/llm/tokens.js";
import { loadRecordedTable, type RecordedItem } from "../src/tasks/recorded.js";
import { chat, writeReplayTable } from "./replay-helpers.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-replay-"));
const file = writeReplayTable(path.join(dir, "answers.jsonl"));
const table = loadRecordedTable({ files: [file] });
const item = (id: string): RecordedItem => table.byId.get(id)!;
/** The user message a kind: llm agent sends (src/agents/llm.ts). */
const llmMessage = (prompt: string, transcript = "(no turns yet)") =>
  `Task:\n${prompt}\n\nTranscript of the team so far:\n${transcript}\n\nEnd your reply with a line \`ANSWER: <answer>\`.`;

let server: ReplayServer;
beforeAll(async () => {
  server = await startReplayServer({ files: [file], port: 0, promptOverheadTokens: 7 });
});
afterAll(async () => {
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("matchItem", () => {
  it("finds the item of a whole prompt, of an llm agent's Task block, and of a prompt inside other text, whitespace-insensitively", () => {
    const q3 = item("q3");
    expect(matchItem(table, q3.prompt)).toEqual({ item: q3 });
    expect(matchItem(table, `  ${q3.prompt.replace(/\n/g, "\n\n  ")}  `)).toEqual({ item: q3 });
    expect(matchItem(table, llmMessage(q3.prompt, "[small]\nsome earlier answer"))).toEqual({ item: q3 });
    expect(matchItem(table, `Please solve this:\n${q3.prompt}\nThink carefully.`)).toEqual({ item: q3 });
  });

  it("a prompt contained in another matching prompt does not count; two unrelated prompts are ambiguous; none is not found", () => {
    const t = loadRecordedTable({
      files: [
        writeJsonl(path.join(dir, "nested.jsonl"), [
          { id: "short", prompt: "What is 2 + 2?", models: { m: { text: "4", correct: true } } },
          { id: "long", prompt: "What is 2 + 2? Answer in words.", models: { m: { text: "four", correct: true } } },
          { id: "other", prompt: "Name a colour.", models: { m: { text: "red", correct: true } } },
        ]),
      ],
    });
    expect(matchItem(t, "Question: What is 2 + 2? Answer in words. Thanks")).toEqual({ item: t.byId.get("long") });
    const amb = matchItem(t, "What is 2 + 2? Then: Name a colour.");
    expect(amb).toMatchObject({ error: "ambiguous_prompt" });
    expect((amb as { message: string }).message).toContain('"short", "other"');
    expect(matchItem(t, "What is 3 + 3?")).toMatchObject({ error: "prompt_not_found" });
  });
});

describe("the replay server", () => {
  it("answers with the model's recorded text (trimmed) and the recorded usage, or counted usage where none is recorded", async () => {
    for (const [id, model] of [
      ["q2", "acme/medium-2"],
      ["q5", "acme/large-3"],
    ] as const) {
      const it0 = item(id);
      const rec = it0.models[model]!;
      const r = await chat(server.url, {
        model,
        messages: [
          { role: "system", content: "You are a solver." },
          { role: "user", content: llmMessage(it0.prompt) },
        ],
      });
      expect(r.status).toBe(200);
      expect(r.body.choices![0]!.message.content).toBe(rec.text!.trim());
      const tin = rec.tokensIn ?? countTokens(it0.prompt) + 7;
      const tout = rec.tokensOut ?? countTokens(rec.text!.trim());
      expect(r.body.usage).toEqual({ prompt_tokens: tin, completion_tokens: tout, total_tokens: tin + tout });
    }
    // q2 records its counts, q5 does not: both rules were exercised
    expect(item("q2").models["acme/medium-2"]!.tokensIn).toBeDefined();
    expect(item("q5").models["acme/large-3"]!.tokensIn).toBeUndefined();
  });

  it("works with the official openai client, streaming included; /v1/models lists the table's models", async () => {
    const client = new OpenAI({ apiKey: "none", baseURL: `${server.url}/v1`, maxRetries: 0 });
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(["acme/small-1", "acme/medium-2", "acme/large-3"]);
    const q1 = item("q1");
    const res = await client.chat.completions.create({ model: "acme/small-1", messages: [{ role: "user", content: q1.prompt }] });
    expect(res.choices[0]!.message.content).toBe(q1.models["acme/small-1"]!.text!.trim());
    const stream = await client.chat.completions.create({
      model: "acme/small-1",
      messages: [{ role: "user", content: q1.prompt }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: unknown;
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? "";
      if (c.usage) usage = c.usage;
    }
    expect(text).toBe(res.choices[0]!.message.content);
    expect(usage).toEqual(res.usage);
  });

  it("an unknown model is a 404 model_not_found, a prompt not in the table a 400; no message names a server path", async () => {
    const q0 = item("q0");
    const unknown = await chat(server.url, { model: "gpt-9", messages: [{ role: "user", content: q0.prompt }] });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ type: "invalid_request_error", code: "model_not_found", param: "model" });
    expect(unknown.body.error!.message).toContain("acme/small-1");
    const notFound = await chat(server.url, {
      model: "acme/large-3",
      messages: [{ role: "user", content: "What is the capital of France?" }],
    });
    expect(notFound.status).toBe(400);
    expect(notFound.body.error).toMatchObject({ type: "invalid_request_error", code: "prompt_not_found" });
    const bad = [
      await chat(server.url, "{not json"),
      await chat(server.url, { messages: [{ role: "user", content: q0.prompt }] }),
      await chat(server.url, { model: "acme/small-1", messages: [] }),
      await chat(server.url, { model: "acme/small-1", messages: [{ role: "system", content: q0.prompt }] }),
    ];
    expect(bad.map((b) => b.status)).toEqual([400, 400, 400, 400]);
    expect(bad.map((b) => b.body.error!.type)).toEqual(Array(4).fill("invalid_request_error"));
    for (const r of [unknown, notFound, ...bad]) {
      expect(r.text).not.toContain(dir);
      expect(r.text).not.toContain("answers.jsonl");
    }
    const r = await fetch(`${server.url}/v1/models/gpt-9`);
    expect(r.status).toBe(404);
  });

  it("a model without recorded text for the item answers 400 no_recorded_text, and start-up warns about it", async () => {
    const f = writeJsonl(path.join(dir, "no-text.jsonl"), [
      { id: "a", prompt: "Say yes.", models: { m: { correct: true }, n: { text: "yes", correct: true, cost: 0.1 } } },
    ]);
    const s = await startReplayServer({ files: [f], port: 0 });
    try {
      expect(s.warnings.join("\n")).toMatch(/model "m": 1 of 1 items have no recorded text/);
      expect(s.warnings.join("\n")).toMatch(/model "n": 1 items record a cost/);
      const r = await chat(s.url, { model: "m", messages: [{ role: "user", content: "Say yes." }] });
      expect(r.status).toBe(400);
      expect(r.body.error!.code).toBe("no_recorded_text");
      expect((await chat(s.url, { model: "n", messages: [{ role: "user", content: "Say yes." }] })).body.choices![0]!.message.content).toBe(
        "yes",
      );
    } finally {
      await s.close();
    }
  });

  it("a malformed replay file is an InputError naming the file and line, before anything listens", async () => {
    const f = path.join(dir, "broken.jsonl");
    fs.writeFileSync(f, `${fs.readFileSync(file, "utf8").split("\n")[0]}\n{"prompt": "x", "models": {"m": {"correct": "yes"}}}\n`);
    const err = await startReplayServer({ files: [f], port: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:2: models\\.m\\.correct`));
    await expect(startReplayServer({ files: [], port: 0 })).rejects.toThrow(/at least one recorded-output file/);
  });
});

function writeJsonl(f: string, rows: unknown[]): string {
  fs.writeFileSync(f, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  return f;
}
