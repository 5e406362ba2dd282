/** Small numeric helpers shared across the project (plain arrays, no tfjs). */

export function sum(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s;
}

export function mean(xs: ArrayLike<number>): number {
  return xs.length === 0 ? NaN : sum(xs) / xs.length;
}

/** Population standard deviation (divides by n), as numpy's default. */
export function std(xs: ArrayLike<number>): number {
  if (xs.length === 0) return NaN;
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i] - m) ** 2;
  return Math.sqrt(s / xs.length);
}

export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** Discounted returns-to-go G_t = Σ_{k≥t} γ^{k−t} r_k of one trajectory. */
export function discountedReturns(rewards: ArrayLike<number>, gamma: number): Float64Array {
  const out = new Float64Array(rewards.length);
  let g = 0;
  for (let t = rewards.length - 1; t >= 0; t--) {
    g = rewards[t] + gamma * g;
    out[t] = g;
  }
  return out;
}

/** In-place standardisation (x − mean)/(std + eps). */
export function standardize(xs: Float64Array | Float32Array, eps = 1e-8): void {
  const m = mean(xs);
  const s = std(xs);
  for (let i = 0; i < xs.length; i++) xs[i] = (xs[i] - m) / (s + eps);
}
