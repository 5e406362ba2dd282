import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadSweep, trialId } from "../src/sweep/spec.js";
import { expectInputError, runCli, tmpDir, writeSweep, removeTmpDirs } from "./helpers.js";

describe("sweep grammar", () => {
  it("expands a grid in file order, last key fastest, with stable ids", () => {
    const dir = tmpDir("spec");
    const f = writeSweep(
      dir,
      `base: BASE
seeds: 2
fixed: { train.updates: 3 }
parameters:
  reward.costPenalty: { values: [0, 0.1, 0.2] }
  policy.activation: { choice: [relu, tanh] }
`,
    );
    const s = loadSweep(f);
    expect(s.name).toBe("sweep");
    expect(s.seeds).toEqual([0, 1]);
    expect(s.trials.map((t) => t.params)).toEqual([
      { "reward.costPenalty": 0, "policy.activation": "relu" },
      { "reward.costPenalty": 0, "policy.activation": "tanh" },
      { "reward.costPenalty": 0.1, "policy.activation": "relu" },
      { "reward.costPenalty": 0.1, "policy.activation": "tanh" },
      { "reward.costPenalty": 0.2, "policy.activation": "relu" },
      { "reward.costPenalty": 0.2, "policy.activation": "tanh" },
    ]);
    expect(s.trials[3]!.config.reward.costPenalty).toBe(0.1);
    expect(s.trials[3]!.config.policy.activation).toBe("tanh");
    expect(s.trials[3]!.config.train.updates).toBe(3);
    // ids: derived from the parameters only (key order irrelevant), distinct per trial, stable
    expect(new Set(s.trials.map((t) => t.id)).size).toBe(6);
    expect(s.trials[3]!.id).toBe(trialId({ "policy.activation": "tanh", "reward.costPenalty": 0.1 }, { "train.updates": 3 }));
    expect(loadSweep(f).trials.map((t) => t.id)).toEqual(s.trials.map((t) => t.id));
    expect(trialId({ a: 1 })).not.toBe(trialId({ a: 1 }, { "train.updates": 3 }));
  });

  it("samples random trials reproducibly from the sampler seed, inside the ranges", () => {
    const dir = tmpDir("spec");
    const body = (seed: number) => `base: BASE
method: random
trials: 12
seed: ${seed}
parameters:
  algo.lr: { loguniform: [0.0001, 0.01] }
  algo.entropyCoef: { uniform: [0, 0.02] }
  train.episodesPerUpdate: { int: [2, 4] }
  policy.hidden: { choice: [[16], [32, 32]] }
`;
    const a = loadSweep(writeSweep(dir, body(7), "a.yaml"));
    const b = loadSweep(writeSweep(dir, body(7), "b.yaml"));
    const c = loadSweep(writeSweep(dir, body(8), "c.yaml"));
    expect(a.trials.map((t) => t.params)).toEqual(b.trials.map((t) => t.params));
    expect(a.trials.map((t) => t.params)).not.toEqual(c.trials.map((t) => t.params));
    expect(a.trials.length + a.duplicates).toBe(12);
    const ints = new Set<number>();
    for (const t of a.trials) {
      const p = t.params as Record<string, number & number[]>;
      expect(p["algo.lr"]).toBeGreaterThanOrEqual(0.0001);
      expect(p["algo.lr"]).toBeLessThanOrEqual(0.01);
      expect(p["algo.entropyCoef"]).toBeGreaterThanOrEqual(0);
      expect(p["algo.entropyCoef"]).toBeLessThan(0.02);
      expect([2, 3, 4]).toContain(p["train.episodesPerUpdate"]);
      ints.add(p["train.episodesPerUpdate"]);
      expect([[16], [32, 32]]).toContainEqual(p["policy.hidden"]);
      expect(t.config.algo.lr).toBe(p["algo.lr"]);
    }
    expect(ints.size).toBeGreaterThan(1);
  });

  it("rejects invalid sweep files naming the file and the key", () => {
    const dir = tmpDir("spec");
    const w = (body: string) => writeSweep(dir, body, "bad.yaml");
    const file = path.join(dir, "bad.yaml");
    // a key the config schema does not have
    expectInputError(
      () => loadSweep(w(`base: BASE\nparameters:\n  reward.costPenaltyy: { values: [0.1] }\n`)),
      file,
      "parameters.reward.costPenaltyy",
      "costPenaltyy",
    );
    // a value the config schema rejects (costPenalty ≥ 0), also at a range's end
    expectInputError(
      () => loadSweep(w(`base: BASE\nparameters:\n  reward.costPenalty: { values: [0.1, -1] }\n`)),
      file,
      "parameters.reward.costPenalty",
      "-1",
    );
    expectInputError(
      () => loadSweep(w(`base: BASE\nmethod: random\ntrials: 3\nparameters:\n  algo.lr: { uniform: [-0.1, 0.1] }\n`)),
      file,
      "parameters.algo.lr",
    );
    // grammar errors
    expectInputError(
      () => loadSweep(w(`base: BASE\nparameters:\n  algo.lr: { values: [0.1], uniform: [0, 1] }\n`)),
      file,
      "parameters.algo.lr",
      "exactly one",
    );
    expectInputError(() => loadSweep(w(`base: BASE\nparameters:\n  algo.lr: { uniform: [0.1, 0.01] }\n`)), file, "low < high");
    expectInputError(
      () => loadSweep(w(`base: BASE\nparameters:\n  algo.lr: { uniform: [0.001, 0.01] }\n`)),
      file,
      "parameters.algo.lr",
      "grid search needs values",
    );
    expectInputError(
      () => loadSweep(w(`base: BASE\nmethod: random\nparameters:\n  algo.lr: { values: [0.1] }\n`)),
      file,
      "trials",
      "required",
    );
    expectInputError(() => loadSweep(w(`base: BASE\nmethod: bayes\nparameters:\n  algo.lr: { values: [0.1] }\n`)), file, "method");
    expectInputError(() => loadSweep(w(`base: BASE\nseeds: 0\nparameters:\n  algo.lr: { values: [0.1] }\n`)), file, "seeds");
    expectInputError(() => loadSweep(w(`base: BASE\nparamters:\n  algo.lr: { values: [0.1] }\n`)), file, "paramters", "unknown field");
    expectInputError(() => loadSweep(w(`base: BASE\nparameters:\n  seed: { values: [1, 2] }\n`)), file, "parameters.seed");
    expectInputError(() => loadSweep(w(`base: nowhere.yaml\nparameters:\n  algo.lr: { values: [0.1] }\n`)), file, "base");
    expectInputError(
      () => loadSweep(w(`base: BASE\nfixed: { train.updatez: 3 }\nparameters:\n  algo.lr: { values: [0.1] }\n`)),
      file,
      "fixed",
      "updatez",
    );
  });

  it("maestro sweep on an invalid file exits 2 with the key named and writes nothing", () => {
    const dir = tmpDir("spec");
    const f = writeSweep(dir, `base: BASE\nparameters:\n  reward.costPenalty: { values: [0.1, -1] }\n`);
    const runs = path.join(dir, "runs");
    const r = runCli(["sweep", f, "--runs-dir", runs]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(f);
    expect(r.stderr).toContain("parameters.reward.costPenalty");
    expect(fs.existsSync(runs)).toBe(false);
    // --dry-run lists the trials of a valid sweep and writes nothing
    const ok = writeSweep(dir, `base: BASE\nseeds: 2\nparameters:\n  reward.costPenalty: { values: [0.1, 0.2] }\n`, "ok.yaml");
    const dry = runCli(["sweep", ok, "--runs-dir", runs, "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("2 trials × 2 seeds (0, 1) = 4 runs");
    expect(dry.stdout).toContain('{"reward.costPenalty":0.2}');
    expect(fs.existsSync(runs)).toBe(false);
  });
});

afterAll(removeTmpDirs);
