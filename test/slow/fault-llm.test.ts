import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { validateConfig } from "../../src/config/index.js";
import { InputError } from "../../src/core/errors.js";
import { ResponseCache } from "../../src/llm/cache.js";
import { LlmClient } from "../../src/llm/client.js";
import { buildLlm } from "../../src/run/build.js";
import { listCheckpoints } from "../../src/run/checkpoint.js";
import { readMetrics } from "../../src/run/metrics.js";
import { LlmUnavailableError, train } from "../../src/run/train.js";
import { stringify } from "yaml";
import { runCliAsync } from "../kill-helpers.js";
import type { ChatMessage, ModelSettings, ProviderName } from "../../src/llm/types.js";
import { testModel } from "../helpers.js";
import { startFaultServer, type FaultServer } from "./fault-server.js";

// LLM calls never hang a run. Each test bounds its own time (the vitest
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
  const m = testModel({
    provider,
    model: "fault",
    baseURL: provider === "openai" ? `${server.url}/v1` : server.url,
    maxTokens: 64,
    ...over,
  });
  return new LlmClient({
    models: { m },
    maxConcurrency: 4,
    cost: { mode: "price", computeScale: 1e-12 },
    cache: { mode: "off", dir },
    sendSeed: false,
  });
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

describe("an LLM response cache that cannot be written", () => {
  function cfg(cacheDir: string, runs: string) {
    return validateConfig(
      {
        name: "cache-fault",
        seed: 1,
        agents: [{ name: "solver", kind: "llm", prompt: "Role: solver.", model: "m" }, "terminator"],
        tasks: { source: "arithmetic", train: 4, eval: 2 },
        llm: {
          baseURL: `${server.url}/v1`,
          models: { m: { model: "fault", inputPricePerM: 1, outputPricePerM: 2 } },
          cache: { dir: cacheDir },
        },
        env: { maxSteps: 2 },
        train: { updates: 1, episodesPerUpdate: 2 },
        log: { plot: false },
      },
      path.join(runs, "c.yaml"),
      runs,
    );
  }

  it("is reported before the run starts, naming llm.cache.dir, and nothing is written", { timeout: 30_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-cachefile-"));
    dirs.push(dir);
    const file = path.join(dir, "not-a-folder");
    fs.writeFileSync(file, "x");
    expect(() => buildLlm(cfg(file, dir))).toThrow(InputError);
    expect(() => buildLlm(cfg(file, dir))).toThrow(
      /llm\.cache\.dir: .*not-a-folder: cannot write the LLM response cache there \(a file is in the way/,
    );
    const runDir = path.join(dir, "run");
    await expect(train({ config: cfg(file, dir), runDir })).rejects.toThrow(/llm\.cache\.dir/);
    expect(fs.existsSync(runDir)).toBe(false);
  });

  it("a store that fails mid-run keeps the paid reply and its cost, and warns once", { timeout: 15_000 }, async () => {
    server.mode = "ok";
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-cachegone-"));
    dirs.push(dir);
    const cacheDir = path.join(dir, "cache");
    const warnings: string[] = [];
    const m: ModelSettings = {
      ref: "m",
      provider: "openai",
      model: "fault",
      baseURL: `${server.url}/v1`,
      temperature: 0.7,
      maxTokens: 64,
      timeoutMs: 5000,
      maxRetries: 0,
      maxRetryWaitMs: 60_000,
      inputPricePerM: 1,
      outputPricePerM: 2,
      paramsB: 1,
    };
    const c = new LlmClient({
      models: { m },
      maxConcurrency: 2,
      cost: { mode: "price", computeScale: 1e-12 },
      cache: { mode: "read-write", dir: cacheDir },
      sendSeed: false,
      onWarning: (l) => warnings.push(l),
    });
    c.cache.check();
    // the disk goes away under the run: the cache folder is replaced by a file
    fs.rmSync(cacheDir, { recursive: true, force: true });
    fs.writeFileSync(cacheDir, "in the way");
    const a = await c.chat("m", messages, 0, 0);
    const b = await c.chat("m", messages, 1, 0);
    for (const r of [a, b]) {
      expect(r.error).toBeUndefined();
      expect(r.content).toContain("ANSWER: 42");
      expect(r.cost).toBeCloseTo((10 * 1 + 5 * 2) / 1e6, 12);
    }
    expect(c.stats.errors).toBe(0);
    expect(c.stats.cost).toBeCloseTo(2 * 20e-6, 12);
    expect(c.cache.writeErrors).toBe(2);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("llm.cache.dir");
    expect(warnings[0]).toContain("replies are used but not cached");
  });

  it("a full disk (ENOSPC injected at the fs layer) while storing keeps the reply", { timeout: 15_000 }, async () => {
    server.mode = "ok";
    const c = client("openai", {});
    const cache = new ResponseCache(fs.mkdtempSync(path.join(os.tmpdir(), "maestro-cachefull-")), "read-write", () => {});
    dirs.push(cache.dir);
    (c as unknown as { cache: ResponseCache }).cache = cache;
    const spy = vi.spyOn(fs, "writeFileSync").mockImplementation(() => {
      throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    });
    try {
      const r = await c.chat("m", messages, 0, 0);
      expect(r.error).toBeUndefined();
      expect(r.cost).toBeGreaterThan(0);
      expect(cache.writeErrors).toBe(1);
    } finally {
      spy.mockRestore();
    }
  });
});

describe("a dead LLM endpoint stops the run", () => {
  const llmRun = (runs: string, over: Record<string, unknown> = {}, updates = 3) =>
    validateConfig(
      {
        name: "dead-llm",
        seed: 3,
        agents: [
          { name: "solver", kind: "llm", prompt: "Role: solver.", model: "m" },
          { name: "checker", kind: "llm", prompt: "Role: checker.", model: "m" },
          "terminator",
        ],
        tasks: { source: "arithmetic", train: 8, eval: 2 },
        llm: {
          baseURL: `${server.url}/v1`,
          maxRetries: 0,
          models: { m: { model: "fault", inputPricePerM: 1, outputPricePerM: 2 } },
          cache: { mode: "off" },
          ...over,
        },
        env: { maxSteps: 3 },
        train: { updates, episodesPerUpdate: 8, checkpointEvery: 10 },
        log: { plot: false },
      },
      path.join(runs, "c.yaml"),
      runs,
    );
  const rowsOf = (dir: string) => readMetrics(path.join(dir, "metrics.csv")).rows;

  it(
    "every call of the first update failing stops before any training; the folder resumes once the server is back",
    { timeout: 60_000 },
    async () => {
      const runs = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-dead-"));
      dirs.push(runs);
      const runDir = path.join(runs, "run");
      server.mode = "down";
      const err = (await train({ config: llmRun(runs), runDir }).catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(LlmUnavailableError);
      expect(err.message).toMatch(/: (\d+) of \1 LLM calls failed in update 1 /);
      expect(err.message).toContain("every call of the first update failed");
      expect(err.message).toContain("503");
      expect(err.message).toContain(`maestro train --resume ${runDir}`);
      const s = JSON.parse(fs.readFileSync(path.join(runDir, "summary.json"), "utf8")) as { status: string; updates: number };
      expect(s.status).toBe("failed");
      expect(rowsOf(runDir)).toHaveLength(0);
      server.mode = "ok";
      const r = await train({ resumeDir: runDir });
      expect(r.status).toBe("completed");
      expect(rowsOf(runDir).map((x) => [x.update, x.llm_errors])).toEqual([
        [1, 0],
        [2, 0],
        [3, 0],
      ]);
    },
  );

  it(
    "an update whose every call failed stops the run at once, before it is trained on, whatever llm.errorPatience",
    { timeout: 60_000 },
    async () => {
      const runs = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-dead-"));
      dirs.push(runs);
      const runDir = path.join(runs, "run");
      server.mode = "ok";
      const config = llmRun(runs, { maxErrorRate: 0.5, errorPatience: 3 }, 5);
      const err = (await train({ config, runDir, onUpdate: (row) => void (row.update === 1 && (server.mode = "down")) }).catch(
        (e: unknown) => e,
      )) as Error;
      expect(err).toBeInstanceOf(LlmUnavailableError);
      expect(err.message).toMatch(/: (\d+) of \1 LLM calls failed in update 2 .*every call of the update failed/);
      // update 1 was trained and checkpointed; update 2 (all error turns) was not trained on
      expect(rowsOf(runDir).map((x) => x.update)).toEqual([1]);
      expect(listCheckpoints(runDir).map((c) => c.update)).toEqual([1]);
      expect(JSON.parse(fs.readFileSync(path.join(runDir, "summary.json"), "utf8")).status).toBe("failed");
      server.mode = "ok";
      expect((await train({ resumeDir: runDir })).status).toBe("completed");
      expect(rowsOf(runDir).map((x) => x.update)).toEqual([1, 2, 3, 4, 5]);
    },
  );

  it(
    "an error rate above llm.maxErrorRate for llm.errorPatience updates stops before training on the last of them",
    { timeout: 60_000 },
    async () => {
      const runs = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-dead-"));
      dirs.push(runs);
      const runDir = path.join(runs, "run");
      server.mode = "ok";
      const config = llmRun(runs, { maxErrorRate: 0.5, errorPatience: 2 }, 5);
      // two calls of every three fail: above the rate, but never all of an update's calls
      const err = (await train({ config, runDir, onUpdate: (row) => void (row.update === 1 && (server.mode = "flaky")) }).catch(
        (e: unknown) => e,
      )) as Error;
      expect(err).toBeInstanceOf(LlmUnavailableError);
      expect(err.message).toContain("failed in update 3");
      expect(err.message).toContain("llm.maxErrorRate = 0.5 for 2 update(s) in a row");
      // update 2 (first bad one) was trained, update 3 was not; the state after update 2 is saved
      expect(rowsOf(runDir).map((x) => x.update)).toEqual([1, 2]);
      expect(listCheckpoints(runDir).map((c) => c.update)).toEqual([2]);
      server.mode = "ok";
      expect((await train({ resumeDir: runDir })).status).toBe("completed");
      expect(rowsOf(runDir).map((x) => x.update)).toEqual([1, 2, 3, 4, 5]);
    },
  );

  it("maestro train exits non-zero with the message; llm.maxErrorRate: 1 never stops", { timeout: 60_000 }, async () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-dead-"));
    dirs.push(runs);
    server.mode = "down";
    const file = path.join(runs, "dead.yaml");
    // a resolved config holds algo.reinforce.lr beside algo.lr; a config file sets one of them (the other is shadowed)
    const written = JSON.parse(JSON.stringify(llmRun(runs))) as { algo: { reinforce?: { lr?: unknown } } };
    delete written.algo.reinforce?.lr;
    fs.writeFileSync(file, stringify(written));
    const r = await runCliAsync(["train", file, "--run-dir", path.join(runs, "cli"), "--quiet"], { ms: 60_000 });
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain("every call of the first update failed");
    const never = await train({ config: llmRun(runs, { maxErrorRate: 1 }), runDir: path.join(runs, "never") });
    expect(never.status).toBe("completed");
    expect(rowsOf(path.join(runs, "never")).every((x) => x.llm_errors === x.llm_calls)).toBe(true);
  });
});
