import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { combineCurves, curveRun, onAxes, type CurveResult } from "../src/analysis/curve.js";
import { flagBelow } from "../src/analysis/metrics-pool.js";
import { apgr, orderByScore, orderCurve } from "../src/analysis/metrics-routing.js";
import { loadConfig } from "../src/config/load.js";
import { recordedSplits } from "../src/config/recorded.js";
import { InputError } from "../src/core/errors.js";
import { train } from "../src/run/train.js";
import { curvePanels } from "../src/plots/curve.js";
import { removeTmpDirs, runCli, tmpDir } from "./helpers.js";

afterAll(removeTmpDirs);

/** A word code for item i (prompts carry no digits but the ones a group is meant to have). */
const code = (i: number) =>
  String.fromCharCode(97 + (i % 26)) + String.fromCharCode(97 + (Math.floor(i / 26) % 26)) + String.fromCharCode(97 + Math.floor(i / 676));

/**
 * Two models where dollars and strong-model calls disagree: the strong model's $ varies by item (long prompts
 * cost it 10× as much as short ones), the weak model's is fixed ($0.001). Three groups of items, in turn:
 * - long prompts, one number: the strong model alone is right on 3 items in 5 (escalation gains 0.6), $0.05;
 * - short prompts, six numbers: it alone is right on 2 items in 5 (gains 0.4), $0.005;
 * - mid-length prompts, three numbers: both right or both wrong (gains 0), $0.01.
 * Per strong call the long prompts pay most (the `longest-prompt` rule wins on the strong-calls axis); per $
 * the short ones do, 0.4 / 0.005 against 0.6 / 0.05 (the `most-numbers` rule wins on the dollars axis).
 */
function writeDisagreeing(file: string, n = 240, swap = false): string {
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    const g = i % 3;
    const k = Math.floor(i / 3) % 5;
    let prompt: string;
    let weak: boolean;
    let strong: boolean;
    let cost: number;
    if (g === 0) {
      prompt = `Question ${code(i)}: ${"the farmer walks along the long road past the old mill and the river bank ".repeat(5)}how far is 7?`;
      strong = true;
      weak = k >= 3;
      cost = 0.05;
    } else if (g === 1) {
      prompt = `Sum ${code(i)}: 3 4 5 6 8 9?`;
      strong = true;
      weak = k >= 2;
      cost = 0.005;
    } else {
      prompt = `Question ${code(i)}: a mid length story about apples and pears, 2 and 4 and 6?`;
      strong = k % 2 === 0;
      weak = strong;
      cost = 0.01;
    }
    // swap: the weak model is the more accurate one (as GPT-4 against Mixtral on the pooled MMLU sample)
    if (swap) [weak, strong] = [strong, weak];
    rows.push(JSON.stringify({ id: `p${i}`, prompt, models: { weak: { correct: weak, cost: 0.001 }, strong: { correct: strong, cost } } }));
  }
  fs.writeFileSync(file, rows.join("\n") + "\n");
  return file;
}

const dir = tmpDir("pair-axis");
const data = writeDisagreeing(path.join(dir, "pair.jsonl"));

writeDisagreeing(path.join(dir, "swapped.jsonl"), 240, true);

function config(axis: "dollars" | "strong-calls", updates: number, shape: "router" | "cascade" | "swapped" = "router"): string {
  const f = path.join(dir, `${axis}-${updates}-${shape}.yaml`);
  fs.writeFileSync(
    f,
    [
      `name: pair-${axis}`,
      "seed: 0",
      "agents:",
      "  - {kind: recorded, model: '*'}",
      "  - terminator",
      `tasks: {source: recorded, file: ${shape === "swapped" ? "swapped" : "pair"}.jsonl, costAxis: ${axis}, split: {train: 0.5, val: 0.2, test: 0.3}}`,
      `env: {maxSteps: ${shape === "cascade" ? 3 : 2}, shape: ${shape === "cascade" ? "cascade" : "router"}}`,
      "encoder: {name: answers}",
      "knob: {name: lambda}",
      "policy: {hidden: [32, 32], activation: tanh}",
      "algo: {name: ppo, lr: 0.001, entropyCoef: 0.05, epochs: 4, minibatches: 2}",
      `train: {updates: ${updates}, episodesPerUpdate: 64, checkpointEvery: ${updates}}`,
      "log: {plot: false, episodeSample: 0}",
    ].join("\n"),
  );
  return f;
}

const runs: Record<string, { dir: string; r: CurveResult }> = {};
async function trained(
  axis: "dollars" | "strong-calls",
  updates: number,
  shape: "router" | "cascade" | "swapped" = "router",
): Promise<{ dir: string; r: CurveResult }> {
  const key = `${axis}-${updates}-${shape}`;
  if (!runs[key]) {
    const runDir = path.join(dir, key);
    const s = await train({ config: loadConfig(config(axis, updates, shape)), runDir });
    expect(s.status).toBe("completed");
    runs[key] = { dir: runDir, r: await curveRun(runDir, { points: 5 }) };
  }
  return runs[key]!;
}

/** The test split's items of the fixture, read back from the file: $ and correctness per model. */
function testItems(axis: "dollars" | "strong-calls") {
  const ids = new Set(recordedSplits(loadConfig(config(axis, 1))).test.map((i) => i.id));
  return fs
    .readFileSync(data, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { id: string; prompt: string; models: Record<"weak" | "strong", { correct: boolean; cost: number }> })
    .filter((r) => ids.has(r.id));
}

describe("the pair curve on both cost axes", () => {
  beforeAll(async () => {
    await trained("dollars", 10);
    await trained("strong-calls", 10);
  }, 240_000);

  it("names the axis each run was trained for (tasks.costAxis)", () => {
    expect(runs["dollars-10-router"]!.r.trainedFor).toBe("dollars");
    expect(runs["strong-calls-10-router"]!.r.trainedFor).toBe("strong-calls");
  });

  it("counts money on both runs: weak and strong $ per item, the anchors and the learned points, as the file states", () => {
    const items = testItems("strong-calls");
    const mean = (f: (x: (typeof items)[number]) => number) => items.reduce((a, x) => a + f(x), 0) / items.length;
    for (const key of ["dollars-10-router", "strong-calls-10-router"]) {
      const r = runs[key]!.r;
      expect(r.weak.cost, key).toBeCloseTo(0.001, 12);
      expect(r.strong.cost, key).toBeCloseTo(
        mean((x) => x.models.strong.cost),
        12,
      );
      expect(r.weak.accuracy).toBeCloseTo(
        mean((x) => Number(x.models.weak.correct)),
        12,
      );
      // a router pays exactly one model per item: $ between always-weak's and always-strong's (not a count of calls)
      for (const p of r.points) {
        expect(p.cost).toBeGreaterThanOrEqual(r.weak.cost - 1e-12);
        expect(p.cost).toBeLessThanOrEqual(r.strong.cost + 1e-12);
      }
      expect(r.points.find((p) => p.x === 0)!.cost).toBeCloseTo(0.001, 12);
    }
  });

  it("keeps RouteLLM's figures on the strong-calls axis: the oracle's APGR is the gain-ordered curve's", () => {
    const items = testItems("dollars");
    const w = items.map((x) => x.models.weak.correct);
    const s = items.map((x) => x.models.strong.correct);
    const gain = items.map((x) => Number(x.models.strong.correct) - Number(x.models.weak.correct));
    const pts = orderCurve(
      orderByScore(gain),
      w,
      s,
      items.map(() => 1),
      items.map(() => 1),
    );
    const r = runs["dollars-10-router"]!.r;
    const oracle = r.baselines.find((b) => b.name === "oracle")!;
    expect(oracle.apgr).toBeCloseTo(apgr(pts, r.weak.accuracy, r.strong.accuracy)!, 12);
    expect(oracle.cpt50).not.toBeNull();
  });

  it("puts $-axis figures on the learned curve and every baseline: always-strong 0.5, always-weak 0, the oracle above the learned, random near 0.5", () => {
    for (const key of ["dollars-10-router", "strong-calls-10-router"]) {
      const r = runs[key]!.r;
      const b = (name: string) => r.baselines.find((x) => x.name === name)!;
      expect(r.baselines.map((x) => x.name)).toEqual(["always-weak", "always-strong", "random", "oracle", "best-rule"]);
      for (const x of r.baselines) expect(x.dollars, x.name).toHaveProperty("apgrDollars");
      // the strong model is the more accurate one here: its point alone is the straight line from always-weak
      expect(r.strong.accuracy).toBeGreaterThan(r.weak.accuracy + 0.1);
      expect(b("always-strong").dollars.apgrDollars).toBeCloseTo(0.5, 12);
      expect(b("always-strong").dollars.accuracyAtBestCost).toBeCloseTo(r.strong.accuracy, 12);
      expect(b("always-strong").dollars.costShareAtBestAccuracy).toBeCloseTo(1, 12);
      expect(b("always-weak").dollars.apgrDollars).toBeCloseTo(0, 12);
      expect(r.dollars.apgrDollars).not.toBeNull();
      expect(b("oracle").dollars.apgrDollars!).toBeGreaterThanOrEqual(r.dollars.apgrDollars! - 1e-12);
      expect(b("oracle").dollars.apgrDollars!).toBeGreaterThanOrEqual(b("best-rule").dollars.apgrDollars! - 1e-12);
      expect(Math.abs(b("random").dollars.apgrDollars! - 0.5)).toBeLessThan(0.1);
      // the oracle reaches the strong model's accuracy for a small share of its $ (the gains are on cheap and dear items alike)
      expect(b("oracle").dollars.costShareAtBestAccuracy!).toBeLessThan(1);
    }
  });

  it("chooses the best hand rule on the trained-for axis: longest prompts on strong calls, most numbers on $", () => {
    const d = runs["dollars-10-router"]!.r;
    const c = runs["strong-calls-10-router"]!.r;
    expect(c.bestRule).toBe("longest-prompt");
    expect(d.bestRule).toBe("most-numbers");
    expect(c.ruleScores.map((x) => x.measure)).toEqual(["APGR", "APGR"]);
    expect(d.ruleScores.map((x) => x.measure)).toEqual(["APGR$", "APGR$"]);
    // the same rules, scored on the other axis, rank the other way
    const score = (r: CurveResult, name: string) => r.ruleScores.find((x) => x.name === name)!.score;
    expect(score(c, "longest-prompt")).toBeGreaterThan(score(c, "most-numbers"));
    expect(score(d, "most-numbers")).toBeGreaterThan(score(d, "longest-prompt"));
    expect(d.baselines.find((b) => b.name === "best-rule")!.label).toContain("dollars axis (most-numbers)");
  });

  it("draws the trained-for axis first and says so in its title", () => {
    const title = (r: CurveResult, i: number) => (curvePanels(r)[i]!.options!.plugins!.title as { text: string }).text;
    expect(title(runs["dollars-10-router"]!.r, 0)).toMatch(/^TRAINED FOR dollars: accuracy vs \$/);
    expect(title(runs["dollars-10-router"]!.r, 1)).toMatch(/strong-model calls .*not the axis it was trained for/);
    expect(title(runs["strong-calls-10-router"]!.r, 0)).toMatch(/^TRAINED FOR strong-model calls/);
    expect((curvePanels(runs["strong-calls-10-router"]!.r)[1]!.options!.scales!.x as { title: unknown }).title).toMatchObject({
      text: "$ per 1,000 items (every call counted)",
    });
  });
});

describe("flags on the trained-for axis", () => {
  it(
    "a policy trained for one update falls below the best hand rule on each axis: flagged, never against the oracle",
    { timeout: 120_000 },
    async () => {
      for (const axis of ["dollars", "strong-calls"] as const) {
        const { r } = await trained(axis, 1);
        expect(r.tolerance).toBe(0.005);
        expect(r.below.length, axis).toBeGreaterThan(0);
        expect(r.below.map((b) => b.baseline)).toContain("best-rule");
        expect(r.below.map((b) => b.baseline)).not.toContain("oracle");
        for (const b of r.below) {
          expect(b.margin).toBeGreaterThan(r.tolerance);
          expect(b.margin).toBeCloseTo(b.baselineAccuracy - b.learned, 12);
        }
        // x on the trained-for axis: $ per item (a few thousandths) or a share of strong calls
        if (axis === "dollars")
          expect(Math.max(...r.below.map((b) => b.x))).toBeLessThanOrEqual(runs[`${axis}-1-router`]!.r.strong.cost + 1e-12);
        expect(r.warnings.some((w) => w.includes(`on the ${axis} axis it was trained for`))).toBe(true);
      }
      // a tolerance as large as the whole accuracy range flags nothing
      const loose = await curveRun(runs["dollars-1-router"]!.dir, { points: 5, tolerance: 1 });
      expect(loose.below).toEqual([]);
      expect(loose.warnings.some((w) => w.includes("falls below"))).toBe(false);
    },
  );

  it("a cascade that pays both models is flagged against always-strong on $, not on strong calls", { timeout: 120_000 }, async () => {
    // escalate-all costs weak + strong: on the $ axis the untrained cascade reaches the strong model's accuracy
    // only at a dearer point than always-strong's; on the strong-calls axis the two points are the same x = 1
    const { r } = await trained("dollars", 1, "cascade");
    const always = r.baselines.find((b) => b.name === "always-strong")!;
    const top = r.points.find((p) => p.x === 1)!;
    expect(top.cost).toBeCloseTo(always.points[0]!.cost + r.weak.cost, 12);
    const f = r.below.find((b) => b.baseline === "always-strong");
    expect(f).toBeDefined();
    expect(f!.x).toBeGreaterThanOrEqual(always.points[0]!.cost - 1e-12);
    expect(f!.baselineAccuracy).toBeCloseTo(r.strong.accuracy, 12);
    expect(r.dollars.costShareAtBestAccuracy!).toBeGreaterThan(1);
    const onCalls = flagBelow(
      onAxes(r.points),
      r.baselines.map((b) => ({ name: b.name, points: onAxes(b.points) })),
      "strong-calls",
      r.tolerance,
    );
    expect(onCalls.below.map((b) => b.baseline)).not.toContain("always-strong");
  });

  it(
    "where the strong model is not more accurate: APGR and APGR$ undefined (null), rules ranked by mean accuracy over the axis",
    { timeout: 120_000 },
    async () => {
      for (const axis of ["dollars", "strong-calls"] as const) {
        const { r } = await trained(axis, 1, "swapped");
        expect(r.strong.accuracy).toBeLessThan(r.weak.accuracy);
        expect(r.apgr).toBeNull();
        expect(r.dollars.apgrDollars).toBeNull();
        for (const b of r.baselines) expect(b.dollars.apgrDollars, b.name).toBeNull();
        expect(r.ruleScores.map((x) => x.measure)).toEqual(
          axis === "dollars" ? ["mean accuracy over $", "mean accuracy over $"] : ["mean accuracy", "mean accuracy"],
        );
        // scored on the validation items: no item there is right for the strong model alone, so every rule's mean
        // accuracy lies between the two models' validation accuracies
        const val = new Set(recordedSplits(loadConfig(config(axis, 1, "swapped"))).val.map((i) => i.id));
        const rows = fs
          .readFileSync(path.join(dir, "swapped.jsonl"), "utf8")
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as { id: string; models: Record<"weak" | "strong", { correct: boolean }> });
        const acc = (m: "weak" | "strong") =>
          rows.filter((x) => val.has(x.id)).reduce((a, x) => a + Number(x.models[m].correct), 0) / val.size;
        for (const x of r.ruleScores) {
          expect(x.score).toBeGreaterThan(acc("strong"));
          expect(x.score).toBeLessThanOrEqual(acc("weak") + 1e-9);
        }
        // the more accurate model is the weak one: the $-axis reference point is its own
        expect(r.baselines.find((b) => b.name === "always-weak")!.dollars.accuracyAtBestCost).toBeCloseTo(r.weak.accuracy, 12);
      }
    },
  );

  it("refuses a bad tolerance, and joining runs trained for different axes", async () => {
    const d = runs["dollars-1-router"]!.dir;
    await expect(curveRun(d, { tolerance: -0.1 })).rejects.toThrow(/--tolerance -0\.1: expected an accuracy margin ≥ 0/);
    await expect(curveRun(d, { tolerance: Number.NaN })).rejects.toThrow(InputError);
    const a = { ...runs["dollars-1-router"]!.r, knob: undefined };
    const b = { ...runs["strong-calls-1-router"]!.r, knob: undefined, runDir: "other" };
    expect(() => combineCurves([a, b])).toThrow(
      /other: trained for strong-calls, .* for dollars \(tasks\.costAxis\); curves can only be joined on one axis/,
    );
  });
});

describe("maestro curve on a pair run (built CLI)", () => {
  it("--json carries the axis, the $-axis figures, the rule scores and the flags; the table says them", { timeout: 120_000 }, async () => {
    const { dir: run } = await trained("strong-calls", 1);
    const j = runCli(["curve", run, "--json", "--points", "5", "--out", path.join(dir, "cli-curve")]);
    expect(j.status, j.stderr).toBe(0);
    const r = JSON.parse(j.stdout) as CurveResult;
    expect(r.trainedFor).toBe("strong-calls");
    expect(r.tolerance).toBe(0.005);
    expect(r.dollars).toHaveProperty("apgrDollars");
    expect(r.baselines.every((b) => typeof b.dollars.apgrDollars === "number")).toBe(true);
    expect(r.ruleScores.length).toBeGreaterThanOrEqual(2);
    expect(r.below.length).toBeGreaterThan(0);
    expect(r.below[0]).toEqual(
      expect.objectContaining({ baseline: expect.any(String), x: expect.any(Number), margin: expect.any(Number) }),
    );
    expect(JSON.parse(fs.readFileSync(path.join(dir, "cli-curve", "curve.json"), "utf8"))).toEqual(r);
    const t = runCli(["curve", run, "--points", "5", "--out", path.join(dir, "cli-curve2")]);
    expect(t.status, t.stderr).toBe(0);
    expect(t.stdout).toContain("trained for: strong-model calls (RouteLLM's count)");
    expect(t.stdout).toMatch(/strong-calls axis\*/);
    expect(t.stdout).toMatch(/APGR\$/);
    expect(t.stdout).toMatch(/best hand rule \(chosen on validation by APGR, strong-calls axis\): longest-prompt/);
    expect(t.stdout).toContain("BELOW A BASELINE on the strong-calls axis it was trained for (tolerance 0.005;");
    expect(t.stdout).toMatch(/\n {2}best-rule: .*at x = 0\.\d{3}: learned 0\.\d{4} < 0\.\d{4} \(by 0\.\d{4}\)/);
    const bad = runCli(["curve", run, "--tolerance", "-1", "--out", path.join(dir, "cli-bad")]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--tolerance -1: expected an accuracy margin ≥ 0");
    expect(fs.existsSync(path.join(dir, "cli-bad"))).toBe(false);
  });
});
