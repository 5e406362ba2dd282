import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readMetrics } from "../src/run/metrics.js";
import { isPng, runCli, tmpDir, writeSweep, removeTmpDirs } from "./helpers.js";

const small = (extra = "") => `name: small
base: BASE
seeds: 2
fixed: { train.updates: 6, train.episodesPerUpdate: 4, log.plot: false }
parameters:
  reward.costPenalty: { values: [0.05, 0.2] }
${extra}`;

function csvRows(file: string): Record<string, string>[] {
  const [head, ...lines] = fs.readFileSync(file, "utf8").trim().split("\n");
  const cols = head!.split(",");
  return lines.map((l) => Object.fromEntries(l.split(",").map((v, i) => [cols[i], v])));
}

describe("local sweeps", () => {
  it("two workers complete a sweep; a failing trial is reported, the rest complete; a re-run skips completed runs and retries the failed one", () => {
    const dir = tmpDir("sweep");
    const f = writeSweep(dir, small());
    const runs = path.join(dir, "runs");
    const sweepDir = path.join(runs, "small");
    const ids = () =>
      (
        JSON.parse(fs.readFileSync(path.join(sweepDir, "sweep.json"), "utf8")) as {
          trials: { id: string; params: Record<string, number> }[];
        }
      ).trials;

    // first invocation: every run completes (the fault-injection pattern matches no run folder)
    const probe = runCli(["sweep", f, "--runs-dir", runs, "--workers", "2", "--quiet"], { env: { MAESTRO_INJECT_FAILURE: "NO_MATCH" } });
    expect(probe.code, probe.stderr).toBe(0);
    const trials = ids();
    expect(trials).toHaveLength(2);
    const bad = trials.find((t) => t.params["reward.costPenalty"] === 0.2)!;
    const good = trials.find((t) => t.params["reward.costPenalty"] === 0.05)!;
    for (const t of trials) for (const s of [0, 1]) expect(fs.existsSync(path.join(sweepDir, t.id, `seed${s}`, "summary.json"))).toBe(true);
    let rows = csvRows(path.join(sweepDir, "sweep.csv"));
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.status === "completed" && r.seeds_done === "2")).toBe(true);
    expect(Object.keys(rows[0]!)).toEqual(
      expect.arrayContaining([
        "reward.costPenalty",
        "return_mean",
        "return_ci_lo",
        "return_ci_hi",
        "success_rate",
        "cost_mean",
        "wall_s_mean",
      ]),
    );
    expect(fs.readFileSync(path.join(sweepDir, "sweep.md"), "utf8")).toContain("| 1 |");
    expect(isPng(path.join(sweepDir, "plots", "sweep.png"))).toBe(true);
    // a sweep run equals `maestro train` with the same overrides and seed (timing columns aside)
    const cols = (f: string) => readMetrics(f).rows.map((r) => [r.return_mean, r.cost_mean, r.loss]);
    const m0 = cols(path.join(sweepDir, good.id, "seed0", "metrics.csv"));
    expect(m0).toHaveLength(6);
    const direct = path.join(dir, "direct");
    const sets = ["train.updates=6", "train.episodesPerUpdate=4", "log.plot=false", "reward.costPenalty=0.05"].flatMap((x) => ["--set", x]);
    expect(runCli(["train", "configs/doa-mvp.yaml", "--seed", "0", "--run-dir", direct, "--quiet", ...sets]).code).toBe(0);
    expect(cols(path.join(direct, "metrics.csv"))).toEqual(m0);

    // now delete the bad trial's seed1 and re-run with its failure injected
    fs.rmSync(path.join(sweepDir, bad.id, "seed1"), { recursive: true });
    const mtime = fs.statSync(path.join(sweepDir, good.id, "seed0", "summary.json")).mtimeMs;
    const failing = runCli(["sweep", f, "--runs-dir", runs, "--workers", "2"], { env: { MAESTRO_INJECT_FAILURE: `${bad.id}/seed1` } });
    expect(failing.code).toBe(1);
    expect(failing.stdout).toContain("1 runs started, 3 skipped");
    expect(failing.stderr).toContain(`failed: ${bad.id} seed 1`);
    expect(failing.stderr).toContain("injected failure");
    expect(fs.statSync(path.join(sweepDir, good.id, "seed0", "summary.json")).mtimeMs).toBe(mtime);
    rows = csvRows(path.join(sweepDir, "sweep.csv"));
    expect(rows.find((r) => r.trial === bad.id)!.status).toBe("failed");
    expect(rows.find((r) => r.trial === good.id)!.status).toBe("completed");
    expect(fs.readFileSync(path.join(sweepDir, "sweep.md"), "utf8")).toContain("## Failed runs");
    const state = JSON.parse(fs.readFileSync(path.join(sweepDir, bad.id, "trial.json"), "utf8")) as {
      status: string;
      errors: Record<string, string>;
    };
    expect(state.status).toBe("failed");
    expect(state.errors["1"]).toContain("injected failure");

    // the failed run (stopped after its first update: an unfinished run folder) is retried; the rest is skipped
    const retry = runCli(["sweep", f, "--runs-dir", runs, "--workers", "2", "--quiet"]);
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout).toContain("1 runs started, 3 skipped");
    rows = csvRows(path.join(sweepDir, "sweep.csv"));
    expect(rows.every((r) => r.status === "completed")).toBe(true);
    expect(readMetrics(path.join(sweepDir, bad.id, "seed1", "metrics.csv")).rows).toHaveLength(6);
    // nothing left to do
    const again = runCli(["sweep", f, "--runs-dir", runs, "--quiet"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("0 runs started, 4 skipped");
  });

  it("stops a clearly worse trial with the median rule and skips it on re-run", () => {
    const dir = tmpDir("sweep");
    const f = writeSweep(
      dir,
      `name: es
base: BASE
seeds: 1
fixed: { train.updates: 8, train.episodesPerUpdate: 4, log.plot: false }
parameters:
  reward.costPenalty: { values: [0, 0.001, 20] }
earlyStop: { grace: 2, minTrials: 2 }
`,
    );
    const runs = path.join(dir, "runs");
    const r = runCli(["sweep", f, "--runs-dir", runs, "--workers", "1", "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    const sweepDir = path.join(runs, "es");
    const rows = csvRows(path.join(sweepDir, "sweep.csv"));
    const worst = rows.find((x) => x["reward.costPenalty"] === "20")!;
    expect(worst.status).toBe("stopped");
    expect(rows.filter((x) => x.status === "completed")).toHaveLength(2);
    const st = JSON.parse(fs.readFileSync(path.join(sweepDir, worst.trial!, "trial.json"), "utf8")) as { stopped: { update: number } };
    expect(st.stopped.update).toBeGreaterThanOrEqual(2);
    expect(readMetrics(path.join(sweepDir, worst.trial!, "seed0", "metrics.csv")).rows.length).toBeLessThan(8);
    expect(fs.readFileSync(path.join(sweepDir, "sweep.md"), "utf8")).toContain("Stopped early");
    const again = runCli(["sweep", f, "--runs-dir", runs, "--quiet"]);
    expect(again.stdout).toContain("0 runs started, 3 skipped");
  });
});

afterAll(removeTmpDirs);
