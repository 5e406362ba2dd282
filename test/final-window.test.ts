import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bootstrapMeanCI } from "../src/analysis/stats.js";
import { finalWindow, finalWindowSize, readMetrics, type MetricsRow } from "../src/run/metrics.js";
import type { RunSummary } from "../src/run/train.js";
import { removeTmpDirs, repoRoot, runCli, tmpDir } from "./helpers.js";

afterAll(removeTmpDirs);

const mvp = path.join(repoRoot, "configs", "doa-mvp.yaml");
const read = <T>(f: string) => JSON.parse(fs.readFileSync(f, "utf8")) as T;

describe('one definition of "final": the mean of the last 10% of updates (at least one)', () => {
  it("finalWindow averages the last round(10%) rows", () => {
    expect([1, 4, 5, 14, 15, 20, 50, 200].map(finalWindowSize)).toEqual([1, 1, 1, 1, 2, 2, 5, 20]);
    const rows: MetricsRow[] = Array.from({ length: 20 }, (_, i) => ({ update: i + 1, return_mean: i }));
    expect(finalWindow(rows)).toEqual({ update: 19.5, return_mean: 18.5 });
    expect(finalWindow([])).toBeUndefined();
  });

  it("train's last line and summary.json use it", () => {
    const dir = path.join(tmpDir("final"), "run");
    const r = runCli(["train", mvp, "--run-dir", dir, "--set", "train.updates=20", "--set", "log.plot=false", "--quiet"]);
    expect(r.status, r.stderr).toBe(0);
    const rows = readMetrics(path.join(dir, "metrics.csv")).rows;
    const w = finalWindow(rows)!;
    const s = read<RunSummary>(path.join(dir, "summary.json"));
    expect(s.finalWindow).toEqual(w);
    expect(r.stdout).toContain(
      `final return ${w.return_mean!.toFixed(3)}, success ${w.success_rate!.toFixed(2)}, cost ${w.cost_mean!.toFixed(3)} (mean of the last 2 updates)`,
    );
  });

  it("train --seeds writes the group's summary.json: per metric the mean across seeds of each run's final window, with its 95% CI", () => {
    const group = path.join(tmpDir("final"), "g");
    const r = runCli(["train", mvp, "--seeds", "3", "--run-dir", group, "--set", "train.updates=10", "--set", "log.plot=false", "--quiet"]);
    expect(r.status, r.stderr).toBe(0);
    const g = read<{
      kind: string;
      status: string;
      seeds: number[];
      finalDefinition: string;
      final: Record<string, { mean: number; lo: number; hi: number; n: number }>;
    }>(path.join(group, "summary.json"));
    expect(g).toMatchObject({ kind: "seed-group", status: "completed", seeds: [0, 1, 2] });
    expect(g.finalDefinition).toContain("last 10% of updates");
    const per = [0, 1, 2].map((s) => finalWindow(readMetrics(path.join(group, `seed${s}`, "metrics.csv")).rows)!);
    for (const k of ["return_mean", "success_rate", "cost_mean", "loss", "grad_norm"]) {
      const vals = per.map((w) => w[k]!);
      expect(g.final[k], k).toEqual(bootstrapMeanCI(vals, { seed: `doa-mvp:${k}` }));
      expect(g.final[k]!.n).toBe(3);
      expect(g.final[k]!.lo).toBeLessThanOrEqual(g.final[k]!.mean);
      expect(g.final[k]!.hi).toBeGreaterThanOrEqual(g.final[k]!.mean);
    }
    const ret = g.final.return_mean!;
    expect(r.stdout).toContain(`doa-mvp × 3 seeds: final return ${ret.mean.toFixed(3)} [${ret.lo.toFixed(3)}, ${ret.hi.toFixed(3)}]`);
    // each seed's line prints its own final window
    expect(r.stdout).toContain(`seed1: completed ${path.join(group, "seed1")} — final return ${per[1]!.return_mean!.toFixed(3)}`);
  });
});
