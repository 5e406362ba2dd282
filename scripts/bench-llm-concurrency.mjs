#!/usr/bin/env node
// Concurrency benchmark of the LLM layer against the simulated server at 100 ms latency.
//
//   npm run build && node scripts/bench-llm-concurrency.mjs [--requests 640] [--concurrency 16] [--latency 100]
//
// 1. client: N distinct chat requests through one LlmClient (the run's shared limiter), cache off;
// 2. rollout: a short LLM-backed training run (64 episodes per update in lockstep) through the same
//    limiter, counting provider requests over the run's wall time.
// The ideal rate is concurrency / latency (16 / 0.1 s = 160 requests/s); prints achieved / ideal.
import "./lib/help.mjs"; // --help prints the comment above; bad options print it too
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { LlmClient, loadConfig, train } from "../dist/index.js";

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const N = opt("--requests", 640);
const C = opt("--concurrency", 16);
const LAT = opt("--latency", 100);
const ideal = C / (LAT / 1000);

// the server runs in its own process (as `maestro sim-server` would), so its CPU work does not
// share this process's event loop
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-bench-llm-"));
fs.writeFileSync(path.join(tmp, "sim.yaml"), `defaults:\n  latencyMs: ${LAT}\n`);
const child = spawn(process.execPath, ["dist/cli.js", "sim-server", "--port", "0", "--config", path.join(tmp, "sim.yaml")], {
  stdio: ["ignore", "pipe", "inherit"],
});
const url = await new Promise((resolve, reject) => {
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
    const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
    if (m) resolve(m[1]);
  });
  child.once("exit", (code) => reject(new Error(`sim-server exited (${code}): ${out}`)));
});
try {
  const model = {
    ref: "m",
    provider: "openai",
    model: "sim-fast",
    baseURL: `${url}/v1`,
    temperature: 0.7,
    maxTokens: 256,
    timeoutMs: 10_000,
    maxRetries: 0,
    inputPricePerM: 0.15,
    outputPricePerM: 0.6,
    paramsB: 8,
  };
  const client = new LlmClient({
    models: { m: model },
    maxConcurrency: C,
    cost: { mode: "price", computeScale: 1e-12 },
    cache: { mode: "off", dir: path.join(tmp, "cache") },
    sendSeed: true,
  });
  const problem = (i) => [
    { role: "system", content: "Role: coder." },
    { role: "user", content: `Task:\nAva has ${10 + i} apples. Then Ava buys 5 more. How many apples does Ava have now?` },
  ];
  // warm-up (connection set-up, JIT)
  await Promise.all(Array.from({ length: C }, (_, i) => client.chat("m", problem(-1 - i), 0, 0)));
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: N }, (_, i) => client.chat("m", problem(i), i, 0)));
  const secs = (performance.now() - t0) / 1000;
  const errors = results.filter((r) => r.error).length;
  const rate = N / secs;
  console.log(
    `client:  ${N} requests in ${secs.toFixed(2)} s at ${LAT} ms latency, maxConcurrency ${C}: ${rate.toFixed(1)} req/s (ideal ${ideal.toFixed(0)}), errors ${errors}`,
  );
  console.log(`client:  achieved/ideal = ${(rate / ideal).toFixed(3)}`);

  const config = loadConfig("configs/llm-arithmetic.yaml", {
    sets: [
      `llm.baseURL=${url}/v1`,
      `llm.maxConcurrency=${C}`,
      `llm.cache.mode=off`,
      `llm.cache.dir=${path.join(tmp, "cache")}`,
      "train.updates=3",
      "train.episodesPerUpdate=64",
      "log.plot=false",
    ],
  });
  const t1 = performance.now();
  const summary = await train({ config, runDir: path.join(tmp, "run") });
  const secs2 = (performance.now() - t1) / 1000;
  const reqs = summary.llm.requests;
  const rate2 = reqs / secs2;
  console.log(
    `rollout: ${summary.episodes} LLM episodes, ${reqs} requests in ${secs2.toFixed(2)} s: ${rate2.toFixed(1)} req/s (ideal ${ideal.toFixed(0)})`,
  );
  console.log(`rollout: achieved/ideal = ${(rate2 / ideal).toFixed(3)} (lockstep steps: the last wave of each step is not full)`);
} finally {
  child.kill("SIGTERM");
  fs.rmSync(tmp, { recursive: true, force: true });
}
