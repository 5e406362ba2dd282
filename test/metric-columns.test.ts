import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/load.js";
import { startSimServer, type SimServer } from "../src/llm/sim-server.js";
import { selectBackend } from "../src/policy/backend.js";
import { buildEncoder, buildTrainer } from "../src/run/build.js";
import { runMetricColumns, trainerMetricNames } from "../src/run/columns.js";
import { readMetrics } from "../src/run/metrics.js";
import { train } from "../src/run/train.js";
import { loadSweep } from "../src/sweep/spec.js";
import { expectInputError, removeTmpDirs, repoRoot, tmpDir, writeSweep } from "./helpers.js";

const cfg = (name: string) => path.join(repoRoot, "configs", name);
const short = ["train.updates=2", "train.episodesPerUpdate=8", "log.plot=false", "log.episodeSample=0"];

// every trainer, on a one-head and (where it matters) a two-head config, and REINFORCE's baselines
const cases: Array<[string, string[]]> = [
  ["doa-mvp.yaml", []],
  ["doa-mvp.yaml", ["algo.reinforce.baseline=value"]],
  ["sim-budget.yaml", ["algo.name=ppo"]],
  ["sim-budget.yaml", ["algo.name=ppo-lagrangian"]],
  ["sim-budget.yaml", ["algo.name=p3o"]],
  ["sim-budget.yaml", ["algo.name=cpo"]],
  ["sim-budget.yaml", ["algo.name=macpo"]],
  ["sim-tiers.yaml", ["algo.name=macpo"]],
  ["sim-tiers.yaml", ["algo.name=mappo-lagrangian"]],
  ["sim-tiers.yaml", ["algo.name=reinforce"]],
];

let server: SimServer;
beforeAll(async () => {
  await selectBackend("auto");
  server = await startSimServer({ port: 0 });
});
afterAll(async () => {
  await server.close();
  removeTmpDirs();
});

describe("metrics.csv columns known from the config alone (src/run/columns.ts)", () => {
  it.each(cases)("%s %j: the static list equals the trainer's metricNames and the header a real run writes", async (file, sets) => {
    const config = loadConfig(cfg(file), { sets: [...short, ...sets] });
    const trainer = buildTrainer(config, buildEncoder(config));
    try {
      expect(trainerMetricNames(config)).toEqual([...trainer.metricNames]);
    } finally {
      trainer.dispose();
    }
    const runDir = path.join(tmpDir("cols"), "run");
    await train({ config, runDir });
    expect(readMetrics(path.join(runDir, "metrics.csv")).columns).toEqual(runMetricColumns(config));
  });

  it("a config with an llm section adds the LLM columns (a real run against the simulated server)", async () => {
    const dir = tmpDir("cols");
    const config = loadConfig(cfg("llm-arithmetic.yaml"), {
      sets: [...short, "train.episodesPerUpdate=2", `llm.baseURL=${server.url}/v1`, `llm.cache.dir=${path.join(dir, "cache")}`],
    });
    const cols = runMetricColumns(config);
    expect(cols).toContain("llm_errors");
    expect(cols).toContain("saved_cost");
    await train({ config, runDir: path.join(dir, "run") });
    expect(readMetrics(path.join(dir, "run", "metrics.csv")).columns).toEqual(cols);
  });
});

describe("sweep metric names are checked against the base config's columns", () => {
  it("refuses a misspelled objective.metric / earlyStop.metric, naming the file, the field and the nearest column", () => {
    const dir = tmpDir("spec");
    const file = path.join(dir, "bad.yaml");
    const w = (body: string) => writeSweep(dir, body, "bad.yaml");
    const grid = "parameters:\n  reward.costPenalty: { values: [0.1, 0.2] }\n";
    expectInputError(
      () => loadSweep(w(`base: BASE\n${grid}objective: { metric: return_men }\n`)),
      file,
      "objective.metric",
      '"return_men" is not a metrics.csv column',
      'did you mean "return_mean"?',
    );
    expectInputError(
      () => loadSweep(w(`base: BASE\n${grid}earlyStop: { metric: sucess_rate, grace: 5 }\n`)),
      file,
      "earlyStop.metric",
      'did you mean "success_rate"?',
    );
    // a column of another trainer is not a column of this one (reinforce writes no lambda)
    expectInputError(
      () => loadSweep(w(`base: BASE\n${grid}objective: { metric: lambda, mode: max }\n`)),
      file,
      "objective.metric",
      "algo.name reinforce",
      "grad_norm",
    );
  });

  it("names the trial whose trainer lacks the column when the sweep varies algo.name", () => {
    const dir = tmpDir("spec");
    const body = `base: ${cfg("sim-budget.yaml")}\nfixed: { train.updates: 2 }\nparameters:\n  algo.name: { values: [ppo-lagrangian, p3o] }\nobjective: { metric: lambda, mode: min }\n`;
    const file = writeSweep(dir, body, "mixed.yaml");
    expectInputError(() => loadSweep(file), file, "objective.metric", '{"algo.name":"p3o"}', "algo.name p3o");
  });

  it("accepts trainer-specific and LLM columns where the trainer writes them", () => {
    const dir = tmpDir("spec");
    const lag = writeSweep(
      dir,
      `base: ${cfg("sim-budget.yaml")}\nparameters:\n  env.budget: { values: [2, 3] }\nobjective: { metric: lambda, mode: min }\nearlyStop: { metric: jc, mode: min, grace: 5 }\n`,
      "lag.yaml",
    );
    expect(loadSweep(lag).trials.length).toBe(2);
    const llm = writeSweep(
      dir,
      `base: ${cfg("llm-arithmetic.yaml")}\nparameters:\n  algo.lr: { values: [0.01] }\nobjective: { metric: llm_errors, mode: min }\n`,
      "llm.yaml",
    );
    expect(loadSweep(llm).trials.length).toBe(1);
    for (const f of ["doa-lambda.yaml", "doa-random.yaml", "sim-budget.yaml"])
      expect(loadSweep(cfg(path.join("sweeps", f))).trials.length).toBeGreaterThan(0);
  });
});
