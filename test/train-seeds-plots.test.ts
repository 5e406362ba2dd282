import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readMetrics } from "../src/run/metrics.js";
import { isPng, runCli, tmpDir, removeTmpDirs } from "./helpers.js";

describe("train --seeds and maestro plot", () => {
  it("runs 2 seeds in parallel child processes, then plots mean and band; plot handles runs, seed groups and overlays", () => {
    const dir = tmpDir("seeds");
    const group = path.join(dir, "g");
    const sets = ["--set", "train.updates=8", "--set", "train.episodesPerUpdate=4"];
    const r = runCli(["train", "configs/doa-mvp.yaml", "--seeds", "2", "--seed", "5", "--run-dir", group, ...sets]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("seed5: completed");
    expect(r.stdout).toContain("seed6: completed");
    expect(r.stderr).toContain("doa-mvp × 2 seeds"); // the combined progress display
    const a = readMetrics(path.join(group, "seed5", "metrics.csv")).rows;
    const b = readMetrics(path.join(group, "seed6", "metrics.csv")).rows;
    expect(a).toHaveLength(8);
    expect(b).toHaveLength(8);
    expect(a.map((x) => x.return_mean)).not.toEqual(b.map((x) => x.return_mean));
    // the same seeds run one after another in one reused child process give identical metrics
    const seq = path.join(dir, "seq");
    expect(
      runCli(["train", "configs/doa-mvp.yaml", "--seeds", "2", "--seed", "5", "--workers", "1", "--run-dir", seq, "--quiet", ...sets]).code,
    ).toBe(0);
    const noWall = (f: string) => readMetrics(f).rows.map(({ wall_s: _w, ...rest }) => rest);
    for (const s of ["seed5", "seed6"])
      expect(noWall(path.join(seq, s, "metrics.csv"))).toEqual(noWall(path.join(group, s, "metrics.csv")));
    const seedOf = (d: string) => (JSON.parse(fs.readFileSync(path.join(group, d, "summary.json"), "utf8")) as { seed: number }).seed;
    expect([seedOf("seed5"), seedOf("seed6")]).toEqual([5, 6]);
    expect(isPng(path.join(group, "plots", "learning-curve.png"))).toBe(true);
    // each run has its own plots, structure.jsonl (one record per update) and structure.json
    expect(isPng(path.join(group, "seed5", "plots", "structure.png"))).toBe(true);
    expect(
      fs
        .readFileSync(path.join(group, "seed5", "structure.jsonl"), "utf8")
        .trim()
        .split("\n"),
    ).toHaveLength(8);
    const st = JSON.parse(fs.readFileSync(path.join(group, "seed5", "structure.json"), "utf8")) as {
      agents: string[];
      all: { density: number; hubs: unknown[] };
      final: { density: number };
    };
    expect(st.agents).toEqual(["echo", "terminator"]);
    expect(st.all.density).toBeGreaterThan(0);
    // the last updates may have no transitions at all (every episode stops at its first step)
    expect(st.final.density).toBeGreaterThanOrEqual(0);
    expect(st.final.density).toBeLessThanOrEqual(st.all.density);
    expect(st.all.hubs).toHaveLength(2);

    // a plain run, for overlays
    const single = path.join(dir, "single");
    expect(runCli(["train", "configs/doa-mvp.yaml", "--run-dir", single, "--quiet", ...sets]).code).toBe(0);
    const out = path.join(dir, "cmp.png");
    const p = runCli(["plot", group, single, "--metric", "cost_mean", "--out", out]);
    expect(p.code, p.stderr).toBe(0);
    expect(isPng(out)).toBe(true);
    const g = runCli(["plot", group]);
    expect(g.code, g.stderr).toBe(0);
    expect(g.stdout).toContain(path.join(group, "plots", "learning-curve.png"));
    const one = runCli(["plot", single]);
    expect(one.stdout).toContain("structure.png");

    // a crashing run fails alone: the next job of the same lane gets a fresh process
    const crash = path.join(dir, "crash");
    const c = runCli(["train", "configs/doa-mvp.yaml", "--seeds", "2", "--workers", "1", "--run-dir", crash, "--quiet", ...sets], {
      env: { MAESTRO_INJECT_FAILURE: `crash:${path.join("crash", "seed0")}` },
    });
    expect(c.code).toBe(1);
    expect(c.stdout).toContain("seed0: failed");
    expect(c.stdout).toContain("process exited (code 3)");
    expect(c.stdout).toContain("seed1: completed");
    expect(c.stderr).toContain("1 of 2 seeds failed");

    // bad input
    const bad = runCli(["plot", path.join(dir, "nope")]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("no such folder");
    const bad2 = runCli(["train", "configs/doa-mvp.yaml", "--seeds", "2", "--run-dir", path.join(dir, "x"), "--set", "train.updates=-1"]);
    expect(bad2.code).toBe(2);
    expect(bad2.stderr).toContain("train.updates");
    expect(fs.existsSync(path.join(dir, "x"))).toBe(false);
  });
});

afterAll(removeTmpDirs);
