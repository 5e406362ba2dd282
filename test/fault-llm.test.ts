import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LlmClient } from "../src/llm/client.js";
import type { ChatMessage, ModelSettings, ProviderName } from "../src/llm/types.js";
import { startFaultServer, type FaultServer } from "./fault-server.js";

// Issue 12 items 1 and 2: LLM calls never hang a run. Each test bounds its own time (the vitest
// timeout): on a build without the fix they hang for 300 s (body) or an hour (Retry-After).

let server: FaultServer;
const dirs: string[] = [];
beforeAll(async () => {
  server = await startFaultServer("ok");
});
afterAll(async () => {
  await server.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const messages: ChatMessage[] = [
  { role: "system", content: "Role: solver." },
  { role: "user", content: "What is 6 * 7?" },
];

function client(provider: ProviderName, over: Partial<ModelSettings>): LlmClient {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-fault-"));
  dirs.push(dir);
  const m: ModelSettings = {
    ref: "m",
    provider,
    model: "fault",
    baseURL: provider === "openai" ? `${server.url}/v1` : server.url,
    temperature: 0.7,
    maxTokens: 64,
    timeoutMs: 5000,
    maxRetries: 0,
    maxRetryWaitMs: 60_000,
    inputPricePerM: 1,
    outputPricePerM: 2,
    paramsB: 1,
    ...over,
  };
  return new LlmClient({ models: { m }, maxConcurrency: 4, cost: { mode: "price", computeScale: 1e-12 }, cache: { mode: "off", dir }, sendSeed: false });
}

describe.each(["openai", "anthropic"] as const)("%s provider against a faulty server", (provider) => {
  it("llm.timeoutMs bounds a call whose server sends headers and half a body, then stalls", { timeout: 15_000 }, async () => {
    server.mode = "stall-body";
    const before = server.total();
    const r = await client(provider, { timeoutMs: 400, maxRetries: 1 }).chat("m", messages, 0, 0);
    expect(r.error).toMatch(/timed out|timeout/i);
    expect(r.content).toBe("");
    // the stalled attempt counted as a timed-out attempt and was retried once (maxRetries 1)
    expect(server.total() - before).toBe(2);
  });

  it("a 429 asking to retry after an hour is an error turn at once, naming llm.maxRetryWaitMs", { timeout: 15_000 }, async () => {
    server.mode = "retry-after";
    server.retryAfter = "3600";
    const before = server.total();
    const c = client(provider, { maxRetries: 2, maxRetryWaitMs: 2000 });
    const r = await c.chat("m", messages, 0, 0);
    expect(r.error).toContain("429");
    expect(r.error).toContain("llm.maxRetryWaitMs");
    expect(server.total() - before).toBe(1);
    expect(c.stats.errors).toBe(1);
  });

  it("a Retry-After within llm.maxRetryWaitMs is honoured and retried", { timeout: 15_000 }, async () => {
    server.mode = "retry-after";
    server.retryAfter = "0.05";
    const before = server.total();
    const r = await client(provider, { maxRetries: 2, maxRetryWaitMs: 2000 }).chat("m", messages, 0, 0);
    expect(r.error).toContain("429");
    expect(server.total() - before).toBe(3);
  });

  it("a healthy reply still comes through the bounded fetch", { timeout: 15_000 }, async () => {
    server.mode = "ok";
    const r = await client(provider, {}).chat("m", messages, 0, 0);
    expect(r.error).toBeUndefined();
    expect(r.content).toContain("ANSWER: 42");
    expect(r.usage).toEqual({ inputTokens: 10, outputTokens: 5 });
  });
});
