import seedrandom from "seedrandom";

/** Serializable state of an {@link Rng}: enough to continue the stream exactly. */
export type RngState = seedrandom.State.Alea;

/**
 * The seeded random stream every random choice in maestro comes from.
 * Backed by seedrandom's Alea generator, whose state can be saved in a checkpoint and restored.
 */
export class Rng {
  private prng: seedrandom.StatefulPRNG<seedrandom.State.Alea>;

  constructor(seed: number | string, state?: RngState) {
    this.prng = seedrandom.alea(String(seed), { state: state ?? true });
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.prng.quick();
  }

  /** Uniform in [lo, hi). */
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.prng.quick();
  }

  /** Integer uniform in [0, n). */
  int(n: number): number {
    return Math.floor(this.prng.quick() * n);
  }

  /** Standard normal sample (Box–Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.prng.quick();
    const v = this.prng.quick();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /**
   * Index sampled from a categorical distribution given by `probs[offset .. offset+k)`
   * (need not be normalised exactly; the last positive entry absorbs rounding).
   */
  categorical(probs: ArrayLike<number>, offset = 0, k = probs.length - offset): number {
    let total = 0;
    for (let i = 0; i < k; i++) total += probs[offset + i];
    let u = this.prng.quick() * total;
    let last = -1;
    for (let i = 0; i < k; i++) {
      const p = probs[offset + i];
      if (p <= 0) continue;
      last = i;
      if (u < p) return i;
      u -= p;
    }
    return last < 0 ? 0 : last;
  }

  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = xs[i] as T;
      xs[i] = xs[j] as T;
      xs[j] = t;
    }
    return xs;
  }

  /** A permutation of 0..n-1. */
  permutation(n: number): number[] {
    return this.shuffle(Array.from({ length: n }, (_, i) => i));
  }

  /** A child stream seeded from this one (used to give components independent streams). */
  fork(label: string): Rng {
    return new Rng(`${label}:${Math.floor(this.prng.quick() * 2 ** 32)}`);
  }

  state(): RngState {
    return this.prng.state();
  }

  /** Continues from a saved state in place (objects holding this Rng see the restored stream). */
  restore(state: RngState): void {
    this.prng = seedrandom.alea("", { state });
  }
}
