import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { removeTmpDirs, repoRoot, runCli, tmpDir } from "./helpers.js";
import { checkCurve, writeThreeModelFile } from "./recorded-helpers.js";

afterAll(removeTmpDirs);

describe("the shipped recorded configs on another recorded file (three generated models)", () => {
  const dir = tmpDir("three");
  const data = writeThreeModelFile(path.join(dir, "three.jsonl"), 150);

  // the routers cut to 3 updates (the number of updates has nothing to do with the file's layout); the
  // cascade as shipped, trained to the end, is in test/slow/recorded-configs.test.ts
  it.each(["gsm8k-router", "mmlu-router"])(
    "%s trains with --set tasks.file=<generated file> and draws a curve",
    { timeout: 300_000 },
    (name) => {
      const run = path.join(dir, name);
      const t = runCli([
        "train",
        path.join(repoRoot, "configs", `${name}.yaml`),
        "--set",
        `tasks.file=${data}`,
        "--set",
        "train.updates=3",
        "--run-dir",
        run,
        "--quiet",
      ]);
      expect(t.status, t.stderr).toBe(0);
      checkCurve(run);
    },
  );

  it("curve refuses a folder that is not a run, and a run that is not on recorded outputs", () => {
    const bad = runCli(["curve", path.join(dir, "nope")]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("nope: no such folder");
    const doa = path.join(dir, "doa");
    expect(
      runCli([
        "train",
        path.join(repoRoot, "configs/doa-mvp.yaml"),
        "--set",
        "train.updates=1",
        "--set",
        "log.plot=false",
        "--run-dir",
        doa,
        "--quiet",
      ]).status,
    ).toBe(0);
    const r = runCli(["curve", doa]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("needs a run on recorded outputs");
  });
});

describe("a budget-knob run resumes exactly", () => {
  it(
    "cut after update 3 of 6 and resumed: the same metrics.csv (multipliers, knob draws and all) as the run that never stopped",
    { timeout: 120_000 },
    async () => {
      const { loadConfig } = await import("../src/config/load.js");
      const { train } = await import("../src/run/train.js");
      const { metricsWithoutTiming } = await import("./helpers.js");
      const dir = tmpDir("resume");
      const data = writeThreeModelFile(path.join(dir, "three.jsonl"), 60);
      const config = loadConfig(path.join(repoRoot, "configs/gsm8k-cascade.yaml"), {
        sets: [
          `tasks.file=${data}`,
          "knob.name=budget",
          "train.updates=6",
          "train.episodesPerUpdate=32",
          "train.checkpointEvery=3",
          "log.plot=false",
        ],
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
    },
  );
});
