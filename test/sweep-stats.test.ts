import { describe, expect, it } from "vitest";
import { bandAcross, bootstrapMeanCI, median, quantileSorted } from "../src/analysis/stats.js";
import { MedianStopper } from "../src/sweep/median.js";
import { paretoFront } from "../src/plots/sweep.js";
import { countSimpleCycles, graphMetrics, mergeRecords, structureRecord } from "../src/analysis/structure.js";

describe("bootstrap confidence intervals", () => {
  it("quantiles interpolate like numpy", () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4], 0.25)).toBeCloseTo(1.75);
    expect(median([5, 1, 3])).toBe(3);
  });

  it("gives the known interval of two points: bootstrap means are 0, ½, 1 with probabilities ¼, ½, ¼", () => {
    const ci = bootstrapMeanCI([0, 1], { resamples: 4000 });
    expect(ci.mean).toBe(0.5);
    expect(ci.lo).toBe(0);
    expect(ci.hi).toBe(1);
  });

  it("matches the normal approximation on 1..10 and is reproducible from its seed", () => {
    const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const ci = bootstrapMeanCI(xs, { resamples: 4000, seed: 3 });
    // mean 5.5, population sd 2.872 → bootstrap sd ≈ 0.908, 95% half-width ≈ 1.78
    expect(ci.mean).toBe(5.5);
    expect(ci.lo).toBeGreaterThan(3.5);
    expect(ci.lo).toBeLessThan(4.0);
    expect(ci.hi).toBeGreaterThan(7.0);
    expect(ci.hi).toBeLessThan(7.5);
    expect(bootstrapMeanCI(xs, { resamples: 4000, seed: 3 })).toEqual(ci);
    expect(bootstrapMeanCI(xs, { resamples: 4000, seed: 4 })).not.toEqual(ci);
    expect(bootstrapMeanCI([2, 2, 2])).toEqual({ mean: 2, lo: 2, hi: 2, n: 3 });
    expect(bootstrapMeanCI([7])).toEqual({ mean: 7, lo: 7, hi: 7, n: 1 });
    expect(bootstrapMeanCI([1, NaN, 3]).n).toBe(2);
  });

  it("bands curves of unequal length per x", () => {
    const b = bandAcross([
      { x: [1, 2, 3], y: [0, 0, 0] },
      { x: [1, 2], y: [1, 1] },
    ]);
    expect(b.x).toEqual([1, 2, 3]);
    expect(b.mean).toEqual([0.5, 0.5, 0]);
    expect(b.n).toEqual([2, 2, 1]);
    expect(b.lo[0]).toBe(0);
    expect(b.hi[0]).toBe(1);
    expect(b.lo[2]).toBe(0);
    expect(b.hi[2]).toBe(0);
    expect(
      bandAcross([
        { x: [1, 2, 3], y: [0, 0, 0] },
        { x: [1, 2], y: [1, 1] },
      ]),
    ).toEqual(b);
  });
});

describe("median stopping rule", () => {
  it("stops a trial whose running mean is below the median of the others at the same update", () => {
    const s = new MedianStopper({ metric: "return_mean", mode: "max", grace: 2, minTrials: 2 });
    for (let u = 1; u <= 3; u++) {
      expect(s.report("a", 0, u, 1)).toBe(false);
      expect(s.report("b", 0, u, 0.5)).toBe(false);
    }
    expect(s.report("c", 0, 1, 0.9)).toBe(false); // before grace: never stopped
    expect(s.report("c", 0, 2, -1)).toBe(true); // running mean -0.05 < median(1, 0.5)
    expect(s.stopped.get("c")!.update).toBe(2);
    expect(s.stopped.get("c")!.reason).toContain("below the median");
    expect(s.report("c", 1, 1, 5)).toBe(true); // the other seeds of a stopped trial stop too
    // a trial at least as good as the median runs on
    expect(s.report("d", 0, 1, 1)).toBe(false);
    expect(s.report("d", 0, 2, 1)).toBe(false);
  });

  it("waits for minTrials peers at the same update (parallel trials)", () => {
    const s = new MedianStopper({ metric: "cost_mean", mode: "min", grace: 1, minTrials: 2 });
    s.report("a", 0, 1, 1);
    expect(s.report("b", 0, 1, 100)).toBe(false); // one peer only
    expect(s.report("c", 0, 1, 100)).toBe(true); // peers a (1) and b (100): median 50.5 < 100
  });
});

describe("Pareto front and structure metrics", () => {
  it("keeps the trials not dominated in (success ↑, cost ↓)", () => {
    const pts = [
      { id: "a", success: 0.9, cost: 1 },
      { id: "b", success: 0.8, cost: 2 }, // dominated by a
      { id: "c", success: 1, cost: 3 },
      { id: "d", success: 0.5, cost: 0.1 },
      { id: "e", success: 0.9, cost: 1 }, // equal to a: neither dominates
    ];
    expect(paretoFront(pts).map((p) => p.id)).toEqual(["d", "a", "e", "c"]);
  });

  it("counts transitions, density, cycles and hubs", () => {
    const names = ["a", "b", "c", "t"];
    const r = structureRecord(1, names, [{ agents: ["a", "b", "a", "t"] }, { agents: ["b", "t"] }, { agents: ["c", "c"] }]);
    expect(r.usage).toEqual([2, 2, 2, 2]);
    expect(r.starts).toEqual([1, 1, 1, 0]);
    expect(r.transitions[0]).toEqual([0, 1, 0, 1]); // a→b, a→t
    expect(r.transitions[1]).toEqual([1, 0, 0, 1]); // b→a, b→t
    expect(r.transitions[2]).toEqual([0, 0, 1, 0]); // c→c
    expect(r.cycle_rate).toBeCloseTo(2 / 3);
    const g = graphMetrics(r);
    expect(g.edges).toBe(5);
    expect(g.density).toBeCloseTo(5 / 16);
    expect(g.simple_cycles).toBe(2); // a→b→a and c→c
    expect(g.self_loop_share).toBeCloseTo(1 / 5);
    const m = mergeRecords([r, r]);
    expect(m.usage).toEqual([4, 4, 4, 4]);
    expect(m.cycle_rate).toBeCloseTo(2 / 3);
    expect(
      countSimpleCycles([
        [false, true, false],
        [false, false, true],
        [true, false, false],
      ]),
    ).toBe(1);
    expect(
      countSimpleCycles([
        [true, true],
        [true, true],
      ]),
    ).toBe(3);
    const hub = graphMetrics(structureRecord(1, names, [{ agents: ["a", "b", "a", "c", "a", "t"] }]));
    expect(hub.hub_agents).toEqual(["a"]);
  });
});
