import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateConfig, type Config } from "../src/config/index.js";
import { loadOrchestrator } from "../src/serve/orchestrate.js";
import { train } from "../src/run/train.js";
import { evaluateRun } from "../src/analysis/evaluate.js";
import { readMetrics } from "../src/run/metrics.js";
import { LlmClient } from "../src/llm/client.js";
import { startSimServer, type SimServer } from "../src/llm/sim-server.js";
import type { ModelSettings } from "../src/llm/types.js";
import { simLlmRawConfig, testModel } from "./helpers.js";

const SECRET = "sk-maestro-test-SECRET-4242";
/** Runs the CLI without blocking this process's event loop (the sim server lives in it). */
function runCli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.resolve("dist/cli.js"), ...args], { env: process.env, encoding: "utf8" }, (err, stdout, stderr) =>
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const tmpdir = () => fs.mkdtempSync(path.join(os.tmpdir(), "maestro-llm-"));
let server: SimServer;

beforeAll(async () => {
  process.env.MAESTRO_TEST_KEY = SECRET;
  server = await startSimServer({
    port: 0,
    config: {
      seed: 5,
      retryAfterMs: 5,
      models: {
        "sim-429": { first429: 2 },
        "sim-500": { rate500: 1 },
        "sim-slow": { latencyMs: 1500 },
        "sim-garbled": { rateMalformed: 1 },
      },
    },
  });
});
afterAll(async () => {
  await server.close();
  delete process.env.MAESTRO_TEST_KEY;
});

function llmConfig(dir: string, sets: string[] = [], coderModel = "fast"): Config {
  return validateConfig(
    simLlmRawConfig({
      name: "llm-test",
      baseURL: `${server.url}/v1`,
      apiKeyEnv: "MAESTRO_TEST_KEY",
      dir,
      coderModel,
      llm: {
        maxRetries: 1,
        models: {
          fast: { model: "sim-fast", inputPricePerM: 0.15, outputPricePerM: 0.6 },
          broken: { model: "sim-500", inputPricePerM: 0.15, outputPricePerM: 0.6 },
        },
      },
    }),
    path.join(dir, "c.yaml"),
    dir,
    { sets },
  );
}

function allFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? allFiles(p) : [p];
  });
}

const chatRequests = () => server.stats.byPath["/v1/chat/completions"] ?? 0;

function model(over: Partial<ModelSettings>): ModelSettings {
  return testModel({ baseURL: `${server.url}/v1`, ...over });
}

function client(m: ModelSettings, dir = tmpdir()): LlmClient {
  return new LlmClient({
    models: { m },
    maxConcurrency: 4,
    cost: { mode: "price", computeScale: 1e-12 },
    cache: { mode: "off", dir },
    sendSeed: true,
  });
}

const problem = [
  { role: "system" as const, content: "Role: coder." },
  { role: "user" as const, content: "Task:\nAva has 10 apples. Then Ava buys 5 more. How many apples does Ava have now?" },
];

describe("LLM-backed training against the simulated server", () => {
  it("trains, writes the run folder without the API key, and a repeated run is served from the cache", async () => {
    const dir = tmpdir();
    const before = chatRequests();
    const s1 = await train({ config: llmConfig(dir), runDir: path.join(dir, "run1") });
    expect(s1.status).toBe("completed");
    const made = chatRequests() - before;
    expect(made).toBeGreaterThan(0);
    expect(s1.llm?.requests).toBe(made);
    for (const f of ["config.yaml", "manifest.json", "metrics.csv", "episodes.jsonl", "summary.json"]) {
      expect(fs.existsSync(path.join(dir, "run1", f))).toBe(true);
    }
    const m1 = readMetrics(path.join(dir, "run1", "metrics.csv"));
    expect(m1.rows).toHaveLength(3);
    expect(m1.columns).toEqual(
      expect.arrayContaining(["llm_calls", "llm_requests", "llm_errors", "cache_hits", "saved_cost", "tokens_in"]),
    );
    expect(m1.rows.reduce((s, r) => s + r.llm_requests!, 0)).toBe(made);
    const eps = fs
      .readFileSync(path.join(dir, "run1", "episodes.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(eps).toHaveLength(12);
    const llmTurns = eps.flatMap((e) => e.turns).filter((t) => t.agent !== "terminator");
    expect(llmTurns.length).toBeGreaterThan(0);
    expect(llmTurns.every((t) => t.tokens_in > 0 && t.tokens_out > 0 && t.cost > 0)).toBe(true);
    expect(fs.readFileSync(path.join(dir, "run1", "config.yaml"), "utf8")).toContain("apiKeyEnv: MAESTRO_TEST_KEY");

    // no file of the run folder (nor the cache) holds the key's value
    for (const f of [...allFiles(path.join(dir, "run1")), ...allFiles(path.join(dir, "cache"))]) {
      expect(fs.readFileSync(f).includes(SECRET), f).toBe(false);
    }

    // same config and seed again: zero provider calls, identical trajectories and rewards
    const mid = chatRequests();
    const s2 = await train({ config: llmConfig(dir), runDir: path.join(dir, "run2") });
    expect(s2.status).toBe("completed");
    expect(chatRequests() - mid).toBe(0);
    expect(s2.llm?.requests).toBe(0);
    const m2 = readMetrics(path.join(dir, "run2", "metrics.csv"));
    const skip = new Set(["wall_s", "llm_requests", "cache_hits", "saved_cost"]);
    m1.rows.forEach((r, i) => {
      for (const c of m1.columns) if (!skip.has(c)) expect(m2.rows[i]![c], c).toBe(r[c]);
      expect(m2.rows[i]!.cache_hits).toBe(r.llm_calls);
      expect(m2.rows[i]!.saved_cost).toBeGreaterThan(0);
    });
    const eps2 = fs
      .readFileSync(path.join(dir, "run2", "episodes.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const replayedTurns = eps2.flatMap((e) => e.turns).filter((t) => t.agent !== "terminator");
    expect(replayedTurns.length).toBeGreaterThan(0);
    expect(replayedTurns.every((t) => t.cached === true)).toBe(true);

    // replay mode with a different seed: the first miss is an error and the run stops
    await expect(train({ config: llmConfig(dir, ["llm.cache.mode=read-only", "seed=2"]), runDir: path.join(dir, "run3") })).rejects.toThrow(
      /cache miss in read-only mode/,
    );
  });

  it("turns a persistent 500 into error turns, counts them, and completes the run", async () => {
    const dir = tmpdir();
    const s = await train({ config: llmConfig(dir, [], "broken"), runDir: path.join(dir, "run") });
    expect(s.status).toBe("completed");
    expect(s.llm!.errors).toBeGreaterThan(0);
    const m = readMetrics(path.join(dir, "run", "metrics.csv"));
    expect(m.rows.reduce((a, r) => a + r.llm_errors!, 0)).toBe(s.llm!.errors);
    const turns = fs
      .readFileSync(path.join(dir, "run", "episodes.jsonl"), "utf8")
      .trim()
      .split("\n")
      .flatMap((l) => JSON.parse(l).turns);
    const errs = turns.filter((t) => t.error !== undefined);
    expect(errs.length).toBe(s.llm!.errors);
    expect(errs.every((t) => t.agent === "coder" && /500/.test(t.error) && t.cost === 0)).toBe(true);
  });

  it("resumes an LLM run exactly and evaluates it on the held-out split", async () => {
    const dir = tmpdir();
    // the cut run stands for one killed after 2 of 4 updates: nothing in it may depend on train.updates
    // (the default entropy decay and final-policy average do), so those are held constant here
    const constant = ["algo.entropyCoefFinal=null", "algo.averagePolicy=0", "train.checkpointEvery=2"];
    const full = path.join(dir, "full");
    await train({ config: llmConfig(dir, ["train.updates=4", ...constant]), runDir: full });
    const cut = path.join(dir, "cut");
    await train({ config: llmConfig(dir, ["train.updates=2", ...constant]), runDir: cut });
    fs.rmSync(path.join(cut, "summary.json"));
    fs.writeFileSync(path.join(cut, "config.yaml"), fs.readFileSync(path.join(full, "config.yaml")));
    await train({ resumeDir: cut });
    const a = readMetrics(path.join(full, "metrics.csv"));
    const b = readMetrics(path.join(cut, "metrics.csv"));
    expect(b.rows).toHaveLength(4);
    const skip = new Set(["wall_s", "llm_requests", "cache_hits", "saved_cost"]);
    a.rows.forEach((r, i) => {
      for (const c of a.columns) if (!skip.has(c)) expect(b.rows[i]![c], c).toBe(r[c]);
    });
    const ev = await evaluateRun(full, { episodes: 10, greedy: true });
    expect(ev.episodes).toBe(10);
    expect(ev.success_rate).toBeGreaterThanOrEqual(0);
    expect(ev.success_rate).toBeLessThanOrEqual(1);
    expect(Number.isInteger(ev.success_rate * 10)).toBe(true); // 10 judged episodes
    expect(Object.values(ev.agentUsage).reduce((x, y) => x + y, 0)).toBeCloseTo(1, 6);
  });

  it("fails before writing anything when the API key variable is missing", async () => {
    const dir = tmpdir();
    const saved = process.env.MAESTRO_TEST_KEY;
    delete process.env.MAESTRO_TEST_KEY;
    try {
      await expect(train({ config: llmConfig(dir), runDir: path.join(dir, "run") })).rejects.toThrow(
        /llm\.models\.fast\.apiKeyEnv: environment variable MAESTRO_TEST_KEY is not set/,
      );
      expect(fs.existsSync(path.join(dir, "run"))).toBe(false);
    } finally {
      process.env.MAESTRO_TEST_KEY = saved;
    }
  });
});

describe("provider faults through the SDKs", () => {
  it("retries 429s and succeeds", async () => {
    const before = { ...server.stats.byStatus };
    const r = await client(model({ model: "sim-429", maxRetries: 3 })).chat("m", problem, 0, 0);
    expect(r.error).toBeUndefined();
    expect(r.content).toMatch(/ANSWER: \d+/);
    expect((server.stats.byStatus[429] ?? 0) - (before[429] ?? 0)).toBe(2);
    expect((server.stats.byStatus[200] ?? 0) - (before[200] ?? 0)).toBe(1);
  });

  it("reports a 500 after the retries as an error result, not an exception", async () => {
    const c = client(model({ model: "sim-500", maxRetries: 1 }));
    const r = await c.chat("m", problem, 0, 0);
    expect(r.error).toMatch(/^500 /);
    expect(r.cost).toBe(0);
    expect(c.stats.errors).toBe(1);
  });

  it("times out a slow request", async () => {
    const r = await client(model({ model: "sim-slow", timeoutMs: 150, maxRetries: 0 })).chat("m", problem, 0, 0);
    expect(r.error).toMatch(/timed out|timeout/i);
  });

  it("reports a malformed body as an error", async () => {
    const r = await client(model({ model: "sim-garbled", maxRetries: 0 })).chat("m", problem, 0, 0);
    expect(r.error).toMatch(/JSON|Unexpected token|parse/i);
    expect(r.content).toBe("");
  });

  it("speaks the Anthropic Messages API through @anthropic-ai/sdk, including retries", async () => {
    const before = server.stats.byPath["/v1/messages"] ?? 0;
    const r = await client(model({ provider: "anthropic", baseURL: server.url, model: "sim-fast" })).chat("m", problem, 0, 0);
    expect(r.error).toBeUndefined();
    expect(r.content).toMatch(/ANSWER: \d+/);
    expect(r.usage.inputTokens).toBeGreaterThan(10);
    expect(r.usage.outputTokens).toBeGreaterThan(5);
    expect(r.cost).toBeCloseTo((r.usage.inputTokens * 1 + r.usage.outputTokens * 2) / 1e6, 12);
    const retried = await client(model({ provider: "anthropic", baseURL: server.url, model: "sim-429", maxRetries: 3 })).chat(
      "m",
      problem,
      0,
      0,
    );
    expect(retried.error).toBeUndefined();
    expect((server.stats.byPath["/v1/messages"] ?? 0) - before).toBe(4);
  });

  it("answers deterministically for the same request and seed", async () => {
    const c = client(model({}));
    const a = await c.chat("m", problem, 7, 0);
    const b = await c.chat("m", problem, 7, 0);
    expect(b.content).toBe(a.content);
    expect(b.usage).toEqual(a.usage);
  });
});

describe("embedding encoder and using a trained orchestrator", () => {
  it("trains with the embedding encoder (cached embeddings) and solves new tasks from the run folder", async () => {
    const dir = tmpdir();
    const sets = ["encoder.name=embedding", "encoder.model=sim-embed", "encoder.dimensions=24"];
    const before = server.stats.byPath["/v1/embeddings"] ?? 0;
    const s = await train({ config: llmConfig(dir, sets), runDir: path.join(dir, "run") });
    expect(s.status).toBe("completed");
    const made = (server.stats.byPath["/v1/embeddings"] ?? 0) - before;
    expect(made).toBeGreaterThan(0);
    const again = await train({ config: llmConfig(dir, sets), runDir: path.join(dir, "run2") });
    expect(again.status).toBe("completed");
    expect((server.stats.byPath["/v1/embeddings"] ?? 0) - before).toBe(made);

    const orch = await loadOrchestrator(path.join(dir, "run"));
    try {
      const trace = await orch.solve({
        id: "q",
        prompt: "Noah has 12 marbles. Then Noah buys 5 more. How many marbles does Noah have now?",
        answer: "17",
      });
      expect(trace.steps.length).toBeGreaterThan(0);
      expect(trace.steps.length).toBeLessThanOrEqual(3);
      expect(trace.success).toBeTypeOf("boolean");
      expect(trace.cost).toBeCloseTo(
        trace.steps.reduce((a, x) => a + x.cost, 0),
        12,
      );
      const llmSteps = trace.steps.filter((x) => x.agent !== "terminator");
      for (const st of llmSteps) expect(st.tokensIn).toBeGreaterThan(0);
      const text = await orch.solve("Ava has 10 apples. Then Ava buys 5 more. How many apples does Ava have now?");
      expect(text.success).toBeUndefined();
      // traces come back in task order whatever the first episode index
      const many = await orch.solveMany(
        ["a", "b", "c"].map((id, k) => ({
          id,
          prompt: `Ben has ${20 + k} cards. Then Ben buys 2 more. How many cards does Ben have now?`,
          answer: String(22 + k),
        })),
        { firstEpisode: 1_000_001 },
      );
      expect(many.map((t) => t.task.id)).toEqual(["a", "b", "c"]);
    } finally {
      orch.dispose();
    }
  });
});

describe("CLI", () => {
  const cli = path.resolve("dist/cli.js");
  it("orchestrate prints the trace of a trained run", async () => {
    const dir = tmpdir();
    await train({ config: llmConfig(dir), runDir: path.join(dir, "run") });
    const tasks = path.join(dir, "tasks.jsonl");
    fs.writeFileSync(
      tasks,
      '{"id": "a", "prompt": "Ava has 10 apples. Then Ava buys 5 more. How many apples does Ava have now?", "answer": "15"}\n{"id": "b", "prompt": "A lamp costs 40 dollars. Then a fee of 2 dollars is added. Omar buys 2 of them. How many dollars does Omar pay in total?"}\n',
    );
    const r = await runCli(["orchestrate", "--run", path.join(dir, "run"), "--tasks", tasks]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain("[error]");
    expect(r.stdout).toMatch(/tokens \d+\+\d+ {2}cost/);
    expect(r.stdout).toContain("task a: Ava has 10 apples");
    expect(r.stdout).toMatch(/final answer: /);
    expect(r.stdout).toMatch(/(ended by the terminator \(terminator\)|reached env\.maxSteps), \d steps?, \d+ tokens, cost/);
    expect(r.stdout).toMatch(/2 tasks: accuracy \d\.\d{3} over 1, mean cost/);
    const bad = await runCli(["orchestrate", "--run", path.join(dir, "nope"), "--task", "x"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/nope: no such folder/);
  });

  it("sim-server rejects a bad --config, naming the file and field", async () => {
    const dir = tmpdir();
    const bad = path.join(dir, "sim.yaml");
    fs.writeFileSync(bad, "defaults:\n  rate500: 2\n");
    const r = await runCli(["sim-server", "--port", "0", "--config", bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${bad}: defaults.rate500:`);
  });

  it("sim-server listens on an ephemeral loopback port and serves /v1/models", async () => {
    const child = spawn(process.execPath, [cli, "sim-server", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
          if (m) resolve(m[1]!);
        });
        child.once("exit", (code) => reject(new Error(`sim-server exited with ${code}: ${out}`)));
      });
      const res = await fetch(`${url}/v1/models`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { data: Array<{ id: string }> };
      expect(body.data.map((d) => d.id)).toEqual(expect.arrayContaining(["sim-fast", "sim-strong"]));
    } finally {
      child.kill("SIGTERM");
    }
  });
});
