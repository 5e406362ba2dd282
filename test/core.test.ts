import { describe, expect, it } from "vitest";
import { discountedReturns, mean, standardize, std } from "../src/core/math.js";
import { Rng } from "../src/core/rng.js";

describe("Rng", () => {
  it("gives the same stream for the same seed and a different one for another seed", () => {
    const a = new Rng(7);
    const b = new Rng(7);
    const c = new Rng(8);
    const xa = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xa);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xa);
  });

  it("continues exactly from a saved state", () => {
    const a = new Rng("s");
    for (let i = 0; i < 10; i++) a.next();
    const restored = new Rng("s", a.state());
    expect(Array.from({ length: 20 }, () => restored.next())).toEqual(Array.from({ length: 20 }, () => a.next()));
  });

  it("samples a categorical distribution with the right frequencies and skips zero-probability entries", () => {
    const r = new Rng(1);
    const counts = [0, 0, 0];
    for (let i = 0; i < 20000; i++) counts[r.categorical([0.2, 0, 0.8])]!++;
    expect(counts[1]).toBe(0);
    expect(counts[0]! / 20000).toBeCloseTo(0.2, 1);
    expect(counts[2]! / 20000).toBeCloseTo(0.8, 1);
  });

  it("reads a row of a flat probability matrix via offset", () => {
    const r = new Rng(2);
    for (let i = 0; i < 50; i++) expect(r.categorical([1, 0, 0, 0, 0, 1], 3, 3)).toBe(2);
  });
});

describe("math", () => {
  it("computes discounted returns-to-go", () => {
    const g = discountedReturns([-0.1, -0.1, 1], 0.99);
    expect(g[2]).toBeCloseTo(1, 12);
    expect(g[1]).toBeCloseTo(-0.1 + 0.99, 12);
    expect(g[0]).toBeCloseTo(-0.1 + 0.99 * (-0.1 + 0.99), 12);
  });

  it("standardises to mean 0 and std 1", () => {
    const x = Float64Array.from([1, 2, 3, 4, 10]);
    standardize(x);
    expect(mean(x)).toBeCloseTo(0, 10);
    expect(std(x)).toBeCloseTo(1, 6);
  });
});
