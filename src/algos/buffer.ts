/**
 * The on-policy rollout buffer: per-row views over a {@link RolloutBatch} — critic values, GAE
 * advantages and returns of the reward and of the cost signal, each with its own γ and λ_GAE — and the
 * one minibatch generator every trainer's epochs use ({@link Minibatches}, SB3's RolloutBuffer.get).
 * Plain arrays only; the trainer uploads minibatches of them to tfjs.
 */
import { mean, standardize } from "../core/math.js";
import type { Rng } from "../core/rng.js";
import type { RolloutBatch } from "../env/rollout.js";

/**
 * Generalised advantage estimation (Schulman et al. 2016, eq. 16) over ONE trajectory that ends at its
 * last element (a true terminal: every rollout episode runs to its end, and the step index is part of
 * the state, so reaching maxSteps is terminal too):
 *   δ_t = r_t + γ·V(s_{t+1}) − V(s_t)   with V(s_T) = `lastValue` (0 at a terminal),
 *   A_t = δ_t + γλ·A_{t+1},   return_t = A_t + V(s_t) (the critic's TD(λ) target).
 */
export function gae(
  rewards: ArrayLike<number>,
  values: ArrayLike<number>,
  gamma: number,
  lambda: number,
  lastValue = 0,
): { advantages: Float64Array; returns: Float64Array } {
  const n = rewards.length;
  const advantages = new Float64Array(n);
  const returns = new Float64Array(n);
  let next = 0;
  let nextValue = lastValue;
  for (let t = n - 1; t >= 0; t--) {
    const delta = rewards[t]! + gamma * nextValue - values[t]!;
    next = delta + gamma * lambda * next;
    advantages[t] = next;
    returns[t] = next + values[t]!;
    nextValue = values[t]!;
  }
  return { advantages, returns };
}

/** Advantages and critic targets of one signal, per batch row. */
export interface SignalView {
  values: Float64Array;
  advantages: Float64Array;
  returns: Float64Array;
}

/** GAE of one per-row signal of a batch, computed trajectory by trajectory. */
export function signalView(
  batch: RolloutBatch,
  signal: ArrayLike<number>,
  values: ArrayLike<number>,
  gamma: number,
  lambda: number,
): SignalView {
  const n = batch.rows;
  const out: SignalView = { values: Float64Array.from(values), advantages: new Float64Array(n), returns: new Float64Array(n) };
  for (const ep of batch.episodes) {
    const r = ep.rows.map((row) => signal[row]!);
    const v = ep.rows.map((row) => values[row]!);
    const g = gae(r, v, gamma, lambda);
    ep.rows.forEach((row, t) => {
      out.advantages[row] = g.advantages[t]!;
      out.returns[row] = g.returns[t]!;
    });
  }
  return out;
}

/**
 * x − mean in place. The cost advantage is centred, not standardised: it keeps the units of the cost,
 * so a multiplier on it (λ, κ) is a price per unit of cost that does not move with the batch's spread.
 */
export function centerInPlace(x: Float64Array): void {
  const m = mean(x);
  for (let i = 0; i < x.length; i++) x[i] = x[i]! - m;
}

/**
 * The advantages a policy loss uses: A_R standardised when `normalizeReward`; A_C standardised when
 * `standardizeCost`, else centred. A batch of one row is left as it is for standardisation.
 */
export function normalizedAdvantages(
  adv: ArrayLike<number>,
  kind: "reward" | "cost",
  o: { normalizeAdvantage: boolean; standardizeCostAdvantage: boolean },
): Float64Array {
  const out = Float64Array.from(adv);
  const standardise = kind === "reward" ? o.normalizeAdvantage : o.standardizeCostAdvantage;
  if (standardise && out.length > 1) standardize(out);
  else if (kind === "cost") centerInPlace(out);
  return out;
}

/** Appends the batch's episode costs to the recent-cost window and keeps its last `size` entries. */
export function pushRecentCosts(window: number[], batch: RolloutBatch, size: number): void {
  for (const e of batch.episodes) window.push(e.cost);
  if (window.length > size) window.splice(0, window.length - size);
}

/** Copies `src[idx[i]]` into a new Float32Array (a minibatch of a per-row array). */
export function gatherRows(src: ArrayLike<number>, idx: ArrayLike<number>, width = 1): Float32Array {
  const out = new Float32Array(idx.length * width);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i]!;
    for (let j = 0; j < width; j++) out[i * width + j] = src[r * width + j]!;
  }
  return out;
}

/**
 * `epochs` passes over the rows of a batch, each in a fresh shuffled order drawn from `rng` when the pass
 * starts, cut into `count` minibatches of ⌈n/count⌉ rows (the last may be smaller): Stable-Baselines3's
 * RolloutBuffer.get, one generator for every trainer's epochs. A caller that stops early (KL early stop)
 * breaks out of the loop: no further order is drawn, and the minibatch it was given counts as not applied.
 */
export class Minibatches implements Iterable<number[]> {
  /** Passes completed, counting only minibatches the caller went on from (fractional after an early stop). */
  epochsDone = 0;
  /** Minibatches the caller went on from (applied). */
  steps = 0;
  private readonly size: number;
  private readonly perEpoch: number;

  constructor(
    private readonly rows: number,
    private readonly epochs: number,
    count: number,
    private readonly rng: Rng,
  ) {
    this.size = Math.max(1, Math.ceil(rows / count));
    this.perEpoch = Math.ceil(rows / this.size);
  }

  *[Symbol.iterator](): Generator<number[], void, undefined> {
    for (let epoch = 0; epoch < this.epochs; epoch++) {
      const perm = this.rng.permutation(this.rows);
      let done = 0;
      try {
        for (let start = 0; start < this.rows; start += this.size) {
          yield perm.slice(start, start + this.size);
          done++;
          this.steps++;
        }
      } finally {
        this.epochsDone += done / this.perEpoch;
      }
    }
  }
}
