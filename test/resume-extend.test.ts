import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/load.js";
import { selectBackend } from "../src/policy/backend.js";
import { planResume } from "../src/run/resume.js";
import { train } from "../src/run/train.js";
import { expectInputError, metricsWithoutTiming, removeTmpDirs, repoRoot, runCli, tmpDir } from "./helpers.js";

const cfg = (name: string) => path.join(repoRoot, "configs", name);
const quiet = ["log.plot=false", "train.checkpointEvery=3"];

beforeAll(async () => {
  await selectBackend("auto");
});
afterAll(removeTmpDirs);

/** Trains `n` updates, extends the run to `2n` with --resume --set, and trains `2n` from the start. */
/** No schedule over train.updates (annealLr, the default entropy decay and policy average off): such runs extend exactly. */
const constantSchedules = ["algo.annealLr=false", "algo.entropyCoefFinal=null", "algo.averagePolicy=0"];

async function extendVsStraight(file: string, sets: string[], n: number) {
  const dir = tmpDir("extend");
  const short = loadConfig(cfg(file), { sets: [...quiet, ...sets, `train.updates=${n}`] });
  await train({ config: short, runDir: path.join(dir, "ext") });
  const s = await train({ resumeDir: path.join(dir, "ext"), resumeSets: [`train.updates=${2 * n}`] });
  expect(s).toMatchObject({ status: "completed", updates: 2 * n });
  await train({
    config: loadConfig(cfg(file), { sets: [...quiet, ...sets, `train.updates=${2 * n}`] }),
    runDir: path.join(dir, "straight"),
  });
  const m = (d: string) => metricsWithoutTiming(path.join(dir, d, "metrics.csv"));
  expect(m("ext").length).toBe(2 * n + 1);
  expect(m("ext")).toEqual(m("straight"));
  const ep = (d: string) => fs.readFileSync(path.join(dir, d, "episodes.jsonl"), "utf8");
  expect(ep("ext")).toBe(ep("straight"));
  // the extended run's config.yaml says what it now is; the manifest says what changed
  expect(YAML.parse(fs.readFileSync(path.join(dir, "ext", "config.yaml"), "utf8")).train.updates).toBe(2 * n);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, "ext", "manifest.json"), "utf8"));
  expect(manifest.resumes.at(-1)).toContain(`--set train.updates ${n} → ${2 * n}`);
}

describe("train --resume of a finished run; extending a run", () => {
  it("a finished run is reported as finished: exit 0, nothing changed", () => {
    const dir = path.join(tmpDir("extend"), "run");
    expect(
      runCli(["train", cfg("doa-mvp.yaml"), "--run-dir", dir, "--set", "train.updates=4", "--set", "log.plot=false", "--quiet"]).status,
    ).toBe(0);
    const snapshot = () =>
      Object.fromEntries(
        fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).map((f) => {
          const p = path.join(dir, f);
          return [f, fs.statSync(p).isDirectory() ? "dir" : fs.readFileSync(p, "utf8")];
        }),
      );
    const before = snapshot();
    const r = runCli(["train", "--resume", dir]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`run: ${dir} is finished (4 of 4 updates); nothing to do, nothing changed`);
    expect(r.stdout).toContain("--set train.updates=");
    expect(snapshot()).toEqual(before);
    // the library does the same: returns the stored summary, touches nothing
    return train({ resumeDir: dir }).then((s) => {
      expect(s.status).toBe("completed");
      expect(snapshot()).toEqual(before);
    });
  });

  it("REINFORCE (DOA MVP): train N, then --resume --set train.updates=2N equals train 2N", async () => {
    await extendVsStraight("doa-mvp.yaml", [], 5);
  });

  it("PPO-Lagrangian without annealLr: extending is exact (λ, critics, RNG streams carry over)", async () => {
    await extendVsStraight("sim-budget.yaml", ["algo.name=ppo-lagrangian", ...constantSchedules, "train.episodesPerUpdate=16"], 3);
  });

  it("P3O's κ schedule counts its own kappaUpdates, so extending is exact", async () => {
    await extendVsStraight(
      "sim-budget.yaml",
      [
        "algo.name=p3o",
        ...constantSchedules,
        "algo.p3o.kappaSchedule=linear",
        "algo.p3o.kappa=0.1",
        "algo.p3o.kappaUpdates=5",
        "train.episodesPerUpdate=16",
      ],
      3,
    );
  });

  it("refuses to extend a run whose schedule depends on train.updates, and fields that change what it computes", async () => {
    const dir = tmpDir("extend");
    const anneal = path.join(dir, "anneal");
    await train({
      config: loadConfig(cfg("sim-budget.yaml"), {
        sets: [...quiet, "train.updates=2", "train.episodesPerUpdate=8", "algo.annealLr=true"],
      }),
      runDir: anneal,
    });
    expectInputError(
      () => planResume(anneal, ["train.updates=4"]),
      "--set train.updates=4",
      "cannot be extended exactly",
      "algo.annealLr",
      "Start a new run",
    );
    // the schema defaults decay the entropy bonus and average the last half of the run's policies
    expectInputError(
      () => planResume(anneal, ["train.updates=4"]),
      "algo.entropyCoefFinal (the entropy bonus decays",
      "algo.averagePolicy (the final policy is the average",
    );
    const macpo = path.join(dir, "macpo");
    await train({
      config: loadConfig(cfg("sim-tiers.yaml"), {
        sets: [
          ...quiet,
          "algo.name=macpo",
          "train.updates=2",
          "train.episodesPerUpdate=8",
          ...constantSchedules,
          "algo.cpo.targetKlFinal=0.005",
        ],
      }),
      runDir: macpo,
    });
    expectInputError(() => planResume(macpo, ["train.updates=4"]), "algo.cpo.targetKlFinal");
    expectInputError(
      () => planResume(anneal, ["algo.lr=0.1"]),
      "--set algo.lr=0.1: algo.lr cannot be changed when resuming",
      "train.updates, train.checkpointEvery",
    );
    expectInputError(() => planResume(anneal, ["train.episodesPerUpdate=4"]), "train.episodesPerUpdate cannot be changed");
    expectInputError(() => planResume(anneal, ["train.updates=1"]), "has already done 2 updates");
    expectInputError(() => planResume(anneal, ["train.updatse=5"]), "train.updatse cannot be changed");
    // fields that keep the run exact are accepted
    expect(planResume(anneal, ["log.episodeSample=0", "train.keepCheckpoints=1"]).changes.map((c) => c.key)).toEqual([
      "log.episodeSample",
      "train.keepCheckpoints",
    ]);
    // the CLI: exit 2, the run folder untouched
    const cfgBefore = fs.readFileSync(path.join(anneal, "config.yaml"), "utf8");
    const r = runCli(["train", "--resume", anneal, "--set", "train.updates=4"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("algo.annealLr");
    expect(fs.readFileSync(path.join(anneal, "config.yaml"), "utf8")).toBe(cfgBefore);
  });
});
