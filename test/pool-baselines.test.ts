import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InputError } from "../src/core/errors.js";
import { Rng } from "../src/core/rng.js";
import {
  agreementRuleFamily,
  agreementRules,
  cascade,
  checkPoolSplits,
  evaluateRule,
  fitLogistic,
  majorityAll,
  oracle,
  poolBaselines,
  poolFacts,
  promptRouter,
  randomRouting,
  singleModels,
  type PoolBaseline,
  type PoolItems,
  type PoolPoint,
  type PoolSplits,
} from "../src/analysis/pool-baselines.js";
import { accuracyAt, belowBaselines, dollarMetrics, firstReach, frontier } from "../src/analysis/metrics-pool.js";
import { plotPoolCurve } from "../src/plots/pool-curve.js";
import { isPng, removeTmpDirs, tmpDir } from "./helpers.js";
import { loadPool8, zeroevalGsm } from "./zeroeval-helpers.js";

afterAll(removeTmpDirs);

/**
 * Three models listed out of cost order: C ($10, the strong one), A ($1), B ($2). Per item (A, B, C):
 *   i0: "1"✓ "1"✓ "2"✗     the two cheap ones agree at once
 *   i1: "3"✗ "4"✓ "4"✓     B and C agree on the third call
 *   i2:  –✗  "5"✗ "6"✓     A gives no answer; no two agree; B and C tie → the most expensive (C)
 *   i3: "7"✗ "8"✗ "9"✗     nobody agrees, nobody is right
 */
function table(): PoolItems {
  const rows: Array<[Array<string | null>, boolean[]]> = [
    [
      ["1", "1", "2"],
      [true, true, false],
    ],
    [
      ["3", "4", "4"],
      [false, true, true],
    ],
    [
      [null, "5", "6"],
      [false, false, true],
    ],
    [
      ["7", "8", "9"],
      [false, false, false],
    ],
  ];
  // columns in pool order C, A, B
  const perm = [2, 0, 1];
  return {
    models: ["C", "A", "B"],
    answer: rows.map(([a]) => perm.map((j) => a[j]!)),
    correct: rows.map(([, c]) => perm.map((j) => c[j]!)),
    cost: rows.map(() => [10, 1, 2]),
    prompt: rows.map((_, i) => `question ${i}`),
    type: rows.map(() => "t"),
  };
}

const same = (s: PoolItems): PoolSplits => ({ train: s, val: s, test: s });
const byName = (bs: PoolBaseline[], name: string) => bs.find((b) => b.name === name)!;
const pt = (cost: number, accuracy: number, strongShare = 0): PoolPoint => ({ cost, accuracy, strongShare, calls: 1 });

function expectPoint(p: PoolPoint, want: Partial<PoolPoint>) {
  for (const [k, v] of Object.entries(want)) expect(p[k as keyof PoolPoint], k).toBeCloseTo(v as number, 10);
}

describe("pool baselines on a hand-made table", () => {
  const t = table();
  const f = poolFacts(t);

  it("orders the pool by mean train $, finds the strong, the most accurate (ties: the cheaper) and the cheapest model", () => {
    expect(f.order.map((m) => t.models[m])).toEqual(["A", "B", "C"]);
    expect(t.models[f.strong]).toBe("C");
    expect(t.models[f.cheapest]).toBe("A");
    // B and C are both right on 2 of 4 training items: the cheaper one counts as the most accurate
    expect(t.models[f.best]).toBe("B");
  });

  it("single models: a point each, the strong model's calls counted", () => {
    const s = singleModels(t, f);
    expect(s.map((b) => b.name)).toEqual(["single:A", "single:B", "single:C"]);
    expectPoint(s[0]!.points[0]!, { accuracy: 0.25, cost: 1, strongShare: 0, calls: 1 });
    expectPoint(s[1]!.points[0]!, { accuracy: 0.5, cost: 2, strongShare: 0 });
    expectPoint(s[2]!.points[0]!, { accuracy: 0.5, cost: 10, strongShare: 1 });
  });

  it("cascade k=2: stops at the first agreement; without one, the largest group, ties to the most expensive model", () => {
    // i0 A+B agree (2 calls, $3, right); i1 B+C agree (3 calls, $13, right); i2 no agreement, "5"(B) vs "6"(C) → C, right;
    // i3 all differ → C's "9", wrong
    expectPoint(cascade(t, f, 2).points[0]!, { accuracy: 0.75, cost: (3 + 13 + 13 + 13) / 4, strongShare: 0.75, calls: 2.75 });
  });

  it("cascade k=3: never reached here, so the whole pool is called and the largest group answers", () => {
    // i0 "1"(A,B) beats "2"(C): right; i1 "4": right; i2 tie → C: right; i3 tie → C: wrong
    expectPoint(cascade(t, f, 3).points[0]!, { accuracy: 0.75, cost: 13, strongShare: 1, calls: 3 });
  });

  it("majority of the pool pays every call; a no-answer item answered by nobody is wrong", () => {
    expectPoint(majorityAll(t, f).points[0]!, { accuracy: 0.75, cost: 13, strongShare: 1, calls: 3 });
    const silent = table();
    silent.answer[3] = [null, null, null];
    silent.correct[3] = [false, false, false];
    expectPoint(majorityAll(silent, poolFacts(silent)).points[0]!, { accuracy: 0.75, cost: 13 });
  });

  it("oracle: the cheapest right model per item; none right → the cheapest model, wrong", () => {
    // i0 A ($1), i1 B ($2), i2 C ($10), i3 nobody → A ($1, wrong)
    expectPoint(oracle(t, f).points[0]!, { accuracy: 0.75, cost: 3.5, strongShare: 0.25, calls: 1 });
  });

  it("random routing as exact expectations: a line from the cheapest to the most accurate model, and the uniform point", () => {
    const [line, uniform] = randomRouting(t, f);
    expect(line!.points).toHaveLength(11);
    expectPoint(line!.points[0]!, { accuracy: 0.25, cost: 1, strongShare: 0, param: 0 });
    expectPoint(line!.points[5]!, { accuracy: 0.375, cost: 1.5, strongShare: 0, param: 0.5 });
    expectPoint(line!.points[10]!, { accuracy: 0.5, cost: 2, param: 1 });
    expectPoint(uniform!.points[0]!, { accuracy: (0.25 + 0.5 + 0.5) / 3, cost: 13 / 3, strongShare: 1 / 3, calls: 1 });
  });

  it("the agreement-rule family: ordered subsets of the cheap models, k ≤ size, two fallbacks, two answer variants", () => {
    // cheap = 2 (A, B): [A], [B] alone; [A,B], [B,A] × k2 × fallbacks {B, C} × {fallback, vote}
    expect(agreementRuleFamily(f, 2)).toHaveLength(2 + 2 * 2 * 2);
    // all 3 models: 3 alone + 6 pairs × 4 + 6 triples × k∈{2,3} × 4
    expect(agreementRuleFamily(f, 5)).toHaveLength(3 + 24 + 48);
  });

  it("a rule stops when k agree, escalates as soon as k cannot be reached, and pays each model once", () => {
    const [A, B, C] = [1, 2, 0];
    const g = answerGroupsOf(t);
    // A>B k2 → C: i0 agree ($3); i1, i3 escalate to C after A and B ($13); i2: A gives no answer, so two can no
    // longer agree after it and C is asked at once ($11); C is right on i1, i2
    expectPoint(evaluateRule({ seq: [A, B], k: 2, fallback: C, answer: "fallback" }, t, g, f), {
      accuracy: 0.75,
      cost: 10,
      strongShare: 0.75,
      calls: 2.5,
    });
    // A>B k2 → B: B was already asked, so escalating costs nothing more; its own answer is right on i0, i1 only
    expectPoint(evaluateRule({ seq: [A, B], k: 2, fallback: B, answer: "fallback" }, t, g, f), {
      accuracy: 0.5,
      cost: 3,
      strongShare: 0,
      calls: 2,
    });
  });

  it("the two answer variants differ when the largest group outvotes the fallback; giving up early saves calls", () => {
    const four: PoolItems = {
      models: ["P", "Q", "R", "F"],
      // i0: P, Q agree, R differs: k=3 is out of reach after R → F; F's "3" is wrong, the vote's "1" (P, Q) right
      // i1: P and Q differ: k=3 is out of reach after Q → R is never asked
      answer: [
        ["1", "1", "2", "3"],
        ["4", "5", "4", "4"],
      ],
      correct: [
        [true, true, false, false],
        [true, false, true, true],
      ],
      cost: [
        [1, 1.5, 2, 10],
        [1, 1.5, 2, 10],
      ],
      prompt: ["a", "b"],
      type: ["t", "t"],
    };
    const f4 = poolFacts(four);
    const g = answerGroupsOf(four);
    const rule = { seq: [0, 1, 2], k: 3, fallback: 3 } as const;
    const fb = evaluateRule({ ...rule, answer: "fallback" }, four, g, f4);
    const vote = evaluateRule({ ...rule, answer: "vote" }, four, g, f4);
    expectPoint(fb, { accuracy: 0.5, cost: (14.5 + 12.5) / 2, calls: 3.5, strongShare: 1 });
    // i1 vote: "4"(P, F) beats "5"(Q): right as well
    expectPoint(vote, { accuracy: 1, cost: (14.5 + 12.5) / 2, calls: 3.5 });
    expect(fb.param).toBe("P>Q>R k3 → F (fallback)");
  });

  it("agreement-rules: the frontier is chosen on val and evaluated on test", () => {
    const test = table();
    // on test C is right on i3 too: the chosen escalating rule answers every item right there
    test.correct[3] = [true, false, false];
    const r = agreementRules(t, test, f, "dollars", 2);
    expect(r.rules).toBe(10);
    // val: A alone ($1, .25), B alone ($2, .5), A>B k2 → C ($10, .75); A>B k2 → B ($3, .5) is dominated
    expect(r.chosen).toEqual(["A alone", "B alone", "A>B k2 → C (fallback)"]);
    expect(r.points.map((p) => p.param)).toEqual(r.chosen);
    expectPoint(r.points[2]!, { accuracy: 1, cost: 10 });
    // on the strong-calls axis B alone (share 0, .5) dominates A alone
    expect(agreementRules(t, test, f, "strong-calls", 2).chosen).toEqual(["B alone", "A>B k2 → C (fallback)"]);
  });

  it("poolBaselines returns every baseline once, evaluated on test", () => {
    const bs = poolBaselines(same(t), { axis: "dollars" });
    expect(bs.map((b) => b.name)).toEqual([
      "single:A",
      "single:B",
      "single:C",
      "cascade-k2",
      "cascade-k3",
      "agreement-rules",
      "majority-all",
      "prompt-router",
      "random",
      "random-uniform",
      "oracle",
    ]);
    for (const b of bs) {
      expect(b.points.length, b.name).toBeGreaterThan(0);
      for (const p of b.points)
        for (const k of ["cost", "accuracy", "strongShare", "calls"] as const) expect(Number.isFinite(p[k]), `${b.name}.${k}`).toBe(true);
    }
    expect(byName(bs, "oracle").kind).toBe("point");
    expect(byName(bs, "prompt-router").kind).toBe("curve");
  });
});

function answerGroupsOf(s: PoolItems): Int32Array[] {
  return s.answer.map((row) => {
    const ids = new Map<string, number>();
    return Int32Array.from(row, (a) => (a === null ? -1 : (ids.get(a) ?? (ids.set(a, ids.size), ids.size - 1))));
  });
}

describe("pool baselines: bad input", () => {
  const base = () => same(table());
  const err = (s: PoolSplits, axis: "dollars" | "strong-calls" = "dollars") => {
    try {
      poolBaselines(s, { axis });
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      return e as InputError;
    }
    throw new Error("expected an InputError");
  };

  it("names the split, the field and the item", () => {
    const s = base();
    s.test = { ...table(), cost: table().cost.map((r, i) => (i === 1 ? [10, 1] : r)) };
    expect(err(s).message).toBe("pool test split: cost[1]: expected one entry per model (3), got 2");
    expect(err(s).field).toBe("test.cost[1]");
    const n = base();
    n.val = { ...table(), cost: table().cost.map((r, i) => (i === 2 ? [10, NaN, 2] : r)) };
    expect(err(n).message).toBe("pool val split: cost[2][1]: expected a finite $ ≥ 0 (A), got NaN");
    const c = base();
    c.train = { ...table(), correct: table().correct.map((r, i) => (i === 0 ? [true, "yes" as unknown as boolean, false] : r)) };
    expect(err(c).message).toMatch(/^pool train split: correct\[0\]\[1\]: expected true or false \(A\)/);
    const p = base();
    p.test = { ...table(), prompt: ["only one"] };
    expect(err(p).message).toBe("pool test split: correct: has 4 items, prompt has 1");
  });

  it("refuses a split with other models, an empty split, a one-model pool, a duplicate model and an unknown axis", () => {
    const m = base();
    m.val = { ...table(), models: ["C", "A", "Z"] };
    expect(err(m).message).toBe("pool val split: models: expected the training split's pool (C, A, B); missing B; not in train: Z");
    const e = base();
    e.test = { models: ["C", "A", "B"], correct: [], cost: [], answer: [], prompt: [], type: [] };
    expect(err(e).message).toMatch(/^pool test split: prompt: the split has no items/);
    const one: PoolItems = { models: ["A"], correct: [[true]], cost: [[1]], answer: [["1"]], prompt: ["q"], type: ["t"] };
    expect(err(same(one)).message).toBe("pool train split: models: a pool needs at least two models, got 1");
    const d = base();
    d.train = { ...table(), models: ["C", "A", "A"] };
    expect(err(d).message).toBe("pool train split: models[2]: A appears twice");
    expect(err(base(), "euros" as "dollars").message).toBe("pool baselines: axis euros: expected dollars or strong-calls");
  });

  it("accepts val and test with the pool in another column order, and leaves the input untouched", () => {
    const t = table();
    const reordered: PoolItems = {
      ...t,
      models: ["A", "B", "C"],
      correct: t.correct.map((r) => [r[1]!, r[2]!, r[0]!]),
      cost: t.cost.map((r) => [r[1]!, r[2]!, r[0]!]),
      answer: t.answer.map((r) => [r[1]!, r[2]!, r[0]!]),
    };
    const before = JSON.stringify(reordered);
    const s = checkPoolSplits({ train: t, val: t, test: reordered });
    expect(s.test.models).toEqual(["C", "A", "B"]);
    expect(s.test.correct).toEqual(t.correct);
    expect(JSON.stringify(reordered)).toBe(before);
    const f = poolFacts(t);
    expect(cascade(s.test, f, 2).points).toEqual(cascade(t, f, 2).points);
  });
});

describe("prompt router", () => {
  /**
   * Two kinds of question in one task type: arithmetic ones ("what is 3 plus 4") the cheap model gets right,
   * and word problems about trains the cheap model gets wrong; the expensive model is always right.
   */
  function routerTable(n: number, seed: string): PoolItems {
    const rng = new Rng(seed);
    const s: PoolItems = { models: ["cheap", "mid", "dear"], correct: [], cost: [], answer: [], prompt: [], type: [] };
    for (let i = 0; i < n; i++) {
      const easy = rng.next() < 0.5;
      const a = 1 + rng.int(50);
      const b = 1 + rng.int(50);
      s.prompt.push(
        easy
          ? `What is ${a} plus ${b}?`
          : `A train leaves the station at ${a} km per hour and another follows ${b} minutes later; when does the second train catch up with the first?`,
      );
      s.type.push("q");
      // mid: right on a coin flip, whatever the question
      const mid = rng.next() < 0.5;
      s.correct.push([easy, mid, true]);
      s.answer.push([easy ? "1" : "0", mid ? "1" : "2", "1"]);
      s.cost.push([1, 3, 10]);
    }
    return s;
  }
  const splits: PoolSplits = { train: routerTable(80, "train"), val: routerTable(40, "val"), test: routerTable(60, "test") };
  const f = poolFacts(splits.train);

  it("learns P(correct) from the question and beats random routing everywhere on the $ axis", () => {
    const router = promptRouter(splits, f, "dollars", { points: 1000 });
    const random = randomRouting(splits.test, f)[0]!;
    // somewhere the router answers (nearly) everything right for well under the expensive model's $
    const easyShare = splits.test.correct.filter((r) => r[0]).length / splits.test.prompt.length;
    const ideal = easyShare * 1 + (1 - easyShare) * 10;
    expect(router.points.some((p) => p.accuracy >= 0.98 && p.cost <= ideal + 0.5)).toBe(true);
    // never below random's line, and clearly above it in the middle
    expect(belowBaselines(router.points, [random], "dollars", 0.01)).toEqual([]);
    expect(belowBaselines(random.points, [router], "dollars", 0.15).length).toBeGreaterThan(0);
    const cheapest = singleModels(splits.test, f)[0]!.points[0]!;
    const best = singleModels(splits.test, f)[2]!.points[0]!;
    // the ideal router's frontier is the straight line from (cheap $, easy share) to (ideal $, 1), then flat: 0.75
    expect(dollarMetrics(router.points, cheapest, best).apgrDollars!).toBeGreaterThan(0.7);
    expect(dollarMetrics(random.points, cheapest, best).apgrDollars!).toBeCloseTo(0.5, 10);
  });

  it("on the strong-calls axis routes the hard questions (only) to the strong model", () => {
    const router = promptRouter(splits, f, "strong-calls", { points: 1000 });
    const hardShare = splits.test.correct.filter((r) => !r[0]).length / splits.test.prompt.length;
    expect(router.points.some((p) => p.accuracy === 1 && Math.abs(p.strongShare - hardShare) < 1e-9)).toBe(true);
    expect(Math.min(...router.points.map((p) => p.strongShare))).toBe(0);
  });

  it("fits a logistic regression deterministically to its optimum", () => {
    const X = Array.from({ length: 200 }, (_, i) => Float64Array.from([Math.sin(i), Math.cos(3 * i), 1]));
    const y = X.map((x) => (x[0]! + 0.5 * x[1]! > 0.1 ? 1 : 0));
    const w = fitLogistic(X, y, 0.01, { iterations: 3000 });
    expect(Array.from(fitLogistic(X, y, 0.01, { iterations: 3000 }))).toEqual(Array.from(w));
    // the gradient of the objective vanishes at the optimum
    const g = [0, 0, 0];
    X.forEach((x, i) => {
      const p = 1 / (1 + Math.exp(-(w[0]! * x[0]! + w[1]! * x[1]! + w[2]! * x[2]!)));
      for (let j = 0; j < 3; j++) g[j]! += ((p - y[i]!) * x[j]!) / X.length;
    });
    g[0]! += 0.01 * w[0]!;
    g[1]! += 0.01 * w[1]!;
    for (const v of g) expect(Math.abs(v)).toBeLessThan(1e-6);
    // the labels rise with both features
    expect(w[0]!).toBeGreaterThan(0);
    expect(w[1]!).toBeGreaterThan(0);
  });
});

describe("pool curve metrics", () => {
  const pts = [pt(1, 0.5), pt(2, 0.4), pt(2, 0.7), pt(3, 0.7), pt(0.5, 0.3)];

  it("frontier: sorted by x, dominated points (and equal-accuracy dearer ones) dropped", () => {
    expect(frontier(pts, "dollars").map((p) => [p.x, p.accuracy])).toEqual([
      [0.5, 0.3],
      [1, 0.5],
      [2, 0.7],
    ]);
    // the axis decides x: on strong calls, (share 0, .9) dominates everything at share 1
    expect(frontier([pt(1, 0.9, 0), pt(0.1, 0.95, 1), pt(0.2, 0.5, 0)], "strong-calls").map((p) => [p.x, p.accuracy])).toEqual([
      [0, 0.9],
      [1, 0.95],
    ]);
  });

  it("accuracyAt: undefined below the curve, linear between points, flat at the best above", () => {
    expect(accuracyAt(pts, 0.4, "dollars")).toBeUndefined();
    expect(accuracyAt(pts, 0.5, "dollars")).toBeCloseTo(0.3, 12);
    expect(accuracyAt(pts, 1.5, "dollars")).toBeCloseTo(0.6, 12);
    expect(accuracyAt(pts, 5, "dollars")).toBeCloseTo(0.7, 12);
    expect(accuracyAt([], 1, "dollars")).toBeUndefined();
  });

  it("firstReach: the first x where the frontier reaches the target; null if never", () => {
    expect(firstReach(pts, 0.6, "dollars")).toBeCloseTo(1.5, 12);
    expect(firstReach(pts, 0.3, "dollars")).toBe(0.5);
    expect(firstReach(pts, 0.2, "dollars")).toBe(0.5);
    expect(firstReach(pts, 0.7, "dollars")).toBe(2);
    expect(firstReach(pts, 0.8, "dollars")).toBeNull();
  });

  it("dollar metrics: accuracy at the best model's $, the share of its $ to match it, the area", () => {
    const cheapest = pt(1, 0.5);
    const best = pt(3, 0.9);
    // (1,.5)–(2,.9) then flat: mean over [1,3] = (0.7 + 0.9)/2 = 0.8 → (0.8 − 0.5)/0.4
    expect(dollarMetrics([pt(1, 0.5), pt(2, 0.9)], cheapest, best)).toEqual({
      accuracyAtBestCost: 0.9,
      costShareAtBestAccuracy: 2 / 3,
      apgrDollars: expect.closeTo(0.75, 12),
    });
    // the best model alone, or mixing it with the cheapest: 0.5
    expect(dollarMetrics([best], cheapest, best).apgrDollars).toBeCloseTo(0.5, 12);
    expect(dollarMetrics([best], cheapest, best).costShareAtBestAccuracy).toBe(1);
    // a curve starting dearer than the cheapest model is anchored at it: (1,.5)–(2,.6), flat .6 → 0.575
    const late = dollarMetrics([pt(2, 0.6)], cheapest, best);
    expect(late.apgrDollars).toBeCloseTo((0.575 - 0.5) / 0.4, 12);
    expect(late.costShareAtBestAccuracy).toBeNull();
    expect(late.accuracyAtBestCost).toBeCloseTo(0.6, 12);
    // points below the cheapest model's $ count from x_cheapest on: [1,1.5] avg .725, [1.5,3] .95
    expect(dollarMetrics([pt(0.5, 0.45), pt(1.5, 0.95)], cheapest, best).apgrDollars).toBeCloseTo(
      ((0.725 * 0.5 + 0.95 * 1.5) / 2 - 0.5) / 0.4,
      12,
    );
    // a curve entirely dearer than the best model: undefined there
    expect(dollarMetrics([pt(4, 0.99)], cheapest, best).accuracyAtBestCost).toBeUndefined();
    // no gap between the cheapest and the best model: no normalised area
    expect(dollarMetrics([best], pt(1, 0.898), best).apgrDollars).toBeNull();
    expect(dollarMetrics([best], pt(3, 0.5), best).apgrDollars).toBeNull();
  });

  it("belowBaselines: every x of either curve where the learned frontier is lower by more than tol", () => {
    const learned = [pt(1, 0.5), pt(3, 0.8)];
    const flags = belowBaselines(learned, [{ name: "b", points: [pt(2, 0.8)] }], "dollars", 0);
    // x = 1: the baseline is undefined there; x = 2: .65 vs .8; x = 3: equal
    expect(flags).toEqual([
      { baseline: "b", x: 2, learned: expect.closeTo(0.65, 12), baselineAccuracy: 0.8, margin: expect.closeTo(0.15, 12) },
    ]);
    expect(belowBaselines(learned, [{ name: "b", points: [pt(2, 0.8)] }], "dollars", 0.2)).toEqual([]);
    // a cheaper baseline point: the learned curve is undefined at x = 0.5, below it at 1 and 3
    const cheap = belowBaselines(learned, [{ name: "c", points: [pt(0.5, 0.9)] }], "dollars", 0.05);
    expect(cheap.map((x) => [x.baseline, x.x, Number(x.margin.toFixed(10))])).toEqual([
      ["c", 1, 0.4],
      ["c", 3, 0.1],
    ]);
  });
});

/** Pixels of a PNG within 40 (sum of channel differences) of an `#rrggbb` colour. */
async function pixelsOf(file: string, hex: string): Promise<number> {
  const { loadImage, createCanvas } = await import("@napi-rs/canvas");
  const img = await loadImage(fs.readFileSync(file));
  const c = createCanvas(img.width, img.height);
  const ctx = c.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, img.width, img.height).data;
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i]! - r!) + Math.abs(d[i + 1]! - g!) + Math.abs(d[i + 2]! - b!) < 40) n++;
  return n;
}

describe("pool curve PNG", () => {
  const t = table();
  const bs = poolBaselines(same(t), { axis: "dollars" });
  const learned = [0, 1, 2].map((seed) => [pt(1.2, 0.3 + 0.02 * seed), pt(3, 0.6), pt(8, 0.74 + 0.01 * seed)]);

  it("draws learned seeds and the baselines on a log $ axis", async () => {
    const dir = tmpDir("pool-curve");
    const file = path.join(dir, "curve.png");
    await plotPoolCurve({ title: "hand-made pool", axis: "dollars", learned, baselines: bs }, file);
    expect(isPng(file)).toBe(true);
    const { loadImage } = await import("@napi-rs/canvas");
    const img = await loadImage(fs.readFileSync(file));
    expect([img.width, img.height]).toEqual([1150, 640]);
    // the bold learned mean (#0072B2) and the rules' dashed line (#E69F00) are drawn; without learned curves no blue
    expect(await pixelsOf(file, "#0072B2")).toBeGreaterThan(500);
    expect(await pixelsOf(file, "#E69F00")).toBeGreaterThan(100);
    const bare = path.join(dir, "bare.png");
    await plotPoolCurve({ title: "hand-made pool", axis: "strong-calls", learned: [], baselines: bs }, bare);
    expect(await pixelsOf(bare, "#0072B2")).toBeLessThan(50);
    expect(fs.readdirSync(dir).sort()).toEqual(["bare.png", "curve.png"]);
  });

  it("leaves $0 points off the log axis and refuses bad input without touching an existing file", async () => {
    const dir = tmpDir("pool-curve-bad");
    const file = path.join(dir, "curve.png");
    const free = [...bs, { name: "single:free", label: "a free model", kind: "single" as const, points: [pt(0, 0.2)] }];
    await plotPoolCurve({ title: "with a free model", axis: "dollars", learned: [], baselines: free }, file);
    const before = fs.readFileSync(file);
    const nan = [[pt(1, NaN)]];
    await expect(plotPoolCurve({ title: "bad", axis: "dollars", learned: nan, baselines: bs }, file)).rejects.toThrow(
      /accuracy NaN .* expected finite numbers/,
    );
    await expect(plotPoolCurve({ title: "bad", axis: "euros" as "dollars", learned: [], baselines: bs }, file)).rejects.toThrow(InputError);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(["curve.png"]);
  });
});

const noData = fs.existsSync(zeroevalGsm) ? "" : `${zeroevalGsm} is absent: the real-data check is skipped`;
if (noData) console.warn(noData);

describe.skipIf(!!noData)(`the 8-model GSM8K pool of data/zeroeval/README.md (ZeroEval outputs)${noData ? ` (${noData})` : ""}`, () => {
  it("reproduces the reference table: single models, cascades, majority vote and the oracle", () => {
    const all = loadPool8();
    expect(all.prompt).toHaveLength(1319);
    const f = poolFacts(all);
    expect(f.order.map((m) => all.models[m])).toEqual([
      "gemini-1.5-flash",
      "deepseek-v2.5-0908",
      "Meta-Llama-3.1-8B-Instruct",
      "gpt-4o-mini-2024-07-18",
      "claude-3-haiku-20240307",
      "Meta-Llama-3.1-70B-Instruct",
      "gpt-4o-2024-08-06",
      "claude-3-5-sonnet-20241022",
    ]);
    const bs = poolBaselines(same(all), { axis: "dollars" });
    // data/zeroeval/README.md: accuracy, $ per 1,000 items
    const ref: Array<[string, number, number]> = [
      ["single:claude-3-5-sonnet-20241022", 0.9666, 2.117],
      ["single:gpt-4o-2024-08-06", 0.9621, 1.794],
      ["single:gpt-4o-mini-2024-07-18", 0.9424, 0.111],
      ["cascade-k2", 0.956, 0.127],
      ["cascade-k3", 0.9606, 0.266],
      // the data README's vote breaks its 10 tied items to the cheapest model's group (1276 right); ties to the
      // most expensive model's group get one more right (1277): both within 0.001
      ["majority-all", 0.9674, 4.785],
      ["oracle", 0.9871, 0.056],
    ];
    for (const [name, acc, dollars] of ref) {
      const p = byName(bs, name).points[0]!;
      expect(Math.abs(p.accuracy - acc), `${name} accuracy ${p.accuracy}`).toBeLessThanOrEqual(0.001);
      expect(Math.abs(p.cost * 1000 - dollars) / dollars, `${name} $ ${p.cost * 1000}`).toBeLessThan(0.05);
    }
    expect(byName(bs, "majority-all").points[0]!.accuracy * 1319).toBeCloseTo(1277, 6);
    // the oracle is above everything; the rules' test curve keeps its val order
    const top = byName(bs, "oracle").points[0]!.accuracy;
    for (const b of bs) for (const p of b.points) expect(p.accuracy, b.name).toBeLessThanOrEqual(top + 1e-12);
  });

  it("on a train/val/test split: the learned pieces stay within the pool's range, the cheap cascade beats random", () => {
    const all = loadPool8();
    const pick = (k: (i: number) => boolean): PoolItems => {
      const idx = all.prompt.map((_, i) => i).filter(k);
      return {
        models: all.models,
        correct: idx.map((i) => all.correct[i]!),
        cost: idx.map((i) => all.cost[i]!),
        answer: idx.map((i) => all.answer[i]!),
        prompt: idx.map((i) => all.prompt[i]!),
        type: idx.map((i) => all.type[i]!),
      };
    };
    const s: PoolSplits = { train: pick((i) => i % 10 < 6), val: pick((i) => i % 10 >= 6 && i % 10 < 8), test: pick((i) => i % 10 >= 8) };
    const bs = poolBaselines(s, { axis: "dollars" });
    const rules = byName(bs, "agreement-rules");
    expect(rules.points.length).toBeGreaterThan(1);
    for (const p of rules.points) expect(typeof p.param).toBe("string");
    const router = byName(bs, "prompt-router");
    expect(router.points.length).toBeGreaterThan(10);
    const f = poolFacts(s.train);
    const singles = singleModels(s.test, f);
    const cheapest = singles[0]!.points[0]!;
    const sonnet = byName(bs, "single:claude-3-5-sonnet-20241022").points[0]!;
    // the router spans from (about) the cheapest model's $ to (about) the strong model's
    expect(Math.min(...router.points.map((p) => p.cost))).toBeLessThanOrEqual(cheapest.cost * 1.5);
    expect(Math.max(...router.points.map((p) => p.cost))).toBeGreaterThan(sonnet.cost * 0.5);
    // agreement of cheap models is worth more than random mixing on this pool
    const k2 = byName(bs, "cascade-k2").points[0]!;
    expect(k2.accuracy).toBeGreaterThan(accuracyAt(byName(bs, "random").points, k2.cost, "dollars")! + 0.01);
    expect(dollarMetrics(rules.points, cheapest, sonnet).apgrDollars!).toBeGreaterThan(0.6);
  });
});
