import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/load.js";
import { loadRunConfig } from "../src/run/resume.js";
import { loadSweep } from "../src/sweep/spec.js";
import { expectInputError, metricsWithoutTiming, removeTmpDirs, repoRoot, runCli, tmpDir, writeConfig, writeSweep } from "./helpers.js";

afterAll(removeTmpDirs);

const mvp = path.join(repoRoot, "configs", "doa-mvp.yaml");

/** The learning rate the REINFORCE trainer of a config actually steps with. */
function effectiveLr(c: ReturnType<typeof loadConfig>): number {
  return c.algo.reinforce.lr ?? c.algo.lr;
}

describe("no silent no-ops: a value a more specific field overrides is refused", () => {
  it("the quick start's --set algo.lr=3e-4 on configs/doa-mvp.yaml changes the rate REINFORCE uses", () => {
    expect(effectiveLr(loadConfig(mvp))).toBe(0.001);
    const c = loadConfig(mvp, { sets: ["algo.lr=3e-4"] });
    expect(effectiveLr(c)).toBe(3e-4);
    // and training follows it: the same seed with another rate gives other updates
    const dir = tmpDir("shadow");
    const metrics = (name: string, ...sets: string[]) => {
      const run = path.join(dir, name);
      const r = runCli([
        "train",
        mvp,
        "--run-dir",
        run,
        "--quiet",
        "--set",
        "train.updates=3",
        "--set",
        "log.plot=false",
        ...sets.flatMap((x) => ["--set", x]),
      ]);
      expect(r.status, r.stderr).toBe(0);
      return metricsWithoutTiming(path.join(run, "metrics.csv"));
    };
    const base = metrics("base");
    const faster = metrics("faster", "algo.lr=0.05");
    expect(faster[1]).toBe(base[1]); // update 1: the untrained policy, before any step
    expect(faster.slice(2)).not.toEqual(base.slice(2));
  }, 60_000);

  it("a config setting algo.lr and algo.reinforce.lr is an error naming both", () => {
    const dir = tmpDir("shadow");
    const both = writeConfig(
      dir,
      "both.yaml",
      fs.readFileSync(mvp, "utf8").replace("    normalizeReturns: false\n", "    normalizeReturns: false\n    lr: 0.002\n"),
    );
    expectInputError(
      () => loadConfig(both),
      `${both}: algo.lr: algo.lr = 0.001 (${both}) has no effect: algo.reinforce.lr = 0.002 (${both}) overrides it`,
      "set only one of them",
    );
    // --set of the general field on that file names the --set
    expectInputError(
      () => loadConfig(both, { sets: ["algo.lr=3e-4"] }),
      "--set algo.lr=3e-4: algo.lr = 0.0003 (--set algo.lr=3e-4) has no effect: algo.reinforce.lr = 0.002",
    );
    // --set of the specific field next to the file's algo.lr names the --set and both fields
    expectInputError(
      () => loadConfig(mvp, { sets: ["algo.reinforce.lr=0.01"] }),
      "--set algo.reinforce.lr=0.01: algo.lr = 0.001",
      "algo.reinforce.lr = 0.01 (--set algo.reinforce.lr=0.01) overrides it",
    );
    // algo.reinforce.lr: null hands the rate back to algo.lr: nothing is shadowed
    expect(effectiveLr(loadConfig(mvp, { sets: ["algo.reinforce.lr=null", "algo.lr=0.02"] }))).toBe(0.02);
    // another trainer ignores algo.reinforce: no shadowing
    expect(loadConfig(both, { sets: ["algo.name=ppo"] }).algo.lr).toBe(0.001);
  });

  it("the CLI refuses it with exit 2 and writes nothing", () => {
    const dir = tmpDir("shadow");
    const r = runCli(["train", mvp, "--set", "algo.reinforce.lr=0.01", "--run-dir", path.join(dir, "run")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("algo.lr = 0.001");
    expect(r.stderr).toContain("algo.reinforce.lr = 0.01");
    expect(fs.existsSync(path.join(dir, "run"))).toBe(false);
  });

  it("a sweep dimension that a base config's specific field shadows is an error naming both; the shipped random sweep varies its rate", () => {
    const dir = tmpDir("shadow");
    const s = writeSweep(dir, "base: BASE\nparameters:\n  algo.reinforce.lr: { values: [0.01, 0.001] }\n");
    expectInputError(
      () => loadSweep(s),
      `${s}: parameters.algo.reinforce.lr`,
      "sweep override algo.reinforce.lr=0.01: algo.lr = 0.001",
      "algo.reinforce.lr = 0.01",
    );
    const shipped = loadSweep(path.join(repoRoot, "configs", "sweeps", "doa-random.yaml"));
    const rates = shipped.trials.map((t) => effectiveLr(t.config));
    expect(new Set(rates).size).toBe(shipped.trials.length);
    for (const t of shipped.trials) expect(effectiveLr(t.config)).toBe(t.params["algo.lr"]);
  });

  it("an llm default that every model overrides is an error; one model without its own keeps it meaningful", () => {
    const dir = tmpDir("shadow");
    const base = (models: string) =>
      writeConfig(
        dir,
        `llm-${Math.random().toString(36).slice(2)}.yaml`,
        `name: x\nagents: [{name: a, kind: llm, prompt: p, model: m1}, {name: b, kind: llm, prompt: p, model: m2}, terminator]\n` +
          `tasks: {source: arithmetic, train: 4, eval: 2}\nenv: {maxSteps: 3}\nllm: {baseURL: "http://127.0.0.1:9/v1", timeoutMs: 5000, models: {${models}}}\n`,
      );
    const all = base(`m1: {model: a, timeoutMs: 100}, m2: {model: b, timeoutMs: 200}`);
    expectInputError(
      () => loadConfig(all),
      `${all}: llm.timeoutMs: llm.timeoutMs = 5000`,
      "llm.models.m1.timeoutMs = 100",
      "llm.models.m2.timeoutMs = 200",
      "every model sets its own",
    );
    expect(loadConfig(base(`m1: {model: a, timeoutMs: 100}, m2: {model: b}`)).llm!.timeoutMs).toBe(5000);
  });

  it("a run folder's resolved config.yaml (every field written out) still loads", () => {
    const dir = tmpDir("shadow");
    const run = path.join(dir, "run");
    expect(
      runCli(["train", mvp, "--run-dir", run, "--quiet", "--set", "train.updates=1", "--set", "log.plot=false", "--set", "algo.lr=3e-4"])
        .status,
    ).toBe(0);
    const c = loadRunConfig(run);
    expect(effectiveLr(c)).toBe(3e-4);
  });
});
