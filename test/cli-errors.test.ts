import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/load.js";
import { loadSweep } from "../src/sweep/spec.js";
import { expectInputError, removeTmpDirs, repoRoot, runCli, tmpDir, writeConfig, writeSweep } from "./helpers.js";

afterAll(removeTmpDirs);

const mvp = path.join(repoRoot, "configs", "doa-mvp.yaml");

describe("--set errors name --set; unknown fields suggest the nearest known one", () => {
  it("a bad --set value or key is reported as --set, not as the YAML file", () => {
    expectInputError(() => loadConfig(mvp, { sets: ["algo.lr=abc"] }), "--set algo.lr=abc: ", "expected number");
    let msg = "";
    try {
      loadConfig(mvp, { sets: ["algo.lr=abc"] });
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).not.toContain(mvp);
    expectInputError(() => loadConfig(mvp, { sets: ["algo.lrr=0.1"] }), "--set algo.lrr=0.1: unknown field", 'did you mean "algo.lr"?');
    expectInputError(() => loadConfig(mvp, { sets: ["train.updatse=3"] }), "--set train.updatse=3", 'did you mean "train.updates"?');
    // an unknown section: the nearest section
    expectInputError(() => loadConfig(mvp, { sets: ["algoo.lr=1"] }), "--set algoo.lr=1: algoo: unknown field", 'did you mean "algo"?');
    // discriminated unions: the variant the value picked (tasks.source: inline)
    expectInputError(() => loadConfig(mvp, { sets: ["tasks.iterms=[a]"] }), "--set tasks.iterms=[a]", 'did you mean "tasks.items"?');
    expectInputError(() => loadConfig(mvp, { seed: -1 }), "--seed -1", "seed");
    // problems of the file itself still name the file, also next to a --set
    const dir = tmpDir("cli");
    const bad = writeConfig(dir, "bad.yaml", fs.readFileSync(mvp, "utf8").replace("updates:", "updatse:"));
    expectInputError(
      () => loadConfig(bad, { sets: ["algo.lr=0.1"] }),
      `${bad}: train.updatse: unknown field`,
      'did you mean "train.updates"?',
    );
    // nothing close: no guess
    let far = "";
    try {
      loadConfig(mvp, { sets: ["algo.learningRate=0.1"] });
    } catch (e) {
      far = (e as Error).message;
    }
    expect(far).toContain("--set algo.learningRate=0.1: unknown field");
    expect(far).not.toContain("did you mean");
  });

  it("agent definitions and sweep files get the same hints", () => {
    const dir = tmpDir("cli");
    const cfg = writeConfig(
      dir,
      "agents.yaml",
      "name: x\nagents: [{name: e, kind: echo, cots: 1}, terminator]\ntasks: {source: inline, items: [a]}\nenv: {maxSteps: 3}\ntrain: {updates: 2, episodesPerUpdate: 2}\n",
    );
    expectInputError(() => loadConfig(cfg), `${cfg}: agents.0.cots: unknown field`, 'did you mean "agents.0.cost"?');
    const sweep = writeSweep(dir, "base: BASE\nparamters:\n  algo.lr: { values: [0.1] }\n", "s.yaml");
    expectInputError(() => loadSweep(sweep), `${sweep}: paramters: unknown field`, 'did you mean "parameters"?');
    // inside a sweep, the trial's overrides are not called --set
    const neg = writeSweep(dir, "base: BASE\nparameters:\n  reward.costPenalty: { values: [-1] }\n", "n.yaml");
    expectInputError(() => loadSweep(neg), `${neg}: parameters.reward.costPenalty`, "sweep override reward.costPenalty=-1");
  });

  it("the CLI prints them with exit code 2 and writes nothing", () => {
    const dir = path.join(tmpDir("cli"), "run");
    const r = runCli(["train", mvp, "--set", "train.updatse=3", "--run-dir", dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      'error: --set train.updatse=3: unknown field (not in the schema; check the spelling); did you mean "train.updates"?\n',
    );
    expect(fs.existsSync(dir)).toBe(false);
  });
});

describe("commands", () => {
  it("a misspelled command suggests the right one", () => {
    const r = runCli(["trian", mvp]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('Unknown command "trian". Did you mean train?');
  });

  it("maestro completion prints a shell completion script that completes commands and options", () => {
    const r = runCli(["completion"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("--get-yargs-completions");
    const cmds = runCli(["--get-yargs-completions", "tr"]).stdout.split("\n");
    expect(cmds).toContain("train");
    expect(cmds).toContain("orchestrate");
    const opts = runCli(["--get-yargs-completions", "train", "--"]).stdout.split("\n");
    expect(opts).toEqual(expect.arrayContaining(["--set", "--resume", "--seeds"]));
  });
});
