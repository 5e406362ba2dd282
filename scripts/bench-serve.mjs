#!/usr/bin/env node
// Throughput and latency of `maestro serve` over the simulated LLM server at 100 ms latency.
//
//   npm run build && node scripts/bench-serve.mjs [--requests 480] [--concurrency 16] [--latency 100] [--updates 200] [--run <dir>]
//
// 1. trains configs/llm-arithmetic.yaml (its 200 updates by default) against an in-process simulated server with no latency
//    (or takes --run, a trained run of that config);
// 2. starts the simulated server in its own process with `latencyMs` per request, and `maestro serve`
//    on the run in another (llm.maxConcurrency = --concurrency, response cache off);
// 3. sends --requests distinct generated arithmetic problems from --concurrency closed-loop clients
//    (after a warm-up of one request per client) and times each request.
// An episode cannot be faster than its LLM calls one after another: bound = LLM steps × latency
// (the Terminator makes no call). With --concurrency episodes in flight the ideal rate is
// concurrency / mean bound. Prints requests/s, p50/p95 latency, the same percentiles of the bound, and
// achieved/ideal, all measured in this one run — twice: without API keys, then with `--keys` (one key
// with a budget, a rate and a concurrency limit, none binding), and the ratios of the two.
import "./lib/help.mjs"; // --help prints the comment above; bad options print it too
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { generateArithmeticTasks, loadConfig, startSimServer, train } from "../dist/index.js";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "480" },
    concurrency: { type: "string", default: "16" },
    latency: { type: "string", default: "100" },
    updates: { type: "string", default: "200" },
    run: { type: "string" },
  },
});
const N = Number(values.requests);
const C = Number(values.concurrency);
const LAT = Number(values.latency);
const root = path.resolve(import.meta.dirname, "..");
const cli = path.join(root, "dist", "cli.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-bench-serve-"));
const children = [];

function start(args, pattern) {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(pattern);
      if (m) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`${args[0]} exited (${code}): ${out}`)));
    child.once("exit", () => children.splice(children.indexOf(child), 1));
  });
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

try {
  let runDir = values.run;
  if (!runDir) {
    const sim = await startSimServer({ port: 0 });
    try {
      const config = loadConfig(path.join(root, "configs", "llm-arithmetic.yaml"), {
        sets: [`llm.baseURL=${sim.url}/v1`, "llm.cache.mode=off", `train.updates=${values.updates}`, "log.plot=false"],
      });
      runDir = path.join(tmp, "run");
      const t0 = performance.now();
      await train({ config, runDir });
      console.log(`trained ${values.updates} updates of configs/llm-arithmetic.yaml in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } finally {
      await sim.close();
    }
  }

  fs.writeFileSync(path.join(tmp, "sim.yaml"), `defaults:\n  latencyMs: ${LAT}\n`);
  const simUrl = await start(
    ["sim-server", "--port", "0", "--config", path.join(tmp, "sim.yaml")],
    /listening on (http:\/\/127\.0\.0\.1:\d+)/,
  );

  // keys on: one key with a budget, a rate limit and a concurrency limit none of which binds, so every
  // request is authenticated, admitted (budget, concurrency, rate) and has its spend recorded
  const keysFile = path.join(tmp, "keys.json");
  const created = spawnSync(
    process.execPath,
    [cli, "keys", "create", "--file", keysFile, "--id", "bench", "--budget", "1000000", "--rpm", "1000000", "--concurrency", String(4 * C)],
    { encoding: "utf8" },
  );
  if (created.status !== 0) throw new Error(`keys create failed: ${created.stderr}`);
  const key = created.stdout.trim();

  const tasks = generateArithmeticTasks({
    seed: "bench-serve",
    count: N + C,
    types: ["addsub", "muldiv", "percent"],
    minSteps: 2,
    maxSteps: 4,
  });

  /** Serves the run (with `extra` options), warms up, then times the N requests; stops the server. */
  async function measure(label, extra, headers) {
    const url = await start(
      [
        "serve",
        runDir,
        "--port",
        "0",
        "--log-level",
        "warn",
        "--set",
        `llm.baseURL=${simUrl}/v1`,
        "--set",
        `llm.maxConcurrency=${C}`,
        "--set",
        "llm.cache.mode=off",
        ...extra,
      ],
      /listening on (http:\/\/127\.0\.0\.1:\d+)/,
    );
    const server = children[children.length - 1];
    const ask = async (prompt) => {
      const t0 = performance.now();
      const r = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ model: "maestro", messages: [{ role: "user", content: prompt }] }),
      });
      const body = await r.json();
      const ms = performance.now() - t0;
      if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${JSON.stringify(body)}`);
      const calls = body.maestro.steps.filter((s) => s.agent !== "terminator").length;
      const errors = body.maestro.steps.filter((s) => s.error !== undefined).length;
      return { ms, calls, errors, steps: body.maestro.steps.length };
    };
    const cpuSeconds = async () => {
      const text = await (await fetch(`${url}/metrics`, { headers })).text();
      return Number(/^maestro_process_cpu_seconds_total (\S+)$/m.exec(text)[1]);
    };
    // warm-up: one request per client (connections, JIT), not timed
    await Promise.all(tasks.slice(0, C).map((t) => ask(t.prompt)));
    const cpu0 = await cpuSeconds();
    const results = [];
    let next = C;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: C }, async () => {
        while (next < N + C) {
          const t = tasks[next++];
          results.push(await ask(t.prompt));
        }
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    const cpu = (await cpuSeconds()) - cpu0;
    const stopped = new Promise((r) => server.once("exit", r));
    server.kill("SIGTERM");
    await stopped;
    const lat = results.map((r) => r.ms);
    const bound = results.map((r) => r.calls * LAT);
    const rate = N / secs;
    const ideal = C / (mean(bound) / 1000);
    const errors = results.reduce((a, r) => a + r.errors, 0);
    const p = `serve (${label})`;
    console.log(`${p}: ${N} requests, ${C} clients, LLM latency ${LAT} ms, episodes at once ${C}, cache off`);
    console.log(
      `${p}: ${mean(results.map((r) => r.steps)).toFixed(2)} steps and ${mean(results.map((r) => r.calls)).toFixed(2)} LLM calls per episode, error turns ${errors}`,
    );
    console.log(
      `${p}: ${rate.toFixed(1)} requests/s (ideal ${ideal.toFixed(1)} = ${C} / mean bound); achieved/ideal = ${(rate / ideal).toFixed(3)}`,
    );
    console.log(
      `${p}: latency p50 ${pct(lat, 0.5).toFixed(0)} ms, p95 ${pct(lat, 0.95).toFixed(0)} ms; bound (LLM calls × ${LAT} ms) p50 ${pct(bound, 0.5).toFixed(0)} ms, p95 ${pct(bound, 0.95).toFixed(0)} ms`,
    );
    console.log(
      `${p}: the serve process used ${((1000 * cpu) / N).toFixed(2)} ms CPU per request (${((100 * cpu) / secs).toFixed(0)}% of one core over the run)`,
    );
    const over = results.map((r) => r.ms - r.calls * LAT);
    console.log(
      `${p}: latency − bound per request: p50 ${pct(over, 0.5).toFixed(1)} ms, p95 ${pct(over, 0.95).toFixed(1)} ms; mean latency / mean bound = ${(mean(lat) / mean(bound)).toFixed(3)}`,
    );
    return { rate, ratio: rate / ideal, p50: pct(lat, 0.5), p95: pct(lat, 0.95), cpuMs: (1000 * cpu) / N };
  }

  const off = await measure("keys off", [], {});
  const on = await measure("keys on", ["--keys", keysFile], { authorization: `Bearer ${key}` });
  console.log(
    `keys on / keys off: requests/s ${(on.rate / off.rate).toFixed(3)}, achieved/ideal ${on.ratio.toFixed(3)} vs ${off.ratio.toFixed(3)}, ` +
      `p50 ${on.p50.toFixed(0)} vs ${off.p50.toFixed(0)} ms, p95 ${on.p95.toFixed(0)} vs ${off.p95.toFixed(0)} ms, CPU per request ${on.cpuMs.toFixed(2)} vs ${off.cpuMs.toFixed(2)} ms`,
  );
} finally {
  for (const c of children) c.kill("SIGTERM");
  fs.rmSync(tmp, { recursive: true, force: true });
}
