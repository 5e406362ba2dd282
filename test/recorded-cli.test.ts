import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { removeTmpDirs, repoRoot, runCli, tmpDir } from "./helpers.js";
import { writeThreeModelFile } from "./recorded-helpers.js";

afterAll(removeTmpDirs);

interface CurveJson {
  apgr: number | null;
  cpt50: number | null;
  cpt80: number | null;
  points: Array<{ x: number; accuracy: number; cost: number; knob?: number }>;
  baselines: Array<{ name: string; apgr: number | null; points: unknown[] }>;
  weak: { agent: string };
  strong: { agent: string };
  split: string;
}

describe("the shipped recorded configs on another recorded file (three generated models)", () => {
  const dir = tmpDir("three");
  const data = writeThreeModelFile(path.join(dir, "three.jsonl"), 150);

  // gsm8k-cascade runs exactly as shipped, only tasks.file changed; the routers are cut to 3 updates to
  // keep the suite fast (the number of updates has nothing to do with the file's layout)
  it.each([
    ["gsm8k-cascade", []],
    ["gsm8k-router", ["--set", "train.updates=3"]],
    ["mmlu-router", ["--set", "train.updates=3"]],
  ] as Array<[string, string[]]>)("%s trains with --set tasks.file=<generated file> and draws a curve", { timeout: 300_000 }, (name, extra) => {
    const run = path.join(dir, name);
    const t = runCli(["train", path.join(repoRoot, "configs", `${name}.yaml`), "--set", `tasks.file=${data}`, ...extra, "--run-dir", run, "--quiet"]);
    expect(t.status, t.stderr).toBe(0);
    const cfg = fs.readFileSync(path.join(run, "config.yaml"), "utf8");
    for (const m of ["small", "medium", "large"]) expect(cfg).toContain(`model: ${m}`);
    const c = runCli(["curve", run, "--json", "--points", "5"]);
    expect(c.status, c.stderr).toBe(0);
    const r = JSON.parse(c.stdout) as CurveJson;
    expect(r.split).toBe("test");
    expect(r.weak.agent).toBe("small");
    expect(r.strong.agent).toBe("large");
    expect(typeof r.apgr).toBe("number");
    expect(r).toHaveProperty("cpt50");
    expect(r).toHaveProperty("cpt80");
    expect(r.points.length).toBeGreaterThanOrEqual(5);
    expect(r.baselines.map((b) => b.name)).toEqual(["always-weak", "always-strong", "random", "oracle", "best-rule"]);
    for (const f of ["curve.csv", "curve.json", "curve.png"]) expect(fs.existsSync(path.join(run, "curve", f)), f).toBe(true);
    expect(fs.readFileSync(path.join(run, "curve", "curve.csv"), "utf8").split("\n")[0]).toBe("series,x,accuracy,cost,knob");
  });

  it("the cascade learned on the generated file beats the random mix, and orchestrate picks operating points with --lambda", () => {
    const run = path.join(dir, "gsm8k-cascade");
    const r = JSON.parse(fs.readFileSync(path.join(run, "curve", "curve.json"), "utf8")) as CurveJson;
    const random = r.baselines.find((b) => b.name === "random")!;
    expect(r.apgr!).toBeGreaterThan(random.apgr! + 0.1);
    const o = runCli(["orchestrate", "--run", run, "--lambda", "0.05", "--tasks", data, "--json"]);
    expect(o.status, o.stderr).toBe(0);
    const traces = JSON.parse(o.stdout) as Array<{ steps: Array<{ agent: string }>; success: boolean }>;
    expect(traces).toHaveLength(150);
    const bad = runCli(["orchestrate", "--run", run, "--budget", "0.5", "--tasks", data]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("conditioned on its lambda, not a budget");
  });

  it("curve refuses a folder that is not a run, and a run that is not on recorded outputs", () => {
    const bad = runCli(["curve", path.join(dir, "nope")]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("nope: no such folder");
    const doa = path.join(dir, "doa");
    expect(runCli(["train", path.join(repoRoot, "configs/doa-mvp.yaml"), "--set", "train.updates=1", "--set", "log.plot=false", "--run-dir", doa, "--quiet"]).status).toBe(0);
    const r = runCli(["curve", doa]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("needs a run on recorded outputs");
  });
});

describe("a budget-knob run resumes exactly", () => {
  it("cut after update 3 of 6 and resumed: the same metrics.csv (multipliers, knob draws and all) as the run that never stopped", { timeout: 120_000 }, async () => {
    const { loadConfig } = await import("../src/config/load.js");
    const { train } = await import("../src/run/train.js");
    const { metricsWithoutTiming } = await import("./helpers.js");
    const dir = tmpDir("resume");
    const data = writeThreeModelFile(path.join(dir, "three.jsonl"), 60);
    const config = loadConfig(path.join(repoRoot, "configs/gsm8k-cascade.yaml"), {
      sets: [`tasks.file=${data}`, "knob.name=budget", "train.updates=6", "train.episodesPerUpdate=32", "train.checkpointEvery=3", "log.plot=false"],
    });
    const full = path.join(dir, "full");
    await train({ config, runDir: full });
    const cut = path.join(dir, "cut");
    fs.cpSync(full, cut, { recursive: true });
    fs.rmSync(path.join(cut, "checkpoints", "update-000006"), { recursive: true });
    fs.rmSync(path.join(cut, "summary.json"));
    await train({ resumeDir: cut });
    const a = metricsWithoutTiming(path.join(full, "metrics.csv"));
    expect(a[0]).toContain("knob_lambda_max");
    expect(a).toHaveLength(7);
    expect(metricsWithoutTiming(path.join(cut, "metrics.csv"))).toEqual(a);
  });
});
