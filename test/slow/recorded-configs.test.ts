import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { removeTmpDirs, repoRoot, runCli, tmpDir } from "../helpers.js";
import { checkCurve, writeThreeModelFile, type CurveJson } from "../recorded-helpers.js";

afterAll(removeTmpDirs);

// configs/gsm8k-cascade.yaml exactly as shipped, only tasks.file changed, trained to the end: it must learn
// a cascade that beats the random mix on a file it was not written for
describe("the shipped gsm8k-cascade config on another recorded file (three generated models)", () => {
  const dir = tmpDir("three");
  const data = writeThreeModelFile(path.join(dir, "three.jsonl"), 150);

  it("trains with --set tasks.file=<generated file> and draws a curve", { timeout: 300_000 }, () => {
    const run = path.join(dir, "gsm8k-cascade");
    const t = runCli([
      "train",
      path.join(repoRoot, "configs", "gsm8k-cascade.yaml"),
      "--set",
      `tasks.file=${data}`,
      "--run-dir",
      run,
      "--quiet",
    ]);
    expect(t.status, t.stderr).toBe(0);
    checkCurve(run);
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
});
