/**
 * The cost knob of a budget-conditioned policy (docs/routing.md). Each training episode draws a knob value
 * from [min, max], uniformly on the knob's scale (linear, or log: every decade of λ gets the same share of
 * episodes, whatever the data's cost–accuracy trade-off); the policy sees its position in the range, and it sets that episode's cost penalty λ_e
 * of the reward R_t = r_t − λ_e·c_t. One trained policy then covers the whole cost–quality curve: at run
 * time the user (or `maestro curve`) fixes the knob.
 *
 * - `lambda`: the knob is λ itself, in reward units per cost unit: λ_e = knob / costUnit.
 * - `budget`: the knob is a target mean episode cost b (in cost units). λ(b) comes from one Lagrange
 *   multiplier per budget bin, updated by projected dual ascent on the episodes of that bin,
 *   λ_g ← clamp(λ_g + η·(J_C,g − b̄_g), 0, λ_max) (the PPO-Lagrangian rule of src/algos/lagrange.ts, one
 *   multiplier per bin), then projected onto non-increasing sequences in b (a larger budget never
 *   costs a larger penalty) by pool-adjacent-violators. λ(b) interpolates linearly between bin
 *   centres.
 */
import type { Rng } from "../core/rng.js";
import type { EpisodeKnob } from "../env/rollout.js";

export interface CostKnobOptions {
  name: "lambda" | "budget";
  min: number;
  max: number;
  /** Costs are divided by this before λ or budgets apply. */
  costUnit: number;
  /** How values are spread over [min, max] (draws, the policy's input, curve sweeps): evenly, or evenly in log. */
  scale: "linear" | "log";
  /** budget: number of bins (multipliers). */
  bins: number;
  /** budget: dual step η. */
  lambdaLr: number;
  /** budget: upper clamp of the multipliers. */
  lambdaMax: number;
}

/** Isotonic (non-increasing) least-squares fit of `y` with weights `w` (pool adjacent violators). */
export function nonIncreasing(y: readonly number[], w: readonly number[]): number[] {
  const blocks: Array<{ v: number; w: number; n: number }> = [];
  for (let i = 0; i < y.length; i++) {
    blocks.push({ v: y[i]!, w: Math.max(w[i]!, 1e-9), n: 1 });
    while (blocks.length > 1 && blocks[blocks.length - 2]!.v < blocks[blocks.length - 1]!.v) {
      const b = blocks.pop()!;
      const a = blocks.pop()!;
      blocks.push({ v: (a.v * a.w + b.v * b.w) / (a.w + b.w), w: a.w + b.w, n: a.n + b.n });
    }
  }
  return blocks.flatMap((b) => new Array<number>(b.n).fill(b.v));
}

export class CostKnob implements EpisodeKnob {
  /** budget: the multipliers λ_g, in reward units per cost unit. */
  lambdas: number[];

  constructor(readonly o: CostKnobOptions) {
    this.lambdas = new Array<number>(o.name === "budget" ? o.bins : 0).fill(0);
  }

  /** Centre of budget bin g. */
  centre(g: number): number {
    return this.o.min + ((g + 0.5) * (this.o.max - this.o.min)) / this.o.bins;
  }

  /** λ of a knob value, in reward units per cost unit. */
  lambdaOf(value: number): number {
    if (this.o.name === "lambda") return value;
    const G = this.o.bins;
    const span = this.o.max - this.o.min;
    if (G === 1 || span <= 0) return this.lambdas[0]!;
    const pos = ((value - this.o.min) / span) * G - 0.5;
    if (pos <= 0) return this.lambdas[0]!;
    if (pos >= G - 1) return this.lambdas[G - 1]!;
    const i = Math.floor(pos);
    const t = pos - i;
    return (1 - t) * this.lambdas[i]! + t * this.lambdas[i + 1]!;
  }

  /** The cost penalty of one episode with this knob (per raw cost unit). */
  penaltyOf(value: number): number {
    return this.lambdaOf(value) / this.o.costUnit;
  }

  /** The knob value at position t ∈ [0, 1] of its range (log scale: geometric). */
  valueAt(t: number): number {
    const { min, max } = this.o;
    if (this.o.scale === "log" && min > 0) return Math.exp(Math.log(min) + t * (Math.log(max) - Math.log(min)));
    return min + t * (max - min);
  }

  /** Position of a value in its range, in [0, 1] on the knob's scale (what the policy sees). */
  position(value: number): number {
    const { min, max } = this.o;
    if (max <= min) return 0;
    if (this.o.scale === "log" && min > 0) return (Math.log(Math.max(value, min * 1e-6)) - Math.log(min)) / (Math.log(max) - Math.log(min));
    return (value - min) / (max - min);
  }

  /** Training: a uniform draw of the position per episode. */
  draw(_globalEpisode: number, rng: Rng): { value: number; penalty: number } {
    const value = this.valueAt(rng.next());
    return { value, penalty: this.penaltyOf(value) };
  }

  /** Evaluation: every episode gets `value`. */
  fixed(value: number): EpisodeKnob {
    const penalty = this.penaltyOf(value);
    return { draw: () => ({ value, penalty }) };
  }

  /**
   * budget: one dual step per bin from the batch's episodes (knob value, episode cost); returns the
   * metrics to log. lambda: nothing to learn.
   */
  update(episodes: ReadonlyArray<{ knob?: number; cost: number }>): Record<string, number> {
    if (this.o.name !== "budget") return {};
    const G = this.o.bins;
    const sumCost = new Array<number>(G).fill(0);
    const sumB = new Array<number>(G).fill(0);
    const n = new Array<number>(G).fill(0);
    const span = this.o.max - this.o.min;
    for (const e of episodes) {
      if (e.knob === undefined) continue;
      const g = span > 0 ? Math.min(G - 1, Math.max(0, Math.floor(((e.knob - this.o.min) / span) * G))) : 0;
      sumCost[g]! += e.cost / this.o.costUnit;
      sumB[g]! += e.knob;
      n[g]! += 1;
    }
    let over = 0;
    const next = this.lambdas.map((l, g) => {
      if (n[g] === 0) return l;
      const excess = sumCost[g]! / n[g]! - sumB[g]! / n[g]!;
      if (excess > 0) over += n[g]!;
      return Math.min(this.o.lambdaMax, Math.max(0, l + this.o.lambdaLr * excess));
    });
    this.lambdas = nonIncreasing(
      next,
      n.map((x) => x + 1),
    );
    const total = n.reduce((a, b) => a + b, 0);
    return {
      knob_lambda_min: Math.min(...this.lambdas),
      knob_lambda_max: Math.max(...this.lambdas),
      knob_over_budget: total > 0 ? over / total : 0,
    };
  }

  /** Metric columns `update` reports. */
  get metricNames(): string[] {
    return this.o.name === "budget" ? ["knob_lambda_min", "knob_lambda_max", "knob_over_budget"] : [];
  }

  state(): Record<string, unknown> {
    return { lambdas: [...this.lambdas] };
  }

  restore(json: Record<string, unknown> | undefined): void {
    const l = json?.lambdas;
    if (Array.isArray(l) && l.length === this.lambdas.length) this.lambdas = l.map(Number);
  }
}
