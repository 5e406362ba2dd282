import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluateRun } from "../src/analysis/evaluate.js";
import { loadConfig } from "../src/config/load.js";
import { migrateRenamed, renamedKeys } from "../src/config/renamed.js";
import { selectBackend } from "../src/policy/backend.js";
import { planResume } from "../src/run/resume.js";
import { train } from "../src/run/train.js";
import { loadOrchestrator } from "../src/serve/orchestrate.js";
import { serveRun } from "../src/serve/server.js";
import { loadSweep } from "../src/sweep/spec.js";
import { expectInputError, metricsWithoutTiming, removeTmpDirs, repoRoot, tmpDir, writeConfig, writeSweep } from "./helpers.js";

// Config keys moved to the block of the code that reads them (src/config/renamed.ts): a user's old key is
// refused with its new name; a run folder written before the move keeps loading.

const cfg = (name: string) => path.join(repoRoot, "configs", name);
type Obj = Record<string, unknown>;

/**
 * A run's config.yaml as runs wrote it before the keys moved: every field written out, the critics' fields
 * under algo.ppo and algo.reinforce, the multiplier under algo.lagrangian, the head order under algo.macpo.
 */
function oldLayout(config: Obj): Obj {
  const c = structuredClone(config);
  const a = c.algo as Obj;
  const critic = a.critic as Obj;
  a.ppo = {
    ...(a.ppo as Obj),
    epochs: a.epochs,
    minibatches: a.minibatches,
    annealLr: a.annealLr,
    gaeLambda: critic.gaeLambda,
    costGamma: critic.costGamma,
    costGaeLambda: critic.costGaeLambda,
    normalizeAdvantage: critic.normalizeAdvantage,
    standardizeCostAdvantage: critic.standardizeCostAdvantage,
    valueLr: critic.lr,
    valueHidden: critic.hidden,
    costWindow: critic.costWindow,
  };
  a.reinforce = { ...(a.reinforce as Obj), valueLr: critic.lr, valueHidden: critic.hidden };
  a.lagrangian = a.dual;
  a.macpo = { ...(a.macpo as Obj), headOrder: a.headOrder };
  for (const k of ["epochs", "minibatches", "annealLr", "critic", "dual", "headOrder"]) delete a[k];
  return c;
}

/** Rewrites a run folder's config.yaml in the old layout, with `edit` applied to its algo block. */
function makeOld(runDir: string, edit: (algo: Obj) => void = () => {}): void {
  const file = path.join(runDir, "config.yaml");
  const old = oldLayout(YAML.parse(fs.readFileSync(file, "utf8")) as Obj);
  edit(old.algo as Obj);
  fs.writeFileSync(file, YAML.stringify(old));
}

beforeAll(async () => {
  await selectBackend("auto");
});
afterAll(removeTmpDirs);

describe("an old key in a user's config is refused with its new name", () => {
  it("in a config file", () => {
    const dir = tmpDir("renamed");
    const base = fs.readFileSync(cfg("sim-budget.yaml"), "utf8");
    const file = writeConfig(dir, "old.yaml", base.replace(/^algo:\n/m, "algo:\n  ppo: {gaeLambda: 0.9}\n"));
    expectInputError(() => loadConfig(file), file, "algo.ppo.gaeLambda is now algo.critic.gaeLambda");
    const dual = writeConfig(dir, "old-dual.yaml", base.replace(/^algo:\n/m, "algo:\n  lagrangian: {lambdaLr: 0.1, optimizer: plain}\n"));
    expectInputError(
      () => loadConfig(dual),
      dual,
      "algo.lagrangian.lambdaLr is now algo.dual.lambdaLr",
      "algo.lagrangian.optimizer is now algo.dual.optimizer",
    );
    const rf = writeConfig(
      dir,
      "old-reinforce.yaml",
      fs.readFileSync(cfg("doa-mvp.yaml"), "utf8").replace(/^ {2}reinforce:\n/m, "  reinforce:\n    valueLr: 0.01\n"),
    );
    expectInputError(() => loadConfig(rf), rf, "algo.reinforce.valueLr is now algo.critic.lr");
  });

  it("in a --set, naming the --set", () => {
    expectInputError(
      () => loadConfig(cfg("sim-budget.yaml"), { sets: ["algo.ppo.epochs=3"] }),
      "--set algo.ppo.epochs=3",
      "algo.ppo.epochs is now algo.epochs",
    );
    expectInputError(
      () => loadConfig(cfg("sim-tiers.yaml"), { sets: ["algo.macpo.headOrder=fixed"] }),
      "--set algo.macpo.headOrder=fixed",
      "algo.headOrder",
    );
    // the new keys load, and mean what the old ones did
    const c = loadConfig(cfg("sim-budget.yaml"), { sets: ["algo.epochs=3", "algo.critic.gaeLambda=0.9", "algo.dual.lambdaLr=0.1"] });
    expect([c.algo.epochs, c.algo.critic.gaeLambda, c.algo.dual.lambdaLr]).toEqual([3, 0.9, 0.1]);
  });

  it("in a sweep dimension, naming the sweep override", () => {
    const dir = tmpDir("renamed");
    const file = writeSweep(dir, "base: BASE\nparameters:\n  algo.ppo.annealLr: { values: [true, false] }\n", "old-sweep.yaml");
    expectInputError(() => loadSweep(file), "algo.ppo.annealLr is now algo.annealLr");
  });

  it("no shipped config or sweep uses an old key", () => {
    const files = [
      ...fs
        .readdirSync(path.join(repoRoot, "configs"))
        .filter((f) => f.endsWith(".yaml"))
        .map((f) => cfg(f)),
      ...fs.readdirSync(path.join(repoRoot, "configs", "sweeps")).map((f) => path.join(repoRoot, "configs", "sweeps", f)),
    ];
    for (const f of files) {
      const text = fs.readFileSync(f, "utf8");
      for (const [old] of renamedKeys) {
        const [block, field] = old.split(".").slice(1);
        expect(text.includes(old), `${f}: ${old}`).toBe(false);
        // a nested mapping `ppo: {epochs: …}` or a block key under algo
        if (field) expect(new RegExp(`\\b${block}:\\s*\\{[^}]*\\b${field}:`).test(text), `${f}: ${old}`).toBe(false);
      }
    }
  });
});

describe("migrateRenamed (run folders written before)", () => {
  it("moves every old key; where two meet, the run's trainer's wins", () => {
    const old = {
      algo: {
        name: "reinforce",
        ppo: { valueLr: 0.5, clipRatio: 0.3 },
        reinforce: { valueLr: 0.01, baseline: "value" },
        lagrangian: { lambdaLr: 0.2 },
      },
    };
    expect(migrateRenamed(old)).toEqual({
      algo: { name: "reinforce", ppo: { clipRatio: 0.3 }, reinforce: { baseline: "value" }, critic: { lr: 0.01 }, dual: { lambdaLr: 0.2 } },
    });
    const ppo = { algo: { ...old.algo, name: "ppo" } };
    expect((migrateRenamed(ppo) as { algo: { critic: Obj } }).algo.critic).toEqual({ lr: 0.5 });
    // the input is left as it is
    expect(old.algo.lagrangian).toEqual({ lambdaLr: 0.2 });
  });
});

describe("a run folder written with the old keys keeps loading", () => {
  it("for eval, orchestrate and serve", async () => {
    const runDir = path.join(tmpDir("renamed"), "old-doa");
    await train({
      config: loadConfig(cfg("doa-mvp.yaml"), { sets: ["train.updates=3", "log.plot=false", "log.tensorboard=false"] }),
      runDir,
    });
    const fresh = await evaluateRun(runDir, { episodes: 8 });
    makeOld(runDir);
    expect(fs.readFileSync(path.join(runDir, "config.yaml"), "utf8")).toContain("valueLr");
    const ev = await evaluateRun(runDir, { episodes: 8 });
    expect(ev).toMatchObject({ success_rate: fresh.success_rate, cost_mean: fresh.cost_mean, episodes: 8 });
    const orch = await loadOrchestrator(runDir);
    try {
      const [t] = await orch.solveMany(["What is 2 + 3?"]);
      expect(t!.steps.length).toBeGreaterThan(0);
    } finally {
      orch.dispose();
    }
    const s = await serveRun(runDir, { port: 0, logLevel: "silent" });
    try {
      const r = await fetch(`${s.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "maestro", messages: [{ role: "user", content: "What is 2 + 3?" }] }),
      });
      expect(r.status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it("for resume, with the old keys' values (a constrained run continues exactly)", async () => {
    const dir = tmpDir("renamed");
    const sets = [
      "algo.name=ppo-lagrangian",
      "algo.dual.lambdaLr=0.7",
      "algo.critic.lr=0.002",
      "algo.epochs=3",
      "algo.entropyCoefFinal=null",
      "algo.averagePolicy=0",
      "train.episodesPerUpdate=8",
      "train.checkpointEvery=2",
      "log.plot=false",
      "log.tensorboard=false",
    ];
    await train({ config: loadConfig(cfg("sim-budget.yaml"), { sets: [...sets, "train.updates=4"] }), runDir: path.join(dir, "straight") });
    const oldRun = path.join(dir, "old");
    await train({ config: loadConfig(cfg("sim-budget.yaml"), { sets: [...sets, "train.updates=2"] }), runDir: oldRun });
    makeOld(oldRun);
    const old = YAML.parse(fs.readFileSync(path.join(oldRun, "config.yaml"), "utf8")) as { algo: Obj };
    expect(old.algo.lagrangian).toMatchObject({ lambdaLr: 0.7 });
    expect(old.algo.ppo).toMatchObject({ valueLr: 0.002, epochs: 3 });
    // an old key in the --set of a resume is still refused
    expectInputError(() => planResume(oldRun, ["algo.ppo.annealLr=false"]), "--set algo.ppo.annealLr=false", "algo.annealLr");
    const s = await train({ resumeDir: oldRun, resumeSets: ["train.updates=4"] });
    expect(s).toMatchObject({ status: "completed", updates: 4 });
    expect(metricsWithoutTiming(path.join(oldRun, "metrics.csv"))).toEqual(metricsWithoutTiming(path.join(dir, "straight", "metrics.csv")));
  });
});
