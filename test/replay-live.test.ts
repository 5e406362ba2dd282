import { execFile, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluateRun } from "../src/analysis/evaluate.js";
import { liveConfig } from "../src/config/live.js";
import { validateConfig } from "../src/config/load.js";
import { InputError } from "../src/core/errors.js";
import { startReplayServer, type ReplayServer } from "../src/llm/replay-server.js";
import { loadRunConfig, train } from "../src/run/train.js";
import { loadRecordedTable } from "../src/tasks/recorded.js";
import { extractAnswer } from "../src/agents/llm.js";
import { cli, removeTmpDirs, tmpDir } from "./helpers.js";
import { chat, replayModels, writeReplayTable } from "./replay-helpers.js";

/**
 * The live path of a run trained on recorded answers: `--live URL` builds its recorded agents as llm
 * agents of the same models against an OpenAI-compatible endpoint, here the replay server of the table.
 */

const dir = tmpDir("replay-live");
const file = writeReplayTable(path.join(dir, "answers.jsonl"), 16, 7);
const table = loadRecordedTable({ files: [file] });
const runDir = path.join(dir, "run");
const names = { small: "acme/small-1", medium: "acme/medium-2", large: "acme/large-3" } as const;
const children: ChildProcess[] = [];
let server: ReplayServer;

beforeAll(async () => {
  const config = validateConfig(
    {
      name: "replay-live",
      seed: 2,
      agents: [...Object.entries(names).map(([name, model]) => ({ kind: "recorded", name, model })), "terminator"],
      tasks: { source: "recorded", file, evaluator: "numeric", split: { train: 0.5, val: 0, test: 0.5 } },
      // priced under their own keys (not the column names): the live agents must keep these prices
      llm: { models: Object.fromEntries(Object.entries(names).map(([k, model]) => [`${k}-price`, { model, ...replayModels[model] }])) },
      env: { maxSteps: 4, shape: "cascade" },
      encoder: { name: "answers" },
      algo: { name: "reinforce", lr: 0.05 },
      train: { updates: 3, episodesPerUpdate: 16, checkpointEvery: 3 },
      log: { plot: false, episodeSample: 0 },
    },
    path.join(dir, "config.yaml"),
    dir,
  );
  await train({ config, runDir });
  server = await startReplayServer({ files: [file], port: 0 });
}, 120_000);

afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  await server?.close();
  removeTmpDirs();
});

function runCli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: process.env, encoding: "utf8", timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function spawnServe(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [cli, "serve", runDir, "--port", "0", "--log-level", "silent", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) resolve({ url: m[1]!, child });
    });
    child.once("exit", (code) => reject(new Error(`maestro serve exited with ${code}: ${out}\n${err}`)));
  });
}

describe("--live: a recorded run's agents asked over the API", () => {
  it("the live config: one llm agent per recorded agent, same model column, prices and answer form, no cache", () => {
    const c = liveConfig(loadRunConfig(runDir), { baseURL: `${server.url}/v1`, apiKeyEnv: "SOME_KEY" }, runDir);
    const llm = c.agents.filter((a) => a.kind === "llm");
    expect(llm.map((a) => a.name)).toEqual(["small", "medium", "large"]);
    for (const a of llm) {
      const m = c.llm!.models[a.model]!;
      const column = names[a.name as keyof typeof names];
      expect(m).toMatchObject({ model: column, baseURL: `${server.url}/v1`, apiKeyEnv: "SOME_KEY", ...replayModels[column] });
      expect(a.kind === "llm" && a.transcript.lastTurns).toBe(0);
    }
    expect(c.llm!.cache.mode).toBe("off");
    expect(c.agents.map((a) => a.kind)).toEqual(["llm", "llm", "llm", "terminator"]);
  });

  it("eval --live on the replay server gives exactly the recorded evaluation", async () => {
    const o = { episodes: 40, greedy: false, seed: 9 };
    const rec = await evaluateRun(runDir, o);
    const live = await evaluateRun(runDir, { ...o, live: { baseURL: `${server.url}/v1` } });
    for (const k of ["return_mean", "return_std", "success_rate", "cost_mean", "ep_len_mean"] as const) expect(live[k]).toBe(rec[k]);
    expect(live.agentUsage).toEqual(rec.agentUsage);
    expect(rec.cost_mean).toBeGreaterThan(0);
  }, 60_000);

  it("serve --live: a question of the table is answered with the recorded answer of the models the trace names", async () => {
    const { url } = await spawnServe(["--live", `${server.url}/v1`]);
    const item = table.byId.get("q4")!;
    const before = server.stats.byPath["/v1/chat/completions"] ?? 0;
    const r = await chat(url, { model: "maestro", messages: [{ role: "user", content: item.prompt }] });
    expect(r.status).toBe(200);
    const steps = r.body.maestro!.steps.filter((s) => s.agent !== "terminator");
    expect(steps.length).toBeGreaterThan(0);
    // the steps name the recorded models, and each was asked at the replay server
    for (const s of steps) {
      expect(s.error).toBeUndefined();
      expect(s.model).toBe(names[s.agent as keyof typeof names]);
    }
    expect((server.stats.byPath["/v1/chat/completions"] ?? 0) - before).toBe(steps.length);
    const last = steps[steps.length - 1]!;
    const expected = extractAnswer(item.models[last.model!]!.text!.trim(), { mode: "answer-line" });
    expect(r.body.maestro!.final_answer).toBe(expected ?? null);
    if (expected !== undefined) expect(r.body.choices![0]!.message.content).toBe(expected);

    // a question the table does not have: the replay server's 400, surfaced as a clear 400
    const miss = await chat(url, { model: "maestro", messages: [{ role: "user", content: "How many legs has a spider?" }] });
    expect(miss.status).toBe(400);
    expect(miss.body.error).toMatchObject({ type: "invalid_request_error", code: "upstream_rejected" });
    expect(miss.body.error!.message).toMatch(/every model call was rejected: .*400.*contains no prompt of the recorded table/);
    expect(miss.text).not.toContain(dir);
    expect(miss.text).not.toMatch(/at .*\.js:\d+/);
    // orchestrate prints the trace, then the rejection as an error, and fails
    const o = await runCli(["orchestrate", "--run", runDir, "--task", "How many legs has a spider?", "--live", `${server.url}/v1`]);
    expect(o.status).toBe(1);
    expect(o.stdout).toContain("[error]");
    expect(o.stderr).toMatch(/^error: every model call was rejected: .*contains no prompt of the recorded table/m);
  }, 60_000);

  it("a dead endpoint, a bad URL, a key variable without --live, a run without prices: clear errors before anything runs", async () => {
    const down = await startReplayServer({ files: [file], port: 0 });
    const deadUrl = `${down.url}/v1`;
    await down.close();
    const r = await runCli(["orchestrate", "--run", runDir, "--task", table.items[0]!.prompt, "--live", deadUrl]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`--live ${deadUrl}: cannot reach the endpoint (ECONNREFUSED)`);
    const e = await evaluateRun(runDir, { episodes: 2, live: { baseURL: deadUrl } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).toContain(deadUrl);

    const bad = await runCli(["eval", runDir, "--live", "localhost:8787"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--live localhost:8787: expected an http:\/\/ or https:\/\/ base URL/);
    const keyOnly = await runCli(["serve", runDir, "--live-api-key-env", "OPENAI_API_KEY"]);
    expect(keyOnly.status).toBe(2);
    expect(keyOnly.stderr).toMatch(/--live-api-key-env .* give --live URL too/);

    // a malformed replay file: the CLI names file and line and never listens
    const broken = path.join(dir, "broken.jsonl");
    fs.writeFileSync(broken, `${fs.readFileSync(file, "utf8").split("\n")[0]}\n{"prompt": "x", "models": {"m": {"tokensIn": -1}}}\n`);
    const srv = await runCli(["sim-server", "--replay", broken, "--port", "0"]);
    expect(srv.status).toBe(2);
    expect(srv.stderr).toContain(`error: ${broken}:2: models.m.tokensIn`);
    expect(srv.stdout).not.toContain("listening");
    expect(srv.stdout).not.toContain("replaying");
    const missing = await runCli(["sim-server", "--replay", path.join(dir, "nope-*.csv"), "--port", "0"]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--replay: the pattern ".*nope-\*\.csv" matches no file/);

    const unpriced = { ...loadRunConfig(runDir), llm: undefined };
    expect(() => liveConfig(unpriced as never, { baseURL: `${server.url}/v1` }, runDir)).toThrow(
      /agent "small" \(model "acme\/small-1"\) has no prices in llm\.models/,
    );
  }, 60_000);
});
