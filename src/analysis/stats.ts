import { Rng } from "../core/rng.js";
import { mean } from "../core/math.js";

/** A mean with a confidence interval. */
export interface MeanCI {
  mean: number;
  lo: number;
  hi: number;
  n: number;
}

export interface BootstrapOptions {
  /** Number of bootstrap resamples (default 1000). */
  resamples?: number;
  /** Confidence level (default 0.95). */
  level?: number;
  /** Seed of the resampling stream (default 0), so the same data always gives the same interval. */
  seed?: number | string;
}

/** The q-quantile of sorted values, linear interpolation between order statistics (numpy's default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const i = Math.floor(h);
  const j = Math.min(n - 1, i + 1);
  return sorted[i]! + (h - i) * (sorted[j]! - sorted[i]!);
}

export function median(xs: readonly number[]): number {
  return quantileSorted(
    [...xs].sort((a, b) => a - b),
    0.5,
  );
}

/**
 * Percentile-bootstrap confidence interval of the mean: resample the n values with replacement
 * `resamples` times, take the (1−level)/2 and (1+level)/2 quantiles of the resampled means.
 * Seeded, so plots and sweep tables are reproducible. NaNs are ignored; one value gives a
 * zero-width interval; none gives NaNs.
 */
export function bootstrapMeanCI(values: readonly number[], opts: BootstrapOptions = {}): MeanCI {
  const xs = values.filter((v) => !Number.isNaN(v));
  const n = xs.length;
  const m = mean(xs);
  if (n <= 1) return { mean: m, lo: m, hi: m, n };
  const B = opts.resamples ?? 1000;
  const level = opts.level ?? 0.95;
  const rng = new Rng(`bootstrap:${opts.seed ?? 0}`);
  const means = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += xs[rng.int(n)]!;
    means[b] = s / n;
  }
  means.sort();
  return { mean: m, lo: quantileSorted(means, (1 - level) / 2), hi: quantileSorted(means, (1 + level) / 2), n };
}

/** Curves of several seeds aligned on x: mean and bootstrap CI at every x any of them reached. */
export interface BandCurve {
  x: number[];
  mean: number[];
  lo: number[];
  hi: number[];
  /** How many curves contributed at each x. */
  n: number[];
}

/**
 * Mean and 95% bootstrap band of several curves (one per seed) given as (x, y) arrays. Curves may
 * have different lengths (an early-stopped seed): each x uses the curves that reached it. The
 * resampling stream is seeded per x from `seed`, so the band is reproducible.
 */
export function bandAcross(curves: { x: number[]; y: number[] }[], opts: BootstrapOptions = {}): BandCurve {
  const byX = new Map<number, number[]>();
  for (const c of curves) {
    c.x.forEach((x, i) => {
      const y = c.y[i]!;
      if (Number.isNaN(y)) return;
      let list = byX.get(x);
      if (!list) byX.set(x, (list = []));
      list.push(y);
    });
  }
  const xs = [...byX.keys()].sort((a, b) => a - b);
  const out: BandCurve = { x: [], mean: [], lo: [], hi: [], n: [] };
  for (const x of xs) {
    const ci = bootstrapMeanCI(byX.get(x)!, { ...opts, seed: `${opts.seed ?? 0}:${x}` });
    out.x.push(x);
    out.mean.push(ci.mean);
    out.lo.push(ci.lo);
    out.hi.push(ci.hi);
    out.n.push(ci.n);
  }
  return out;
}
