import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/load.js";
import { readMetrics } from "../src/run/metrics.js";
import { train } from "../src/index.js";
import { evaluateRun } from "../src/analysis/evaluate.js";
import { selectBackend } from "../src/policy/backend.js";
import { cliPath, metricsWithoutTiming, repoRoot, runCli, tmpDir, writeConfig } from "./helpers.js";

const mvp = path.join(repoRoot, "configs", "doa-mvp.yaml");

beforeAll(async () => {
  await selectBackend("auto");
});

describe("maestro train (DOA MVP)", () => {
  it("writes the documented run folder", () => {
    const dir = path.join(tmpDir(), "run");
    const r = runCli(["train", mvp, "--run-dir", dir, "--set", "train.updates=5"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split("\n")[0]).toMatch(/^backend: (node|wasm|cpu)$/);
    for (const f of ["config.yaml", "manifest.json", "metrics.csv", "episodes.jsonl", "summary.json", "plots/learning-curve.png"]) {
      expect(fs.existsSync(path.join(dir, f)), f).toBe(true);
    }
    const { columns, rows } = readMetrics(path.join(dir, "metrics.csv"));
    expect(columns.slice(0, 10)).toEqual([
      "update",
      "episodes",
      "env_steps",
      "return_mean",
      "return_std",
      "success_rate",
      "cost_mean",
      "ep_len_mean",
      "loss",
      "entropy",
    ]);
    expect(columns[columns.length - 1]).toBe("wall_s");
    expect(rows.map((r) => r.update)).toEqual([1, 2, 3, 4, 5]);
    expect(rows.map((r) => r.episodes)).toEqual([10, 20, 30, 40, 50]);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
    expect(manifest).toMatchObject({ name: "doa-mvp", seed: 0 });
    expect(manifest.backend).toMatch(/node|wasm|cpu/);
    expect(manifest.versions.node).toBe(process.versions.node);
    const summary = JSON.parse(fs.readFileSync(path.join(dir, "summary.json"), "utf8"));
    expect(summary).toMatchObject({ status: "completed", updates: 5, episodes: 50 });
    // the resolved config holds the agent definitions inline and the override
    const cfg = YAML.parse(fs.readFileSync(path.join(dir, "config.yaml"), "utf8"));
    expect(cfg.agents.map((a: { kind: string }) => a.kind)).toEqual(["echo", "terminator"]);
    expect(cfg.train.updates).toBe(5);
    const ep = fs
      .readFileSync(path.join(dir, "episodes.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(ep.length).toBe(10); // 2 per update
    expect(ep[0]).toMatchObject({ update: 1, episode: 0, task: "0" });
    expect(ep[0].agents.length).toBe(ep[0].length);
  });

  it("is deterministic: same config + seed ⇒ identical metrics.csv apart from wall_s", async () => {
    const root = tmpDir();
    const config = loadConfig(mvp, { sets: ["train.updates=15", "log.plot=false"] });
    await train({ config, runDir: path.join(root, "a") });
    await train({ config, runDir: path.join(root, "b") });
    const a = metricsWithoutTiming(path.join(root, "a", "metrics.csv"));
    expect(a.length).toBe(16);
    expect(metricsWithoutTiming(path.join(root, "b", "metrics.csv"))).toEqual(a);
    const other = loadConfig(mvp, { sets: ["train.updates=15", "log.plot=false"], seed: 1 });
    await train({ config: other, runDir: path.join(root, "c") });
    expect(metricsWithoutTiming(path.join(root, "c", "metrics.csv"))).not.toEqual(a);
  });

  it("a run killed mid-way and resumed gives the same metrics.csv as an uninterrupted run", async () => {
    const root = tmpDir();
    const sets = [
      "--set",
      "train.updates=300",
      "--set",
      "train.checkpointEvery=7",
      "--set",
      "log.plot=false",
      "--set",
      "log.episodeSample=1",
    ];
    const full = path.join(root, "full");
    expect(runCli(["train", mvp, "--run-dir", full, "--quiet", ...sets]).status).toBe(0);

    const killed = path.join(root, "killed");
    const child = spawn(process.execPath, [cliPath, "train", mvp, "--run-dir", killed, "--quiet", ...sets], { stdio: "ignore" });
    const metrics = path.join(killed, "metrics.csv");
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        const n = fs.existsSync(metrics) ? fs.readFileSync(metrics, "utf8").split("\n").length : 0;
        if (n > 60) {
          clearInterval(t);
          child.kill("SIGKILL");
          resolve();
        }
      }, 5);
      child.on("exit", () => {
        clearInterval(t);
        reject(new Error("the run finished before it could be killed"));
      });
    });
    await new Promise((r) => child.on("exit", r));
    const rowsAtKill = fs.readFileSync(metrics, "utf8").trim().split("\n").length - 1;
    expect(rowsAtKill).toBeLessThan(300);
    expect(fs.existsSync(path.join(killed, "summary.json"))).toBe(false);

    const r = runCli(["train", "--resume", killed, "--quiet"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/resumed after update \d+/);
    expect(metricsWithoutTiming(metrics)).toEqual(metricsWithoutTiming(path.join(full, "metrics.csv")));
    expect(fs.readFileSync(path.join(killed, "episodes.jsonl"), "utf8")).toBe(fs.readFileSync(path.join(full, "episodes.jsonl"), "utf8"));
    const manifest = JSON.parse(fs.readFileSync(path.join(killed, "manifest.json"), "utf8"));
    expect(manifest.resumes.length).toBe(1);
  });

  it("resumes from the last complete checkpoint, ignoring a torn one and rows written after it", async () => {
    const root = tmpDir();
    const config = loadConfig(mvp, { sets: ["train.updates=12", "train.checkpointEvery=5", "log.plot=false"] });
    const full = path.join(root, "full");
    await train({ config, runDir: full });
    // simulate a kill after update 8: rows 9–12 gone, checkpoint 10 never finished
    const cut = path.join(root, "cut");
    await train({ config: { ...config, train: { ...config.train, updates: 8 } }, runDir: cut });
    // the 8-update run checkpointed at 5 and at its end (8): drop the end one, as a kill at update 9 would leave it
    fs.rmSync(path.join(cut, "checkpoints", "update-000008"), { recursive: true });
    fs.mkdirSync(path.join(cut, "checkpoints", "update-000010"));
    fs.writeFileSync(path.join(cut, "checkpoints", "update-000010", "model.json"), "{"); // torn: no weights.bin
    fs.rmSync(path.join(cut, "summary.json"));
    // the resumed run continues with the original 12-update config
    fs.writeFileSync(path.join(cut, "config.yaml"), fs.readFileSync(path.join(full, "config.yaml")));
    await train({ resumeDir: cut });
    expect(metricsWithoutTiming(path.join(cut, "metrics.csv"))).toEqual(metricsWithoutTiming(path.join(full, "metrics.csv")));
  });

  it("maestro eval reports the trained policy; greedy evaluation of a trained MVP policy succeeds", async () => {
    const dir = path.join(tmpDir(), "run");
    await train({ config: loadConfig(mvp, { sets: ["log.plot=false"] }), runDir: dir });
    const res = await evaluateRun(dir, { episodes: 50, greedy: true });
    expect(res.checkpointUpdate).toBe(50);
    expect(res.success_rate).toBe(1);
    const r = runCli(["eval", dir, "--episodes", "20", "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.episodes).toBe(20);
    expect(j.agentUsage.echo + j.agentUsage.terminator).toBeCloseTo(1, 6);
  });

  it("stops on a non-finite loss with a clear error and keeps the last good checkpoint", () => {
    const dir = path.join(tmpDir(), "run");
    expect(
      runCli(["train", mvp, "--run-dir", dir, "--set", "train.updates=3", "--set", "train.checkpointEvery=1", "--set", "log.plot=false"])
        .status,
    ).toBe(0);
    // continue with a success bonus beyond float32 range: the returns become infinite at update 4
    const cfgFile = path.join(dir, "config.yaml");
    const cfg = YAML.parse(fs.readFileSync(cfgFile, "utf8"));
    cfg.train.updates = 6;
    cfg.reward.successBonus = 1e39;
    fs.writeFileSync(cfgFile, YAML.stringify(cfg));
    const before = fs.readFileSync(path.join(dir, "checkpoints", "update-000003", "weights.bin"));
    const r = runCli(["train", "--resume", dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/loss became (NaN|Infinity|-Infinity)/);
    const summary = JSON.parse(fs.readFileSync(path.join(dir, "summary.json"), "utf8"));
    expect(summary.status).toBe("failed");
    expect(summary.updates).toBe(3);
    expect(fs.readdirSync(path.join(dir, "checkpoints")).sort()).toEqual(["update-000001", "update-000002", "update-000003"]);
    expect(fs.readFileSync(path.join(dir, "checkpoints", "update-000003", "weights.bin")).equals(before)).toBe(true);
  });
});

describe("invalid configs", () => {
  const good = fs.readFileSync(mvp, "utf8");

  function expectRejected(text: string, pattern: RegExp, extra: string[] = [], namesFile = true) {
    const dir = tmpDir();
    const file = writeConfig(dir, "bad.yaml", text);
    const runDir = path.join(dir, "run");
    const r = runCli(["train", file, "--run-dir", runDir, ...extra], { cwd: dir });
    expect(r.status).not.toBe(0);
    if (namesFile) expect(r.stderr).toContain(file);
    else expect(r.stderr).not.toContain(file);
    expect(r.stderr).toMatch(pattern);
    expect(fs.existsSync(runDir)).toBe(false);
    expect(fs.existsSync(path.join(dir, "runs"))).toBe(false);
  }

  it("rejects an unknown field, naming it", () => {
    expectRejected(good.replace("  maxGradNorm: 1.0", "  maxGradNorm: 1.0\n  learningRate: 0.1"), /algo\.learningRate: unknown field/);
  });

  it("rejects a wrong type, naming the field", () => {
    expectRejected(good.replace("  maxSteps: 4", "  maxSteps: four"), /env\.maxSteps: .*expected number/i);
  });

  it("rejects a missing agent file, naming the entry and where it looked", () => {
    expectRejected(
      good.replace("agents: [echo, terminator]", "agents: [echo, nosuchagent]"),
      /agents\[1\]: agent file for "nosuchagent" not found/,
    );
  });

  it("rejects malformed YAML with file, line and column", () => {
    expectRejected(good.replace("  maxSteps: 4", "  maxSteps: [4"), /bad\.yaml:\d+:\d+: malformed YAML/);
  });

  it("rejects a bad --set override, naming the --set (not the YAML file, whose text is fine)", () => {
    expectRejected(good, /^error: --set algo\.lr=fast: .*expected number/i, ["--set", "algo.lr=fast"], false);
  });

  it("rejects a malformed agent definition file, naming that file and field", () => {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, "agents"));
    fs.writeFileSync(path.join(dir, "agents", "cheap.yaml"), "name: cheap\nkind: echo\ncost: -1\n");
    const file = writeConfig(dir, "cfg.yaml", good.replace("agents: [echo, terminator]", "agents: [cheap, terminator]"));
    const r = runCli(["train", file, "--run-dir", path.join(dir, "run")], { cwd: dir });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(path.join(dir, "agents", "cheap.yaml"));
    expect(r.stderr).toMatch(/cost: .*>=0/);
    expect(fs.existsSync(path.join(dir, "run"))).toBe(false);
  });

  it("rejects options that --resume would silently ignore, and a bad --episodes for eval", () => {
    const r = runCli(["train", "--resume", tmpDir(), "--seed", "3"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--seed cannot be combined with --resume/);
    const notRun = tmpDir();
    const nr = runCli(["train", "--resume", notRun, "--set", "train.updates=9"]);
    expect(nr.status).toBe(2);
    expect(nr.stderr).toContain(`${notRun}: not a run folder (no config.yaml)`);
    for (const bad of ["0", "-5", "2.5", "abc"]) {
      const e = runCli(["eval", tmpDir(), "--episodes", bad]);
      expect(e.status, bad).toBe(2);
      expect(e.stderr).toMatch(/--episodes .*expected a positive integer/);
    }
  });

  it("refuses to overwrite a non-empty run folder", () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, "keep.txt"), "precious");
    const r = runCli(["train", mvp, "--run-dir", dir]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/already exists/);
    expect(fs.readFileSync(path.join(dir, "keep.txt"), "utf8")).toBe("precious");
  });
});
