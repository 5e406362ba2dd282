import { execFile, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, validateConfig } from "../src/config/index.js";
import { startSimServer, type SimServer } from "../src/llm/sim-server.js";
import { train } from "../src/run/train.js";
import { loadOrchestrator } from "../src/serve/orchestrate.js";
import { checkKnob, requestedKnob, secretValues, serveRun, type MaestroInfo } from "../src/serve/server.js";
import { simLlmRawConfig } from "./helpers.js";

/**
 * `maestro serve`: the official openai client against the real CLI process and in-process
 * servers, all on 127.0.0.1, over the simulated LLM server started here.
 */

const SECRET = "sk-maestro-serve-SECRET-9191";
const cli = path.resolve("dist/cli.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-serve-"));
const runDir = path.join(tmp, "run");
let sim: SimServer;
/** A fake OpenAI-compatible server that puts the request's API key into its reply (a leaking provider). */
let leaky: http.Server;
let leakyUrl: string;
const children: ChildProcess[] = [];

const TASKS = [
  "Ava has 10 apples. Then Ava buys 5 more. How many apples does Ava have now?",
  "A lamp costs 40 dollars. Then a fee of 2 dollars is added. Omar buys 2 of them. How many dollars does Omar pay in total?",
  "Noah has 12 marbles. Then Noah gives away 5. How many marbles does Noah have now?",
];

function runCli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: process.env, encoding: "utf8" }, (err, stdout, stderr) =>
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Spawns `maestro serve` and resolves with its URL once it listens. */
function spawnServe(
  args: string[],
): Promise<{ child: ChildProcess; url: string; out: () => string; err: () => string; exit: Promise<number | null> }> {
  const child = spawn(process.execPath, [cli, "serve", runDir, "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) resolve({ child, url: m[1]!, out: () => out, err: () => err, exit });
    });
    void exit.then((code) => reject(new Error(`maestro serve exited with ${code}: ${out}\n${err}`)));
  });
}

const post = (url: string, body: unknown, headers: Record<string, string> = { "content-type": "application/json" }) =>
  fetch(`${url}/v1/chat/completions`, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });

type Completion = OpenAI.Chat.Completions.ChatCompletion & { maestro: MaestroInfo };

beforeAll(async () => {
  process.env.MAESTRO_SERVE_TEST_KEY = SECRET;
  sim = await startSimServer({
    port: 0,
    config: { seed: 3, retryAfterMs: 5, models: { "sim-slow": { latencyMs: 250 }, "sim-500": { rate500: 1 } } },
  });
  leaky = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const key = String(req.headers.authorization ?? "").replace(/^Bearer /, "");
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id: "x",
          object: "chat.completion",
          created: 0,
          model: "leaky",
          choices: [{ index: 0, message: { role: "assistant", content: `My key is ${key}.\nANSWER: ${key}` }, finish_reason: "stop" }],
          usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
        }),
      );
    });
  });
  await new Promise<void>((r) => leaky.listen(0, "127.0.0.1", r));
  leakyUrl = `http://127.0.0.1:${(leaky.address() as AddressInfo).port}/v1`;
  const config = validateConfig(
    // enough entropy left after 3 updates that sampling (temperature > 0) and greedy choices differ
    simLlmRawConfig({
      name: "serve-test",
      baseURL: `${sim.url}/v1`,
      apiKeyEnv: "MAESTRO_SERVE_TEST_KEY",
      dir: tmp,
      llm: { cache: { mode: "off", dir: path.join(tmp, "cache") } },
    }),
    path.join(tmp, "c.yaml"),
    tmp,
  );
  const s = await train({ config, runDir });
  expect(s.status).toBe("completed");
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await sim.close();
  await new Promise((r) => leaky.close(r));
  delete process.env.MAESTRO_SERVE_TEST_KEY;
});

/** The metric's value for the given labels, from Prometheus text (0 when absent). */
function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => ls[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

describe("maestro serve (CLI process) with the official openai client", () => {
  let srv: Awaited<ReturnType<typeof spawnServe>>;
  let client: OpenAI;
  beforeAll(async () => {
    srv = await spawnServe([]);
    client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: "not-checked", maxRetries: 0, timeout: 20_000 });
  }, 30_000);
  afterAll(() => {
    srv.child.kill("SIGTERM");
    return srv.exit;
  });

  it("answers as `maestro orchestrate` does on the same task and seed, greedy and sampled", async () => {
    const greedy = JSON.parse((await runCli(["orchestrate", "--run", runDir, "--task", TASKS[0]!, "--json"])).stdout) as Array<{
      finalAnswer?: string;
      steps: Array<{ agent: string }>;
      cost: number;
    }>;
    const sampled = JSON.parse(
      (await runCli(["orchestrate", "--run", runDir, "--task", TASKS[1]!, "--no-greedy", "--seed", "7", "--json"])).stdout,
    ) as typeof greedy;

    const a = (await client.chat.completions.create({
      model: "maestro",
      messages: [
        { role: "system", content: "ignored" },
        { role: "user", content: TASKS[0]! },
      ],
    })) as Completion;
    expect(a.object).toBe("chat.completion");
    expect(a.choices[0]!.message.content).toBe(greedy[0]!.finalAnswer);
    expect(a.maestro.final_answer).toBe(greedy[0]!.finalAnswer);
    expect(a.maestro.steps.map((s) => s.agent)).toEqual(greedy[0]!.steps.map((s) => s.agent));
    expect(a.maestro.cost).toBeCloseTo(greedy[0]!.cost, 15);
    expect(a.maestro.greedy).toBe(true);
    expect(a.maestro.seed).toBe(1); // the run's seed
    expect(a.choices[0]!.finish_reason).toBe(a.maestro.stop_reason === "max_steps" ? "length" : "stop");
    // usage is summed over all LLM calls
    expect(a.usage!.prompt_tokens).toBe(a.maestro.steps.reduce((x, s) => x + s.tokens_in, 0));
    expect(a.usage!.completion_tokens).toBe(a.maestro.steps.reduce((x, s) => x + s.tokens_out, 0));
    expect(a.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(a.maestro.cost).toBeCloseTo(
      a.maestro.steps.reduce((x, s) => x + s.cost, 0),
      15,
    );
    for (const s of a.maestro.steps.filter((x) => x.agent !== "terminator")) expect(s.model).toBe("sim-fast");

    const b = (await client.chat.completions.create({
      model: "maestro",
      temperature: 1,
      seed: 7,
      messages: [{ role: "user", content: TASKS[1]! }],
    })) as Completion;
    expect(b.maestro.greedy).toBe(false);
    expect(b.maestro.seed).toBe(7);
    expect(b.maestro.final_answer).toBe(sampled[0]!.finalAnswer ?? null);
    expect(b.maestro.steps.map((s) => s.agent)).toEqual(sampled[0]!.steps.map((s) => s.agent));

    // the same request again gives the same episode (greedy; and sampled with its seed)
    const b2 = (await client.chat.completions.create({
      model: "maestro",
      temperature: 0.5,
      seed: 7,
      messages: [{ role: "user", content: TASKS[1]! }],
    })) as Completion;
    expect(b2.maestro.steps).toEqual(b.maestro.steps);
  }, 60_000);

  it("streams the answer as server-sent events, with the maestro object and usage", async () => {
    const full = (await client.chat.completions.create({
      model: "maestro",
      messages: [{ role: "user", content: TASKS[2]! }],
    })) as Completion;
    const stream = await client.chat.completions.create({
      model: "maestro",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: TASKS[2]! }],
    });
    let text = "";
    let finish: string | null = null;
    let info: MaestroInfo | undefined;
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      expect(chunk.object).toBe("chat.completion.chunk");
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      info = (chunk as unknown as { maestro?: MaestroInfo }).maestro ?? info;
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(full.choices[0]!.message.content);
    expect(finish).toBe(full.choices[0]!.finish_reason);
    expect(info?.steps).toEqual(full.maestro.steps);
    expect(usage).toEqual(full.usage);
  }, 30_000);

  it("answers bad requests with 400 and a clear OpenAI-style error", async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ model: "maestro" }, /body must have required property 'messages'/],
      [{ model: "maestro", messages: [] }, /messages must NOT have fewer than 1 items/],
      [{ model: "maestro", messages: "hi" }, /messages must be array/],
      [{ model: "maestro", messages: [{ role: "user", content: 42 }] }, /messages\/0\/content must be string/],
      [{ model: "maestro", messages: [{ role: "wizard", content: "x" }] }, /role must be equal to one of the allowed values/],
      [{ model: "maestro", messages: [{ role: "user", content: "x" }], temperature: "0.5" }, /temperature must be number/],
      [{ model: "maestro", messages: [{ role: "user", content: "x" }], temperature: 3 }, /temperature must be <= 2/],
      [{ model: "maestro", messages: [{ role: "user", content: "x" }], n: 2 }, /n must be <= 1/],
      [{ model: "maestro", messages: [{ role: "user", content: "x" }], stream: "yes" }, /stream must be boolean/],
      [{ model: 5, messages: [{ role: "user", content: "x" }] }, /model must be string/],
      [
        { model: "maestro", messages: [{ role: "system", content: "only a system prompt" }] },
        /no user message; the last user message is the task/,
      ],
      [{ model: "maestro", messages: [{ role: "user", content: "  " }] }, /the last user message is empty/],
      [{ model: "maestro", messages: [{ role: "user", content: [{ type: "image_url" }] }] }, /only text parts are supported/],
      [{ model: "maestro:budget=abc", messages: [{ role: "user", content: "x" }] }, /expected "maestro", "maestro:budget=<number>"/],
      [{ model: "maestro:temperature=1", messages: [{ role: "user", content: "x" }] }, /expected "maestro"/],
      [
        { model: "maestro:budget=0.002", messages: [{ role: "user", content: "x" }] },
        /the served policy is not budget-conditioned; it takes no budget/,
      ],
      [
        { model: "maestro", maestro: { lambda: 0.5 }, messages: [{ role: "user", content: "x" }] },
        /not budget-conditioned; it takes no lambda/,
      ],
      [
        { model: "maestro", maestro: { budget: 1, lambda: 1 }, messages: [{ role: "user", content: "x" }] },
        /give budget or lambda, not both/,
      ],
      [
        { model: "maestro", maestro: { tokens: 1 }, messages: [{ role: "user", content: "x" }] },
        /maestro must NOT have additional properties/,
      ],
      ['{"model": "maestro", "messages": [', /not valid JSON/],
      [
        { model: "maestro", messages: [{ role: "user", content: "x".repeat(1_100_000) }] },
        /request body too large: the limit is 1048576 bytes/,
      ],
    ];
    for (const [body, msg] of cases) {
      const r = await post(srv.url, body);
      const j = (await r.json()) as { error: { message: string; type: string } };
      expect(r.status, JSON.stringify(body).slice(0, 120)).toBe(400);
      expect(j.error.type).toBe("invalid_request_error");
      expect(j.error.message).toMatch(msg);
    }
    const plain = await post(srv.url, "hello", { "content-type": "text/plain" });
    expect(plain.status).toBe(400);
    expect(((await plain.json()) as { error: { message: string } }).error.message).toMatch(/must be JSON/);
    const unknown = await post(srv.url, { model: "gpt-4o", messages: [{ role: "user", content: "x" }] });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe("model_not_found");
    // the openai client surfaces the 400 as a BadRequestError with the message
    await expect(client.chat.completions.create({ model: "maestro", messages: [] })).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/messages must NOT have fewer than 1 items/),
    });
    // and the server is still up
    expect((await fetch(`${srv.url}/health`)).status).toBe(200);
  }, 30_000);

  it("lists the model and reports health", async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(["maestro"]);
    const info = (
      models.data[0] as unknown as { maestro: { agents: string[]; knob: unknown; concurrency: number; checkpoint_update: number } }
    ).maestro;
    expect(info.agents).toEqual(["planner", "coder", "terminator"]);
    expect(info.knob).toBeNull();
    expect(info.concurrency).toBe(4); // the run's llm.maxConcurrency
    expect(info.checkpoint_update).toBe(3);
    const h = (await (await fetch(`${srv.url}/health`)).json()) as { status: string; running: number };
    expect(h.status).toBe("ok");
    expect((await fetch(`${srv.url}/v1/nothing`)).status).toBe(404);
  });
});

describe("in-process server", () => {
  it("counts what it served in /metrics", async () => {
    const s = await serveRun(runDir, { port: 0, logLevel: "silent" });
    try {
      const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "x", maxRetries: 0 });
      const done = (await Promise.all(
        TASKS.map((t) => client.chat.completions.create({ model: "maestro", messages: [{ role: "user", content: t }] })),
      )) as Completion[];
      await post(s.url, { model: "maestro", messages: [] });
      await post(s.url, { model: "maestro", messages: [] });
      const text = await (await fetch(`${s.url}/metrics`)).text();
      const route = "/v1/chat/completions";
      expect(metric(text, "maestro_http_requests_total", { route, status: "200" })).toBe(3);
      expect(metric(text, "maestro_http_requests_total", { route, status: "400" })).toBe(2);
      expect(metric(text, "maestro_http_request_errors_total", { route, type: "invalid_request_error" })).toBe(2);
      expect(metric(text, "maestro_http_request_duration_seconds_count", { route })).toBe(5);
      expect(metric(text, "maestro_episodes_total")).toBe(3);
      const steps = done.flatMap((d) => d.maestro.steps);
      expect(metric(text, "maestro_agent_calls_total")).toBe(steps.length);
      for (const agent of ["planner", "coder", "terminator"]) {
        expect(metric(text, "maestro_agent_calls_total", { agent })).toBe(steps.filter((x) => x.agent === agent).length);
      }
      expect(metric(text, "maestro_episode_steps_sum")).toBe(steps.length);
      expect(metric(text, "maestro_cost_total")).toBeCloseTo(
        done.reduce((x, d) => x + d.maestro.cost, 0),
        12,
      );
      expect(metric(text, "maestro_tokens_total", { kind: "prompt" })).toBe(done.reduce((x, d) => x + d.usage!.prompt_tokens, 0));
      expect(metric(text, "maestro_tokens_total", { kind: "completion" })).toBe(done.reduce((x, d) => x + d.usage!.completion_tokens, 0));
      for (const stop of ["terminator", "solved", "max_steps"]) {
        expect(metric(text, "maestro_episodes_total", { stop_reason: stop })).toBe(
          done.filter((d) => d.maestro.stop_reason === stop).length,
        );
      }
      expect(text).toContain("maestro_process_cpu_user_seconds_total");
    } finally {
      await s.close();
    }
  }, 30_000);

  it("runs at most `concurrency` episodes at once, skips a request whose client left while it waited, and sends keep-alives", async () => {
    const s = await serveRun(runDir, {
      port: 0,
      logLevel: "silent",
      concurrency: 2,
      heartbeatMs: 40,
      sets: ["llm.models.fast.model=sim-slow"],
    });
    try {
      let maxRunning = 0;
      let maxQueued = 0;
      let polling = true;
      const poll = (async () => {
        while (polling) {
          const h = (await (await fetch(`${s.url}/health`)).json()) as { running: number; queued: number };
          maxRunning = Math.max(maxRunning, h.running);
          maxQueued = Math.max(maxQueued, h.queued);
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      const chatBefore = sim.stats.byPath["/v1/chat/completions"] ?? 0;
      const body = (t: string, extra = {}) => ({ model: "maestro", messages: [{ role: "user", content: t }], ...extra });
      const first = [post(s.url, body(TASKS[0]!)), post(s.url, body(TASKS[1]!, { stream: true }))];
      // wait until both slots are taken, then queue one request and leave before it starts
      while (s.inFlight < 2) await new Promise((r) => setTimeout(r, 5));
      const ac = new AbortController();
      const abandoned = fetch(`${s.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body(TASKS[2]!)),
        signal: ac.signal,
      });
      while (s.inFlight < 3) await new Promise((r) => setTimeout(r, 5));
      ac.abort();
      await expect(abandoned).rejects.toThrow();
      const rest = [post(s.url, body(TASKS[2]!)), post(s.url, body(TASKS[0]!, { seed: 3 }))];
      const [r0, r1, ...more] = await Promise.all([...first, ...rest]);
      const streamText = await r1!.text();
      polling = false;
      await poll;
      expect(r0!.status).toBe(200);
      for (const r of more) expect(r.status).toBe(200);
      expect(maxRunning).toBe(2);
      expect(maxQueued).toBeGreaterThanOrEqual(1);
      // the stream sent keep-alive comments while its slow episode ran, then the answer
      expect(streamText).toContain(": keep-alive\n\n");
      expect(streamText.trimEnd().endsWith("data: [DONE]")).toBe(true);
      // the abandoned request never ran an episode: every LLM call made belongs to an answered request
      const finish = streamText
        .split("\n\n")
        .map((e) => e.replace(/^data: /, ""))
        .filter((e) => e.includes('"maestro":{'));
      const infos = [
        ((await r0!.json()) as Completion).maestro,
        (JSON.parse(finish[0]!) as { maestro: MaestroInfo }).maestro,
        ...(await Promise.all(more.map(async (r) => ((await r.json()) as Completion).maestro))),
      ];
      const llmCalls = infos.reduce((a, i) => a + i.steps.filter((x) => x.agent !== "terminator").length, 0);
      expect((sim.stats.byPath["/v1/chat/completions"] ?? 0) - chatBefore).toBe(llmCalls);
      const text = await (await fetch(`${s.url}/metrics`)).text();
      expect(metric(text, "maestro_http_request_errors_total", { type: "client_closed" })).toBe(1);
      expect(metric(text, "maestro_episodes_total")).toBe(4);
    } finally {
      await s.close();
    }
  }, 60_000);

  it("turns agent errors into error turns, and keeps API keys out of responses and logs", async () => {
    let log = "";
    const logStream = new Writable({
      write(c: Buffer, _e, cb) {
        log += c.toString();
        cb();
      },
    });
    const failing = await serveRun(runDir, { port: 0, logLevel: "info", logStream, sets: ["llm.models.fast.model=sim-500"] });
    try {
      const r = (await (
        await post(failing.url, { model: "maestro", messages: [{ role: "user", content: TASKS[0]! }] })
      ).json()) as Completion;
      const llmSteps = r.maestro.steps.filter((x) => x.agent !== "terminator");
      expect(llmSteps.length).toBeGreaterThan(0);
      for (const st of llmSteps) {
        expect(st.error).toMatch(/^500 /);
        expect(st.cost).toBe(0);
      }
      expect(r.maestro.final_answer).toBeNull();
      const m = await (await fetch(`${failing.url}/metrics`)).text();
      expect(metric(m, "maestro_agent_error_turns_total")).toBe(llmSteps.length);
      expect((await fetch(`${failing.url}/health`)).status).toBe(200);
    } finally {
      await failing.close();
    }

    // a provider that echoes the key: the key is replaced in every response, streamed or not, and in the log
    const leaking = await serveRun(runDir, { port: 0, logLevel: "debug", logStream, sets: [`llm.baseURL=${leakyUrl}`] });
    try {
      const plain = await (await post(leaking.url, { model: "maestro", messages: [{ role: "user", content: TASKS[0]! }] })).text();
      const streamed = await (
        await post(leaking.url, { model: "maestro", stream: true, messages: [{ role: "user", content: TASKS[0]! }] })
      ).text();
      const j = JSON.parse(plain) as Completion;
      expect(j.maestro.steps.some((x) => x.answer === "[redacted]")).toBe(true);
      expect(j.choices[0]!.message.content).toBe("[redacted]");
      expect(streamed).toContain('"content":"[redacted]"');
      const notFound = await (await fetch(`${leaking.url}/v1/nothing?key=${SECRET}`)).text();
      expect(notFound).toContain("[redacted]");
      for (const text of [plain, streamed, notFound, log]) expect(text.includes(SECRET)).toBe(false);
      expect(log).toContain("/v1/nothing?key=[redacted]");
      expect(log).toMatch(/"msg":"completion"/);
    } finally {
      await leaking.close();
    }
  }, 30_000);
});

describe("a multi-head run (simulated agents)", () => {
  it("orchestrates with the tier head, and a task the agents cannot take is a 500, not a crash", async () => {
    const dir = path.join(tmp, "tiers");
    const config = loadConfig("configs/sim-tiers.yaml", { sets: ["train.updates=2", "log.plot=false"] });
    expect((await train({ config, runDir: dir })).status).toBe("completed");
    const orch = await loadOrchestrator(dir);
    try {
      const t = await orch.solve({ id: "e", prompt: "an easy task", type: "easy" });
      expect(t.steps.length).toBeGreaterThan(0);
      for (const st of t.steps.filter((x) => x.agent !== "terminator")) expect(["small", "large"]).toContain(st.options?.tier);
      // not a budget-conditioned policy: no knob, and solve refuses one
      expect(orch.knob).toBeUndefined();
      await expect(orch.solve({ id: "k", prompt: "x", type: "easy" }, { knob: 2 })).rejects.toThrow(/not budget-conditioned/);
    } finally {
      orch.dispose();
    }
    const s = await serveRun(dir, { port: 0, logLevel: "silent" });
    try {
      expect(s.concurrency).toBe(1); // no llm section
      const r = await post(s.url, { model: "maestro", messages: [{ role: "user", content: "a text without a task type" }] });
      expect(r.status).toBe(500);
      const e = (await r.json()) as { error: { type: string; message: string } };
      expect(e.error.type).toBe("server_error");
      expect(e.error.message).toMatch(
        /the orchestrator failed: .*a simulated run \(tasks\.source: sim\) solves simulated tasks of its types \(easy, hard\)/,
      );
      const streamed = await (await post(s.url, { model: "maestro", stream: true, messages: [{ role: "user", content: "again" }] })).text();
      expect(streamed).toMatch(/data: \{"error":\{"message":"the orchestrator failed: /);
      expect((await fetch(`${s.url}/health`)).status).toBe(200);
      const m = await (await fetch(`${s.url}/metrics`)).text();
      expect(metric(m, "maestro_http_request_errors_total", { type: "server_error" })).toBe(2);
    } finally {
      await s.close();
    }
  }, 60_000);
});

describe("request parsing", () => {
  it("reads the cost knob from the model name or the maestro field and checks its range", () => {
    expect(requestedKnob({ model: "maestro" })).toBeUndefined();
    expect(requestedKnob({ model: "maestro:budget=0.002" })).toEqual({ name: "budget", value: 0.002 });
    expect(requestedKnob({ model: "maestro:lambda=1e-3" })).toEqual({ name: "lambda", value: 0.001 });
    expect(requestedKnob({ model: "maestro", maestro: { budget: 0.5 } })).toEqual({ name: "budget", value: 0.5 });
    expect(requestedKnob({ model: "maestro:budget=0.5", maestro: { budget: 0.5 } })).toEqual({ name: "budget", value: 0.5 });
    expect(() => requestedKnob({ model: "maestro:budget=0.5", maestro: { budget: 0.4 } })).toThrow(/disagree/);
    expect(() => requestedKnob({ model: "maestro:budget=" })).toThrow(/expected "maestro"/);
    expect(() => requestedKnob({ model: "router-mf" })).toThrow(/does not exist/);

    const conditioned = { knob: { name: "budget" as const, min: 0.001, max: 0.01 } };
    expect(checkKnob(conditioned, { name: "budget", value: 0.002 })).toBe(0.002);
    expect(() => checkKnob(conditioned, undefined)).toThrow(/budget-conditioned: give its budget in \[0\.001, 0\.01\]/);
    expect(() => checkKnob(conditioned, { name: "budget", value: 0.05 })).toThrow(
      "budget=0.05 is out of range: the policy was trained for budget in [0.001, 0.01]",
    );
    expect(() => checkKnob(conditioned, { name: "lambda", value: 0.005 })).toThrow(
      /conditioned on budget, not lambda \(allowed budget range \[0\.001, 0\.01\]\)/,
    );
    expect(() => checkKnob({ knob: undefined }, { name: "budget", value: 0.005 })).toThrow(/not budget-conditioned/);
  });

  it("collects the values of every apiKeyEnv variable of a config", () => {
    const env = { A_KEY: "sk-aaaa", B_KEY: "sk-bbbb", SHORT: "x" };
    expect(
      secretValues(
        {
          llm: { apiKeyEnv: "A_KEY", models: { m: { apiKeyEnv: "B_KEY" }, n: { apiKeyEnv: "MISSING" } } },
          encoder: { apiKeyEnv: "SHORT" },
        },
        env,
      ).sort(),
    ).toEqual(["sk-aaaa", "sk-bbbb"]);
  });
});

describe("SIGTERM", () => {
  it("finishes the request in flight, refuses new ones, then exits 0", async () => {
    const srv = await spawnServe(["--set", "llm.models.fast.model=sim-slow", "--log-level", "warn"]);
    const before = sim.stats.byPath["/v1/chat/completions"] ?? 0;
    const pending = post(srv.url, { model: "maestro", messages: [{ role: "user", content: TASKS[0]! }] });
    const streamed = post(srv.url, { model: "maestro", stream: true, messages: [{ role: "user", content: TASKS[1]! }] });
    // wait until both episodes are under way (their first LLM calls reached the simulated server)
    while ((sim.stats.byPath["/v1/chat/completions"] ?? 0) < before + 2) await new Promise((r) => setTimeout(r, 5));
    srv.child.kill("SIGTERM");
    // once the signal is handled, new requests are refused (connection refused, or 503 on a kept-alive socket)
    while (!srv.out().includes("SIGTERM")) await new Promise((r) => setTimeout(r, 5));
    const late = await post(srv.url, { model: "maestro", messages: [{ role: "user", content: "x" }] }).then(
      (r) => r.status,
      (e: Error) => e.message,
    );
    expect([503, "fetch failed"]).toContain(late);
    const res = await pending;
    expect(res.status).toBe(200);
    const body = (await res.json()) as Completion;
    const llmSteps = body.maestro.steps.filter((x) => x.agent !== "terminator");
    expect(llmSteps.length).toBeGreaterThan(0);
    for (const st of llmSteps) expect(st.error).toBeUndefined();
    expect(body.choices[0]!.message.content).toBe(body.maestro.final_answer ?? "");
    const sse = await (await streamed).text();
    expect(sse).toMatch(/"finish_reason":"(stop|length)"/);
    expect(sse.trimEnd().endsWith("data: [DONE]")).toBe(true);
    expect(await srv.exit).toBe(0);
    expect(srv.out()).toMatch(/SIGTERM, finishing 2 request\(s\) in flight/);
    expect(srv.out()).toMatch(/maestro serve: stopped/);
    await expect(post(srv.url, { model: "maestro", messages: [{ role: "user", content: "x" }] })).rejects.toThrow();
  }, 30_000);

  it("fails to start on a folder that is not a run, naming it", async () => {
    const r = await runCli(["serve", path.join(tmp, "nope"), "--port", "0"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/nope: no such folder/);
  });
});
