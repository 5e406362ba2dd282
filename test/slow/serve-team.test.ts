import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { Writable } from "node:stream";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, validateConfig } from "../../src/config/index.js";
import { startSimServer, type SimServer } from "../../src/llm/sim-server.js";
import { runCompletion } from "../../src/run/status.js";
import { classify } from "../../src/run/launcher.js";
import { train } from "../../src/run/train.js";
import { curveCommand } from "../../src/plots/curve.js";
import { createKey, KeyRing, readKeysFile, revokeKey } from "../../src/serve/keys.js";
import { LocalLimitStore, periodEnd, periodLabel, RedisLimitStore, usageFileOf, type LimitStore } from "../../src/serve/limits.js";
import { serveRun, type MaestroInfo, type MaestroServer, type ServeOptions } from "../../src/serve/server.js";
import { loadRecordedTable } from "../../src/tasks/recorded.js";
import { cliPath, freePort, removeTmpDirs, repoRoot, runCli, simLlmRawConfig, tmpDir } from "../helpers.js";
import { writeThreeModelFile } from "../recorded-helpers.js";
import { noRedisReason, redisServerBin, startRedis, type RedisInstance } from "../redis-helpers.js";

/**
 * `maestro serve` for a team: API keys, per-key budgets and limits (one process, or replicas sharing
 * Redis), the Host-header check and the refusal of a public address without keys, and the faults of
 * an independent pass (shutdown with half-sent bodies, recorded prompts outside the table, bad
 * --seed, invalid UTF-8 in recorded files, curve on unfinished runs, departed clients, launcher gone).
 */

const tmp = tmpDir("serve-team");
const runDir = path.join(tmp, "run");
const children: ChildProcess[] = [];
let sim: SimServer;
/** Cost of one LLM call of the run (every call of the simulated server costs about the same). */
let episodeCost = 0;
const TASK = "Ava has 10 apples. Then Ava buys 5 more. How many apples does Ava have now?";

type Completion = OpenAI.Chat.Completions.ChatCompletion & { maestro: MaestroInfo };

beforeAll(async () => {
  sim = await startSimServer({ port: 0, config: { seed: 3, models: { "sim-slow": { latencyMs: 300 } } } });
  // no terminator: every episode makes exactly env.maxSteps = 3 LLM calls; prices make one call cost ~$0.5
  const raw = simLlmRawConfig({
    name: "team",
    baseURL: `${sim.url}/v1`,
    apiKeyEnv: "MAESTRO_TEAM_TEST_KEY",
    dir: tmp,
    llm: { cache: { mode: "off" } },
  });
  raw.agents = (raw.agents as unknown[]).slice(0, 2);
  raw.tasks = {
    source: "inline",
    evaluator: "solved",
    items: [TASK, "Noah has 12 marbles. Then Noah gives away 5. How many marbles does Noah have now?"],
  };
  (raw.llm as { models: Record<string, unknown> }).models = {
    fast: { model: "sim-fast", inputPricePerM: 2000, outputPricePerM: 4000 },
    slow: { model: "sim-slow", inputPricePerM: 2000, outputPricePerM: 4000 },
  };
  raw.train = { updates: 1, episodesPerUpdate: 2 };
  process.env.MAESTRO_TEAM_TEST_KEY = "sk-sim-not-checked";
  const config = validateConfig(raw, path.join(tmp, "c.yaml"), tmp);
  expect((await train({ config, runDir })).status).toBe("completed");
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await sim.close();
  removeTmpDirs();
});

/** A sink for the request log, to check that no key reaches it. */
function logSink() {
  let text = "";
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { stream, text: () => text };
}

async function serve(o: ServeOptions & { sets?: string[] } = {}): Promise<MaestroServer> {
  return serveRun(runDir, { port: 0, logLevel: "silent", ...o });
}

const ask = (url: string, key: string | undefined, body: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body: JSON.stringify({ model: "maestro", messages: [{ role: "user", content: TASK }], ...body }),
  });

/** The metric's value for the given labels, from Prometheus text (0 when absent). */
function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => ls[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/** SSE events of a streamed response as parsed JSON (and "[DONE]"). */
const events = (text: string) =>
  text
    .split("\n\n")
    .filter((e) => e.startsWith("data: "))
    .map((e) => e.slice(6))
    .map((d) => (d === "[DONE]" ? d : (JSON.parse(d) as Record<string, unknown>)));

describe("API keys", () => {
  it("keys create|list|revoke manage a file of hashes; the key is printed once and stored nowhere", () => {
    const file = path.join(tmp, "cli-keys.json");
    const r = runCli([
      "keys",
      "create",
      "--file",
      file,
      "--id",
      "alice",
      "--budget",
      "5",
      "--period",
      "day",
      "--rpm",
      "30",
      "--concurrency",
      "2",
    ]);
    expect(r.status).toBe(0);
    const key = r.stdout.trim();
    expect(key).toMatch(/^mk-[A-Za-z0-9_-]{32}$/);
    expect(r.stderr).toMatch(/created key "alice".*budget 5 per day, 30 requests\/min, 2 at once/);
    const text = fs.readFileSync(file, "utf8");
    expect(text).not.toContain(key);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const f = readKeysFile(file);
    expect(f.keys[0]).toMatchObject({
      id: "alice",
      budget: 5,
      period: "day",
      rpm: 30,
      concurrency: 2,
      revoked: null,
      last4: key.slice(-4),
    });
    expect(runCli(["keys", "create", "--file", file, "--id", "alice"]).stderr).toMatch(/a key with id "alice" exists already/);
    expect(runCli(["keys", "create", "--file", file, "--id", "bad id"]).stderr).toMatch(/--id "bad id": expected 1-64 letters/);
    expect(runCli(["keys", "create", "--file", file, "--id", "x", "--budget", "-1"]).stderr).toMatch(
      /--budget -1: expected a positive number/,
    );
    const list = runCli(["keys", "list", "--file", file]);
    expect(list.stdout).toMatch(/alice\s+mk-….{4}\s+valid\s+0\.0000 \/ 5 per day/);
    expect(list.stdout).not.toContain(key);
    expect(runCli(["keys", "revoke", "--file", file, "--id", "alice"]).stdout).toMatch(/revoked key "alice"/);
    expect(runCli(["keys", "revoke", "--file", file, "--id", "bob"]).stderr).toMatch(/no key with id "bob"/);
    expect(runCli(["keys", "list", "--file", file, "--json"]).stdout).toMatch(/"revoked": "20/);
  });

  it("a malformed keys file is refused naming the file and the field", () => {
    const file = path.join(tmp, "bad-keys.json");
    fs.writeFileSync(file, JSON.stringify({ version: 1, keys: [{ id: "a", sha256: "xyz", last4: "abcd", created: "now" }] }));
    const r = runCli(["serve", runDir, "--port", "0", "--keys", file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${file}: keys[0].sha256: expected 64 lowercase hex digits`);
    fs.writeFileSync(file, "{ not json");
    expect(runCli(["keys", "list", "--file", file]).stderr).toContain(`${file}: not valid JSON`);
  });

  it("a request without a key, with a wrong key or with a revoked key gets an OpenAI-style 401; keys never reach logs, errors or /metrics", async () => {
    const file = path.join(tmp, "auth-keys.json");
    const { key } = createKey(file, { id: "alice" });
    const { key: bobKey } = createKey(file, { id: "bob" });
    const log = logSink();
    const s = await serve({
      keys: new KeyRing(file),
      limits: await LocalLimitStore.open(usageFileOf(file)),
      logLevel: "info",
      logStream: log.stream,
    });
    try {
      const r1 = await ask(s.url, undefined);
      expect(r1.status).toBe(401);
      expect(await r1.json()).toEqual({
        error: {
          message: "missing API key: send it as the header Authorization: Bearer <key>",
          type: "invalid_request_error",
          param: null,
          code: "invalid_api_key",
        },
      });
      const wrong = `${key.slice(0, -1)}${key.endsWith("A") ? "B" : "A"}`;
      const badClient = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: wrong, maxRetries: 0 });
      const e1 = (await badClient.chat.completions
        .create({ model: "maestro", messages: [{ role: "user", content: TASK }] })
        .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
      expect(e1).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((e1.error as { code: string }).code).toBe("invalid_api_key");
      const r2 = await ask(s.url, wrong);
      expect(r2.status).toBe(401);
      expect(r2.headers.get("www-authenticate")).toMatch(/^Bearer/);
      const b2 = await r2.text();
      expect(b2).toMatch(/invalid API key/);
      expect(b2).not.toContain(wrong);
      expect((await fetch(`${s.url}/v1/models`)).status).toBe(401);
      expect((await fetch(`${s.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${s.url}/health`)).status).toBe(200);

      const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: key, maxRetries: 0 });
      const ok = (await client.chat.completions.create({ model: "maestro", messages: [{ role: "user", content: TASK }] })) as Completion;
      expect(ok.maestro.steps).toHaveLength(3);
      episodeCost = ok.maestro.cost;
      expect(episodeCost).toBeGreaterThan(0.3);
      // a key pasted into a URL is scrubbed from the 404 and the log
      const r404 = await fetch(`${s.url}/v1/nothing?api_key=${bobKey}`, { headers: { authorization: `Bearer ${key}` } });
      expect(r404.status).toBe(404);
      expect(await r404.text()).not.toContain(bobKey);

      revokeKey(file, "bob");
      await new Promise((r) => setTimeout(r, 1100)); // the ring re-reads a changed file at most once a second
      const r3 = await ask(s.url, bobKey);
      expect(r3.status).toBe(401);
      expect(((await r3.json()) as { error: { message: string } }).error.message).toMatch(/this API key \(id "bob"\) was revoked/);

      const m = await (await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${key}` } })).text();
      expect(metric(m, "maestro_key_requests_total", { key: "alice", status: "200" })).toBe(1);
      expect(metric(m, "maestro_key_spend_total", { key: "alice" })).toBeCloseTo(episodeCost, 9);
      expect(metric(m, "maestro_key_period_spend", { key: "alice" })).toBeCloseTo(episodeCost, 9);
      expect(metric(m, "maestro_auth_failures_total", { reason: "missing" })).toBe(3);
      expect(metric(m, "maestro_auth_failures_total", { reason: "invalid" })).toBe(2);
      expect(metric(m, "maestro_auth_failures_total", { reason: "revoked" })).toBe(1);
      for (const text of [m, log.text()]) {
        expect(text).not.toContain(key);
        expect(text).not.toContain(bobKey);
      }
      expect(log.text()).toMatch(/"key":"alice"/);
    } finally {
      await s.close();
    }
  }, 60_000);

  it("--api-key-env takes one key from the environment (never from the command line)", async () => {
    const srv = await spawnServe(["--api-key-env", "MAESTRO_TEAM_SERVE_KEY"], { MAESTRO_TEAM_SERVE_KEY: "team-key-0123456789abcdef" });
    try {
      expect((await ask(srv.url, "team-key-0123456789abcdef")).status).toBe(200);
      expect((await ask(srv.url, "team-key-0123456789abcdeX")).status).toBe(401);
    } finally {
      srv.child.kill("SIGTERM");
      expect(await srv.exit).toBe(0);
    }
    const r = runCli(["serve", runDir, "--api-key-env", "MAESTRO_TEAM_UNSET_VAR"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--api-key-env MAESTRO_TEAM_UNSET_VAR: the environment variable is not set/);
  }, 60_000);
});

describe("per-key budgets and limits", () => {
  it("a budget spent mid-stream stops the episode (its remaining calls are not made), answers 429 afterwards, and survives a restart", async () => {
    const file = path.join(tmp, "budget-keys.json");
    expect(episodeCost).toBeGreaterThan(0);
    // room for one episode and one call of the next: the second stops after its second call
    const budget = episodeCost * 1.5;
    const { key } = createKey(file, { id: "carol", budget, period: "month" });
    let s = await serve({ keys: new KeyRing(file), limits: await LocalLimitStore.open(usageFileOf(file)) });
    try {
      const first = events(await (await ask(s.url, key, { stream: true })).text());
      expect(first.at(-1)).toBe("[DONE]");
      const calls0 = sim.stats.byPath["/v1/chat/completions"] ?? 0;
      const second = await ask(s.url, key, { stream: true });
      expect(second.status).toBe(200); // admitted: the key was under its budget when it asked
      const ev = events(await second.text());
      const err = ev.at(-1) as { error: { message: string; type: string; code: string } };
      expect(err.error.type).toBe("rate_limit_error");
      expect(err.error.code).toBe("insufficient_quota");
      expect(err.error.message).toMatch(/key "carol": budget exhausted during this request/);
      expect(ev).not.toContain("[DONE]");
      expect((sim.stats.byPath["/v1/chat/completions"] ?? 0) - calls0).toBe(2);
      const third = await ask(s.url, key);
      expect(third.status).toBe(429);
      expect(third.headers.get("retry-after")).toMatch(/^\d+$/);
      const e3 = (await third.json()) as { error: { message: string; code: string } };
      expect(e3.error.code).toBe("insufficient_quota");
      expect(e3.error.message).toMatch(
        new RegExp(
          `key "carol": budget exhausted: spent [0-9.]+ of ${budget} this month \\(UTC\\); it resets at ${periodEnd("month")!.toISOString()}`,
        ),
      );
      const m = await (await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${key}` } })).text();
      expect(metric(m, "maestro_key_rejections_total", { key: "carol", reason: "budget" })).toBe(2);
      const spent = metric(m, "maestro_key_period_spend", { key: "carol" });
      expect(spent).toBeGreaterThan(budget);
      expect(spent).toBeLessThan(budget + episodeCost / 2); // over by at most the call that crossed it
    } finally {
      await s.close();
    }
    // restart: the spend is read back from the usage file
    const usage = JSON.parse(fs.readFileSync(usageFileOf(file), "utf8")) as { spend: Record<string, { period: string; amount: number }> };
    expect(usage.spend.carol!.period).toBe(periodLabel("month"));
    expect(runCli(["keys", "list", "--file", file]).stdout).toMatch(
      new RegExp(`carol .* ${usage.spend.carol!.amount.toFixed(4)} / ${budget}`),
    );
    s = await serve({ keys: new KeyRing(file), limits: await LocalLimitStore.open(usageFileOf(file)) });
    try {
      expect((await ask(s.url, key)).status).toBe(429);
      // a second server on the same usage file is refused: replicas share spend through Redis
      await expect(LocalLimitStore.open(usageFileOf(file))).rejects.toThrow(/another maestro serve is using these keys' spend.*--redis/);
    } finally {
      await s.close();
    }
  }, 60_000);

  it("a rate limit answers 429 with Retry-After; a concurrency limit refuses the request beyond it", async () => {
    const file = path.join(tmp, "rate-keys.json");
    const { key } = createKey(file, { id: "dave", rpm: 2 });
    const { key: slowKey } = createKey(file, { id: "erin", concurrency: 1 });
    // 300 ms per call: two requests of one key overlap
    const s = await serve({
      keys: new KeyRing(file),
      limits: await LocalLimitStore.open(usageFileOf(file)),
      concurrency: 4,
      sets: ["llm.models.fast.model=sim-slow"],
    });
    try {
      const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: key, maxRetries: 0 });
      for (let i = 0; i < 2; i++) await client.chat.completions.create({ model: "maestro", messages: [{ role: "user", content: TASK }] });
      const e = (await client.chat.completions
        .create({ model: "maestro", messages: [{ role: "user", content: TASK }] })
        .catch((x: unknown) => x)) as InstanceType<typeof OpenAI.APIError>;
      expect(e).toBeInstanceOf(OpenAI.RateLimitError);
      expect(e.message).toMatch(/key "dave": rate limit of 2 requests per minute reached; retry after \d+ s/);
      const retry = Number(e.headers?.get("retry-after"));
      expect(retry).toBeGreaterThanOrEqual(1);
      expect(retry).toBeLessThanOrEqual(60);
      const [a, b] = await Promise.all([ask(s.url, slowKey), new Promise((r) => setTimeout(r, 100)).then(() => ask(s.url, slowKey))]);
      expect(a.status).toBe(200);
      expect(b.status).toBe(429);
      expect(((await b.json()) as { error: { code: string } }).error.code).toBe("concurrency_limit_exceeded");
      expect((await ask(s.url, slowKey)).status).toBe(200); // the slot is free again
    } finally {
      await s.close();
    }
  }, 60_000);

  describe.skipIf(!redisServerBin)(`two replicas against one redis-server ${noRedisReason}`, () => {
    let redis: RedisInstance;
    beforeAll(async () => {
      redis = await startRedis(tmp);
    });
    afterAll(() => redis?.stop());

    it("hold one budget and one rate limit between them", async () => {
      const file = path.join(tmp, "redis-keys.json");
      const budget = episodeCost * 2.5;
      const { key } = createKey(file, { id: "frank", budget, period: "day", rpm: 4 });
      const stores: LimitStore[] = [await RedisLimitStore.open(redis.url), await RedisLimitStore.open(redis.url)];
      const [a, b] = [
        await serve({ keys: new KeyRing(file), limits: stores[0] }),
        await serve({ keys: new KeyRing(file), limits: stores[1] }),
      ];
      try {
        expect((await ask(a.url, key)).status).toBe(200); // spent 1 episode
        expect((await ask(b.url, key)).status).toBe(200); // 2 episodes: b saw a's spend below the budget
        const third = await ask(a.url, key);
        expect(third.status).toBe(429); // crossed 2.5 episodes during its second call: stopped
        expect(((await third.json()) as { error: { message: string } }).error.message).toMatch(/budget exhausted during this request/);
        const fourth = await ask(b.url, key);
        expect(fourth.status).toBe(429); // the other replica refuses at once
        expect(((await fourth.json()) as { error: { message: string } }).error.message).toMatch(/budget exhausted: spent/);
        const [ma, mb] = await Promise.all(
          [a, b].map(async (s) => (await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${key}` } })).text()),
        );
        // one budget: both replicas report the same period spend, the sum of what each one spent
        const spentA = metric(ma!, "maestro_key_spend_total", { key: "frank" });
        const spentB = metric(mb!, "maestro_key_spend_total", { key: "frank" });
        expect(metric(ma!, "maestro_key_period_spend", { key: "frank" })).toBeCloseTo(spentA + spentB, 9);
        expect(metric(mb!, "maestro_key_period_spend", { key: "frank" })).toBeCloseTo(spentA + spentB, 9);
        expect(spentA + spentB).toBeLessThan(budget + episodeCost / 2);
        // the rate limit (4 a minute) counted all four requests on both replicas: a fifth is refused for the rate
        const { key: rateKey } = createKey(file, { id: "gina", rpm: 3 });
        await new Promise((r) => setTimeout(r, 1100));
        for (const s of [a, b, a]) expect((await ask(s.url, rateKey)).status).toBe(200);
        const r = await ask(b.url, rateKey);
        expect(r.status).toBe(429);
        expect(r.headers.get("retry-after")).toMatch(/^\d+$/);
        expect(runCli(["keys", "list", "--file", file, "--redis", redis.url, "--json"]).stdout).toMatch(
          new RegExp(`"spent": ${(spentA + spentB).toString().slice(0, 6)}`),
        );
      } finally {
        await a.close();
        await b.close();
      }
    }, 90_000);
  });
});

describe("off loopback only with keys; Host header; CORS", () => {
  it("refuses a public --host without keys, and starts with keys or --insecure-no-auth (loudly)", async () => {
    const r = runCli(["serve", runDir, "--host", "0.0.0.0", "--port", "0"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--host 0\.0\.0\.0: serving off loopback needs API keys \(--keys FILE or --api-key-env NAME\)/);
    await expect(serve({ host: "0.0.0.0" })).rejects.toThrow(/serving off loopback needs API keys/);
    const open = await spawnServe(["--host", "0.0.0.0", "--insecure-no-auth"], {}, /listening on (http:\/\/0\.0\.0\.0:\d+)/);
    try {
      await new Promise((r) => setTimeout(r, 200));
      expect(open.err()).toMatch(/WARNING: --insecure-no-auth: 0\.0\.0\.0 is served without API keys/);
      const url = open.url.replace("0.0.0.0", "127.0.0.1");
      expect((await fetch(`${url}/health`)).status).toBe(200);
    } finally {
      open.child.kill("SIGTERM");
      await open.exit;
    }
    const file = path.join(tmp, "host-keys.json");
    const { key } = createKey(file, { id: "hank" });
    const s = await serve({ host: "0.0.0.0", keys: new KeyRing(file) });
    try {
      const url = s.url.replace("0.0.0.0", "127.0.0.1");
      expect((await ask(url, key)).status).toBe(200);
      expect((await ask(url, undefined)).status).toBe(401);
    } finally {
      await s.close();
    }
  }, 60_000);

  it("refuses a Host header that is not a name of the server (DNS rebinding); CORS only for configured origins", async () => {
    const s = await serve({ allowedHosts: ["maestro.team.example"], corsOrigins: ["https://app.team.example"] });
    const plain = await serve();
    try {
      const port = new URL(s.url).port;
      const raw = (host: string, extra = "") =>
        rawRequest(Number(port), `GET /health HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`);
      const evil = await raw(`rebind.attacker.example:${port}`);
      expect(evil).toMatch(/^HTTP\/1\.1 403/);
      expect(evil).toMatch(/Host header \\"rebind\.attacker\.example:\d+\\" is not a name of this server/);
      expect(evil).toMatch(/"code":"host_not_allowed"/);
      expect(await raw(`localhost:${port}`)).toMatch(/^HTTP\/1\.1 200/);
      expect(await raw(`[::1]:${port}`)).toMatch(/^HTTP\/1\.1 200/);
      expect(await raw("maestro.team.example")).toMatch(/^HTTP\/1\.1 200/);
      const pre = await fetch(`${s.url}/v1/chat/completions`, {
        method: "OPTIONS",
        headers: { origin: "https://app.team.example", "access-control-request-method": "POST" },
      });
      expect(pre.status).toBeLessThan(300);
      expect(pre.headers.get("access-control-allow-origin")).toBe("https://app.team.example");
      const other = await fetch(`${s.url}/health`, { headers: { origin: "https://evil.example" } });
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
      const none = await fetch(`${plain.url}/health`, { headers: { origin: "https://app.team.example" } });
      expect(none.headers.get("access-control-allow-origin")).toBeNull();
      const m = await (await fetch(`${s.url}/metrics`)).text();
      expect(metric(m, "maestro_auth_failures_total", { reason: "host" })).toBe(1);
    } finally {
      await s.close();
      await plain.close();
    }
  }, 60_000);
});

/** Sends raw bytes, resolves with everything the server sent until it closed the connection. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1", () => sock.write(text));
    let out = "";
    sock.on("data", (d) => (out += d.toString()));
    sock.on("close", () => resolve(out));
    sock.on("error", reject);
  });
}

/** Spawns `maestro serve` on the run and resolves with its URL once it listens. */
function spawnServe(args: string[], env: Record<string, string> = {}, pattern = /listening on (http:\/\/127\.0\.0\.1:\d+)/) {
  const child = spawn(process.execPath, [cliPath, "serve", runDir, "--port", "0", "--log-level", "warn", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  children.push(child);
  let out = "";
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return new Promise<{ child: ChildProcess; url: string; out: () => string; err: () => string; exit: Promise<number | null> }>(
    (resolve, reject) => {
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = out.match(pattern);
        if (m) resolve({ child, url: m[1]!, out: () => out, err: () => err, exit });
      });
      void exit.then((code) => reject(new Error(`maestro serve exited with ${code}: ${out}\n${err}`)));
    },
  );
}

describe("faults of the independent pass", () => {
  it("SIGTERM with a client holding a half-sent body: after the grace period the connection is closed and the process exits", async () => {
    const srv = await spawnServe(["--grace", "1", "--body-timeout", "120"]);
    const port = Number(new URL(srv.url).port);
    const sock = net.connect(port, "127.0.0.1");
    await new Promise((r) => sock.once("connect", r));
    sock.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"model":"maestro",`,
    );
    const closed = new Promise((r) => sock.once("close", r));
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    srv.child.kill("SIGTERM");
    expect(await srv.exit).toBe(0);
    await closed;
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(srv.out()).toMatch(/SIGTERM, finishing .* \(up to 1 s/);
  }, 60_000);

  it("a request body has a total time limit: a client that stops sending gets 408 and its connection closed", async () => {
    const s = await serve({ bodyTimeoutMs: 600 });
    try {
      const port = Number(new URL(s.url).port);
      const t0 = Date.now();
      const out = await rawRequest(
        port,
        `POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"model":`,
      );
      expect(out).toMatch(/^HTTP\/1\.1 408/);
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      await s.close();
    }
  }, 30_000);

  it("a client that disconnects cancels its episode's remaining LLM calls", async () => {
    const s = await serve({ sets: ["llm.models.fast.model=sim-slow"] });
    try {
      const before = sim.stats.byPath["/v1/chat/completions"] ?? 0;
      const ctl = new AbortController();
      const req = ask(s.url, undefined, {}, {}).catch(() => undefined);
      void req;
      const gone = fetch(`${s.url}/v1/chat/completions`, {
        method: "POST",
        signal: ctl.signal,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "maestro",
          messages: [{ role: "user", content: "Noah has 12 marbles. Then Noah gives away 5. How many marbles does Noah have now?" }],
        }),
      }).catch((e: Error) => e.name);
      // both episodes' first calls reach the simulated server (300 ms each), then the second client leaves
      while ((sim.stats.byPath["/v1/chat/completions"] ?? 0) < before + 2) await new Promise((r) => setTimeout(r, 10));
      ctl.abort();
      expect(await gone).toBe("AbortError");
      await req;
      // the finished episode made 3 calls; the cancelled one made only the call in flight when it left
      await new Promise((r) => setTimeout(r, 800));
      expect((sim.stats.byPath["/v1/chat/completions"] ?? 0) - before).toBe(4);
      const m = await (await fetch(`${s.url}/metrics`)).text();
      expect(metric(m, "maestro_http_request_errors_total", { type: "client_closed" })).toBe(1);
    } finally {
      await s.close();
    }
  }, 30_000);

  it("serve --seed abc / 1e400 / -1 is refused like any bad option", () => {
    for (const bad of ["abc", "1e400", "-1", "1.5"]) {
      const r = runCli(["serve", runDir, "--port", "0", `--seed=${bad}`]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`--seed ${bad}: expected a non-negative integer`);
    }
    expect(runCli(["orchestrate", "--run", runDir, "--task", "x", "--seed", "NaN"]).stderr).toMatch(
      /--seed NaN: expected a non-negative integer/,
    );
  });

  it("recorded answers with invalid UTF-8 are refused with file, line and column; a prompt outside the table is a 400 naming no server path", async () => {
    const dir = tmpDir("rec-utf8");
    const good = writeThreeModelFile(path.join(dir, "g.jsonl"), 40);
    const lines = fs.readFileSync(good);
    const nl = lines.indexOf(0x0a);
    const bad = path.join(dir, "bad.jsonl");
    // line 2, after `{"id":"g`: a lone continuation byte
    fs.writeFileSync(bad, Buffer.concat([lines.subarray(0, nl + 9), Buffer.from([0x80]), lines.subarray(nl + 9)]));
    expect(() => loadRecordedTable({ files: [bad] })).toThrow(`${bad}:2:9: invalid UTF-8 (byte 0x80`);
    const csv = path.join(dir, "bad.csv");
    fs.writeFileSync(
      csv,
      Buffer.concat([Buffer.from("prompt,a_response\nwhat is 1+1?,tw"), Buffer.from([0xc3, 0x28]), Buffer.from("o\n")]),
    );
    expect(() => loadRecordedTable({ files: [csv] })).toThrow(`${csv}:2:16: invalid UTF-8`);

    const rec = path.join(dir, "run");
    const config = loadConfig(path.join(repoRoot, "configs/gsm8k-cascade.yaml"), {
      sets: [`tasks.file=${good}`, "train.updates=2", "train.episodesPerUpdate=4", "log.plot=false"],
    });
    expect((await train({ config, runDir: rec })).status).toBe("completed");
    const s = await serveRun(rec, { port: 0, logLevel: "silent" });
    try {
      const r = await ask(s.url, undefined, {
        model: "maestro:lambda=0.1",
        messages: [{ role: "user", content: "Not a problem of the table" }],
      });
      expect(r.status).toBe(400);
      const body = await r.text();
      expect(body).toMatch(/no recorded answers for this prompt: it is not an item of the served run's recorded table/);
      expect(body).not.toContain(dir);
      expect(body).not.toMatch(/\/tmp|g\.jsonl/);
      const item = JSON.parse(lines.subarray(0, nl).toString()) as { prompt: string };
      expect(
        (await ask(s.url, undefined, { model: "maestro:lambda=0.1", messages: [{ role: "user", content: item.prompt }] })).status,
      ).toBe(200);
    } finally {
      await s.close();
    }

    // curve: a run killed before its summary is flagged; one with no finished update is refused
    fs.rmSync(path.join(rec, "summary.json"));
    const c = await curveCommand([rec], { points: 3, out: path.join(dir, "curve") });
    expect(c.unfinished).toHaveLength(1);
    expect(c.result.warnings[0]).toMatch(
      /UNFINISHED RUN: it stopped without finishing \(no summary\.json: killed or crashed\); its last checkpoint is after update 2 of 2/,
    );
    const cli = runCli(["curve", rec, "--points", "3", "--out", path.join(dir, "curve2"), "--json"]);
    expect(cli.status).toBe(0);
    expect((JSON.parse(cli.stdout) as { warnings: string[] }).warnings[0]).toMatch(/UNFINISHED RUN/);
    const table = runCli(["curve", rec, "--points", "3", "--out", path.join(dir, "curve3")]);
    expect(table.stdout.split("\n")[0]).toMatch(/^warning: .*UNFINISHED RUN/);
    fs.writeFileSync(path.join(rec, "summary.json"), JSON.stringify({ status: "interrupted" }));
    expect(runCompletion(rec)).toMatchObject({ state: "interrupted", checkpointUpdate: 2, totalUpdates: 2 });
    fs.rmSync(path.join(rec, "checkpoints"), { recursive: true });
    const none = runCli(["curve", rec, "--points", "3"]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/the run has no finished update \(no checkpoint\)/);
  }, 120_000);
});

describe("stopping the way users stop things: the launcher goes away", () => {
  it("tells launchers and sh -c wrappers from other parents", () => {
    expect(classify(["npm", "exec", "maestro", "serve"])).toBe("launcher");
    expect(classify(["/usr/bin/node", "/usr/lib/node_modules/npm/bin/npx-cli.js", "maestro"])).toBe("launcher");
    expect(classify(["sh", "-c", "maestro serve run"])).toBe("wrapper");
    expect(classify(["bash", "/dev/fd/3"])).toBe("other");
    expect(classify(["node", "/work/node_modules/vitest/dist/worker.js"])).toBe("other");
  });

  /**
   * Starts `npx node dist/bin/maestro.js <args>` — the npm exec → sh -c → node chain of `npx maestro`,
   * without the one-off link install npx makes for a package's own bin — and kills npx, not the
   * command it started, once `ready` is printed.
   */
  async function killLauncher(args: string[], ready: RegExp) {
    const npx = spawn("npx", ["node", cliPath, ...args], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, MAESTRO_NO_LAUNCHER_WATCH: "" },
    });
    children.push(npx);
    let out = "";
    const onData = (d: Buffer) => (out += d.toString());
    npx.stdout!.on("data", onData);
    npx.stderr!.on("data", onData);
    // the pipes close when every process holding them (npx, sh, maestro) has exited
    const closed = Promise.all([new Promise((r) => npx.stdout!.once("close", r)), new Promise((r) => npx.stderr!.once("close", r))]);
    const t0 = Date.now();
    while (!ready.test(out)) {
      if (Date.now() - t0 > 90_000) throw new Error(`npx maestro ${args[0]} did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    npx.kill("SIGTERM");
    const t1 = Date.now();
    const late = new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`still running 20 s after npx was killed: ${out}`)), 20_000).unref(),
    );
    await Promise.race([closed, late]);
    return { out: () => out, stoppedAfterMs: Date.now() - t1 };
  }

  it("`npx maestro serve` stops (as on SIGTERM) when npx is killed", async () => {
    const r = await killLauncher(["serve", runDir, "--port", "0", "--log-level", "warn"], /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(r.out())![1]!;
    expect(r.out()).toMatch(/maestro serve: its launcher \(.*\) went away; stopping as on SIGTERM/);
    expect(r.out()).toMatch(/maestro serve: stopped/);
    await expect(fetch(`${url}/health`)).rejects.toThrow();
    expect(r.stoppedAfterMs).toBeLessThan(10_000);
  }, 120_000);

  it("`npx maestro sim-server` and `npx maestro train` stop too; train saves its state as on SIGTERM", async () => {
    const s = await killLauncher(["sim-server", "--port", "0"], /listening on/);
    expect(s.out()).toMatch(/sim-server: stopped after \d+ requests/);
    const run = path.join(tmp, "launcher-train");
    const t = await killLauncher(
      [
        "train",
        path.join(repoRoot, "configs/doa-mvp.yaml"),
        "--run-dir",
        run,
        "--set",
        "train.updates=1000000",
        "--set",
        "log.plot=false",
        "--quiet",
      ],
      /run: /,
    );
    expect(t.out()).toMatch(/maestro train: its launcher .* went away/);
    expect(JSON.parse(fs.readFileSync(path.join(run, "summary.json"), "utf8")).status).toBe("interrupted");
  }, 180_000);

  it.skipIf(!redisServerBin)(
    "`npx maestro worker` stops too",
    async () => {
      const redis = await startRedis(tmp, await freePort());
      try {
        const w = await killLauncher(["worker", "--queue", redis.url, "--runs-dir", path.join(tmp, "worker-runs")], /waiting for trials/);
        expect(w.out()).toMatch(/worker: SIGTERM: stopping/);
      } finally {
        await redis.stop();
      }
    },
    120_000,
  );
});
