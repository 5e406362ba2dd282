import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CostKnob, nonIncreasing } from "../src/algos/knob.js";
import { combineCurves, type CurveResult } from "../src/analysis/curve.js";
import { loadSweep } from "../src/sweep/spec.js";
import {
  apgr,
  at,
  cpt,
  curveMetrics,
  minMargin,
  orderByScore,
  orderCurve,
  savedAtStrong,
  type CurvePoint,
} from "../src/analysis/metrics-routing.js";
import { loadConfig } from "../src/config/load.js";
import { InputError } from "../src/core/errors.js";
import { Rng } from "../src/core/rng.js";
import { removeTmpDirs, repoRoot } from "./helpers.js";

afterAll(removeTmpDirs);

/** The curve of an escalation order on a table of (weak correct, strong correct) items, unit costs. */
function curveOf(order: number[], weak: boolean[], strong: boolean[]): CurvePoint[] {
  const one = weak.map(() => 1);
  return orderCurve(
    order,
    weak,
    strong,
    one,
    one.map(() => 10),
  );
}

describe("RouteLLM's metrics, against hand-computed values", () => {
  // the worked example: items a..d, (weak, strong) = (no, yes) (no, yes) (yes, yes) (no, no);
  // escalation order by router score a, c, b, d
  const weak = [false, false, true, false];
  const strong = [true, true, true, false];
  const pts = curveOf([0, 2, 1, 3], weak, strong);

  it("curve on the per-item grid", () => {
    expect(pts.map((p) => p.x)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(pts.map((p) => p.accuracy)).toEqual([0.25, 0.5, 0.5, 0.75, 0.75]);
    expect(pts.map((p) => p.cost)).toEqual([1, 3.25, 5.5, 7.75, 10]);
  });

  it("APGR = (trapezoid area − w) / (s − w) = (0.5625 − 0.25) / 0.5 = 0.625", () => {
    expect(apgr(pts, 0.25, 0.75)).toBeCloseTo(0.625, 12);
  });

  it("CPT(p) is the first crossing of w + p(s − w) on the piecewise-linear curve", () => {
    expect(cpt(pts, 0.25, 0.75, 0.2)).toBeCloseTo(0.1, 12);
    expect(cpt(pts, 0.25, 0.75, 0.5)).toBeCloseTo(0.25, 12); // exact hit counts (np.interp would say 0.5, the plateau's right end)
    expect(cpt(pts, 0.25, 0.75, 0.8)).toBeCloseTo(0.65, 12);
  });

  it("oracle ordering a, b, c, d: APGR 0.75; random mix expectation: APGR 0.5, CPT(p) = p", () => {
    expect(apgr(curveOf([0, 1, 2, 3], weak, strong), 0.25, 0.75)).toBeCloseTo(0.75, 12);
    const line = [0, 0.5, 1].map((x) => ({ x, accuracy: 0.25 + 0.5 * x, cost: 0 }));
    expect(apgr(line, 0.25, 0.75)).toBeCloseTo(0.5, 12);
    expect(cpt(line, 0.25, 0.75, 0.8)).toBeCloseTo(0.8, 12);
  });

  it("a non-monotone curve: APGR 0.625, CPT(50%) 0.125", () => {
    // (weak, strong) = (no, yes) (yes, yes) (yes, no) (no, yes), scores 0.9, 0.6, 0.4, 0.2
    const w2 = [false, true, true, false];
    const s2 = [true, true, false, true];
    const p2 = curveOf(orderByScore([0.9, 0.6, 0.4, 0.2]), w2, s2);
    expect(p2.map((p) => p.accuracy)).toEqual([0.5, 0.75, 0.75, 0.5, 0.75]);
    expect(apgr(p2, 0.5, 0.75)).toBeCloseTo(0.625, 12);
    expect(cpt(p2, 0.5, 0.75, 0.5)).toBeCloseTo(0.125, 12);
  });

  it("APGR normalises by the covered x span (RouteLLM's trapezoids of w and s on the same grid)", () => {
    const part = [
      { x: 0.2, accuracy: 0.5, cost: 0 },
      { x: 0.6, accuracy: 0.7, cost: 0 },
    ];
    // area 0.4 · 0.6 = 0.24; (0.24 − 0.25·0.4) / ((0.75 − 0.25)·0.4) = 0.7
    expect(apgr(part, 0.25, 0.75)).toBeCloseTo(0.7, 12);
  });

  it("null where undefined: the strong model no better than the weak, a target never reached", () => {
    expect(apgr(pts, 0.6, 0.55)).toBeNull();
    expect(cpt(pts, 0.6, 0.55, 0.5)).toBeNull();
    expect(cpt(pts, 0.25, 0.95, 0.9)).toBeNull();
    expect(savedAtStrong(pts, 0.9, 10)).toBeNull();
  });

  it("$ saved at equal accuracy, values at a share, margins between curves", () => {
    // accuracy 0.75 is first reached at x = 0.75, $ 7.75 of always-strong's 10
    expect(savedAtStrong(pts, 0.75, 10)).toBeCloseTo(0.225, 12);
    expect(at(pts, 0.125)).toEqual({ accuracy: 0.375, cost: 2.125 });
    expect(at(pts, 1.5)).toBeNull();
    const line = [0, 1].map((x) => ({ x, accuracy: 0.25 + 0.5 * x, cost: 0 }));
    // touches the random line at x = 0, 0.5 and 1, above it elsewhere
    expect(minMargin(pts, line).margin).toBeCloseTo(0, 12);
    // the non-monotone curve dips below its random line (0.5 → 0.75) at x = 0.75: 0.5 vs 0.6875
    const p2 = curveOf(orderByScore([0.9, 0.6, 0.4, 0.2]), [false, true, true, false], [true, true, false, true]);
    const m = minMargin(
      p2,
      [0, 1].map((x) => ({ x, accuracy: 0.5 + 0.25 * x, cost: 0 })),
    );
    expect(m.margin).toBeCloseTo(-0.1875, 12);
    expect(m.x).toBe(0.75);
    expect(curveMetrics(pts, 0.25, 0.75, 10).bestAccuracy).toBe(0.75);
  });
});

describe("the cost knob", () => {
  it("isotonic projection keeps multipliers non-increasing in the budget", () => {
    expect(nonIncreasing([3, 1, 2, 0], [1, 1, 1, 1])).toEqual([3, 1.5, 1.5, 0]);
    expect(nonIncreasing([1, 2, 3], [1, 1, 2])).toEqual([2.25, 2.25, 2.25]);
  });

  it("budget: a bin whose episodes overspend raises its λ; λ(b) interpolates between bin centres; state round-trips", () => {
    const k = new CostKnob({ name: "budget", min: 0, max: 1, costUnit: 2, scale: "linear", bins: 2, lambdaLr: 1, lambdaMax: 5 });
    // bin 0 (b ≈ 0.2) spends 0.8 units on average: over by 0.6; bin 1 (b ≈ 0.8) spends 0.4 units: under
    k.update([
      { knob: 0.2, cost: 1.6 },
      { knob: 0.8, cost: 0.8 },
    ]);
    expect(k.lambdas[0]).toBeCloseTo(0.6, 12);
    expect(k.lambdas[1]).toBe(0);
    expect(k.lambdaOf(0.5)).toBeCloseTo(0.3, 12);
    expect(k.penaltyOf(0.25)).toBeCloseTo(0.3, 12);
    const k2 = new CostKnob(k.o);
    k2.restore(k.state());
    expect(k2.lambdas).toEqual(k.lambdas);
  });

  it("log scale: draws and positions cover every decade evenly", () => {
    const k = new CostKnob({ name: "lambda", min: 0.01, max: 1, costUnit: 1, scale: "log", bins: 1, lambdaLr: 1, lambdaMax: 1 });
    expect(k.valueAt(0.5)).toBeCloseTo(0.1, 12);
    expect(k.position(0.1)).toBeCloseTo(0.5, 12);
    const rng = new Rng(3);
    const draws = Array.from({ length: 2000 }, () => k.draw(0, rng).value);
    expect(draws.filter((v) => v < 0.1).length / 2000).toBeGreaterThan(0.45);
    expect(draws.filter((v) => v < 0.1).length / 2000).toBeLessThan(0.55);
    expect(draws.every((v) => v >= 0.01 && v <= 1)).toBe(true);
  });
});

describe("a λ sweep of separately trained policies as one curve", () => {
  const part = (runDir: string, x: number, accuracy: number): CurveResult =>
    ({
      runDir,
      checkpointUpdate: 1,
      split: "test",
      items: 4,
      shape: "cascade",
      weak: { agent: "w", accuracy: 0.25, cost: 1 },
      strong: { agent: "s", accuracy: 0.75, cost: 10 },
      points: [
        { x, accuracy, cost: 1 + 10 * x },
        { x: 0, accuracy: 0.25, cost: 1, anchor: true },
        { x: 1, accuracy: 0.75, cost: 11, anchor: true },
      ],
      operating: [{ x: 0.5, accuracy: null, cost: null }],
      trainedFor: "strong-calls",
      tolerance: 0.005,
      below: [],
      vsRandom: { margin: 0, x: 0 },
      baselines: [{ name: "random", label: "", points: [0, 1].map((x) => ({ x, accuracy: 0.25 + 0.5 * x, cost: 1 + 9 * x })) }],
      bestRule: "",
      warnings: [],
      apgr: null,
      cpt20: null,
      cpt50: null,
      cpt80: null,
      savedAtStrong: null,
      bestAccuracy: accuracy,
      bestCost: 0,
    }) as unknown as CurveResult;

  it("joins the runs' points, adds the end anchors once and recomputes the metrics", () => {
    const c = combineCurves([part("a", 0.25, 0.5), part("b", 0.75, 0.75)]);
    expect(c.points.map((p) => p.x).sort()).toEqual([0, 0.25, 0.75, 1]);
    // the curve 0.25 → 0.5 (x = 0.25) → 0.75 (x = 0.75) → 0.75: area 0.5625 − 0.25 over 0.5
    expect(c.apgr).toBeCloseTo((0.25 * 0.375 + 0.5 * 0.625 + 0.25 * 0.75 - 0.25) / 0.5, 12);
    expect(c.operating[0]!.accuracy).toBeCloseTo(0.625, 12);
    expect(c.vsRandom.margin).toBeGreaterThanOrEqual(0);
    expect(c.below).toEqual([]);
    expect(c.dollars.apgrDollars).not.toBeNull();
  });

  it("flags the joined curve where it falls below the random mix on the trained-for axis", () => {
    // the point (0.5, 0.4) is under the random line's 0.5 there
    const c = combineCurves([part("a", 0.5, 0.4), part("b", 0.75, 0.75)]);
    expect(c.below).toEqual([{ baseline: "random", x: 0.5, learned: 0.4, baselineAccuracy: 0.5, margin: expect.closeTo(0.1, 12) }]);
    expect(c.warnings).toEqual([
      expect.stringMatching(/falls below random on the strong-calls axis it was trained for \(by up to 0\.1000 accuracy\)/),
    ]);
  });

  it("refuses runs on different items, and budget-conditioned runs", () => {
    const other = { ...part("b", 0.5, 0.5), items: 5 };
    expect(() => combineCurves([part("a", 0.25, 0.5), other])).toThrow(/not evaluated on the same items/);
    const knob = { ...part("b", 0.5, 0.5), knob: { name: "lambda", min: 0, max: 1, costUnit: 1 } } as CurveResult;
    expect(() => combineCurves([part("a", 0.25, 0.5), knob])).toThrow(InputError);
  });

  it("configs/sweeps/gsm8k-lambda.yaml: 7 fixed-λ cascades without a knob, same data and split as gsm8k-cascade", () => {
    const sw = loadSweep(path.join(repoRoot, "configs/sweeps/gsm8k-lambda.yaml"));
    expect(sw.trials).toHaveLength(7);
    for (const t of sw.trials) {
      expect(t.config.knob ?? undefined).toBeUndefined();
      expect(t.config.reward.costPenalty).toBeGreaterThan(0);
      expect(t.config.tasks).toEqual(loadConfig(path.join(repoRoot, "configs/gsm8k-cascade.yaml")).tasks);
    }
  });
});
