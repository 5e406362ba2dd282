import { createHash } from "node:crypto";
import type { SystemState } from "../core/types.js";
import { hashedNgrams } from "../core/text.js";
import { tf } from "./backend.js";

/**
 * A state encoder turns a batch of states into one B×dim matrix. `encodeInto` writes plain floats
 * (the rollout's hot path: one upload per step); `encode` wraps that in a tensor.
 */
export interface StateEncoder {
  readonly name: string;
  readonly dim: number;
  /** Writes the features of `states` into `out` (row-major, states.length × dim); zero-fills first. */
  encodeInto(states: readonly SystemState[], out: Float32Array): void;
  /** One B×dim tensor (the caller disposes it). */
  encode(states: readonly SystemState[]): tf.Tensor2D;
  /**
   * Optional async step the rollout awaits before `encodeInto` (encoders that fetch data, e.g.
   * embeddings). Synchronous encoders leave it undefined and stay off the await path.
   */
  prepare?(states: readonly SystemState[]): Promise<void>;
}

abstract class BaseEncoder implements StateEncoder {
  abstract readonly name: string;
  abstract readonly dim: number;
  abstract encodeInto(states: readonly SystemState[], out: Float32Array): void;

  encode(states: readonly SystemState[]): tf.Tensor2D {
    const out = new Float32Array(states.length * this.dim);
    this.encodeInto(states, out);
    return tf.tensor2d(out, [states.length, this.dim]);
  }
}

/** Memo of per-string features with a size bound (task texts repeat across episodes). */
class FeatureCache {
  private readonly map = new Map<string, Float32Array>();
  constructor(private readonly limit = 10_000) {}
  get(key: string, make: (key: string) => Float32Array): Float32Array {
    let v = this.map.get(key);
    if (v === undefined) {
      if (this.map.size >= this.limit) this.map.clear();
      v = make(key);
      this.map.set(key, v);
    }
    return v;
  }
}

/**
 * The DOA framework's encoder, bit for bit: 64 dims; dims 0–15 = the md5 hex digest of the task
 * text read as 16 byte pairs / 255; when the history is non-empty, dims 32–34 = [history length / 10,
 * mean cost of the history / 10, step / maxSteps]; everything else 0.
 */
export class DoaMd5Encoder extends BaseEncoder {
  readonly name = "doa-md5";
  readonly dim = 64;
  private readonly cache = new FeatureCache();

  static taskFeatures(text: string): Float32Array {
    const hex = createHash("md5").update(text, "utf8").digest("hex");
    const f = new Float32Array(16);
    for (let i = 0; i < 16; i++) f[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16) / 255;
    return f;
  }

  encodeInto(states: readonly SystemState[], out: Float32Array): void {
    out.fill(0, 0, states.length * this.dim);
    for (let b = 0; b < states.length; b++) {
      const s = states[b]!;
      const row = b * this.dim;
      out.set(this.cache.get(s.task.prompt, DoaMd5Encoder.taskFeatures), row);
      const n = s.history.length;
      if (n > 0) {
        let c = 0;
        for (const t of s.history) c += t.output.cost;
        out[row + 32] = n / 10;
        out[row + 33] = c / n / 10;
        out[row + 34] = s.step / s.maxSteps;
      }
    }
  }
}

// pure text hashing, shared with src/analysis (which must not load tfjs)
export { fnv1a, hashedNgrams } from "../core/text.js";

export interface FeaturesEncoderOptions {
  /** Agent names of the pool, in action order. */
  agents: readonly string[];
  maxSteps: number;
  /** Hash buckets for the task text. */
  taskBuckets: number;
  /** Hash buckets for the recent outputs. */
  outputBuckets: number;
  /** How many of the latest outputs are hashed. */
  recentTurns: number;
  /** Cost normaliser when the run has no budget. */
  costScale: number;
  /**
   * full (default): every feature. markov: only the Markov state of simulated configs — the task
   * n-grams (the task type), the step (scalar and one-hot) and the "called at least once" flags of
   * the agents named in `markovAgents` (the helpers); last agent, call counts, other agents' flags,
   * recent outputs and cost spent stay 0. The layout (and `dim`) is the same in both views.
   */
  view?: "full" | "markov";
  /** Agents whose called flag the markov view shows (simulated helpers: agents with `boost`). */
  markovAgents?: readonly string[];
  /**
   * The task types of a simulated config (tasks.types). The markov view then writes the task part as a
   * one-hot of the task's type (in the first task buckets) instead of hashed n-grams of its text.
   */
  taskTypes?: readonly string[];
}

/**
 * The general encoder: hashed n-grams of the task text and of the latest outputs, one-hot of the last
 * agent (plus "none"), per-agent call counts / maxSteps, a "called at least once" flag per agent,
 * step / maxSteps and a one-hot of the step (the constrained optimum is non-stationary), and cost
 * spent / budget (or / costScale without a budget).
 */
export class FeaturesEncoder extends BaseEncoder {
  readonly name = "features";
  readonly dim: number;
  private readonly taskCache = new FeatureCache();
  private readonly outCache = new FeatureCache();
  /** Agents whose "called" flag the markov view shows (built once, not per batch). */
  private readonly markovShown: ReadonlySet<string>;
  /** Task type → one-hot index (markov view of simulated configs). */
  private readonly typeIndex: ReadonlyMap<string, number> | undefined;
  private readonly agentIndex: Map<string, number>;
  private readonly k: number;
  private readonly offLast: number;
  private readonly offCounts: number;
  private readonly offCalled: number;
  private readonly offStep: number;
  private readonly offCost: number;

  constructor(private readonly opts: FeaturesEncoderOptions) {
    super();
    this.k = opts.agents.length;
    this.agentIndex = new Map(opts.agents.map((a, i) => [a, i]));
    this.offLast = opts.taskBuckets + opts.outputBuckets;
    this.offCounts = this.offLast + this.k + 1;
    this.offCalled = this.offCounts + this.k;
    this.offStep = this.offCalled + this.k;
    this.offCost = this.offStep + 1 + opts.maxSteps + 1;
    this.dim = this.offCost + 1;
    this.markovShown = new Set(opts.markovAgents ?? []);
    // the one-hot needs a bucket per type
    this.typeIndex =
      opts.taskTypes && opts.taskTypes.length <= opts.taskBuckets ? new Map(opts.taskTypes.map((t, i) => [t, i])) : undefined;
  }

  encodeInto(states: readonly SystemState[], out: Float32Array): void {
    if (this.opts.view === "markov") {
      this.encodeMarkov(states, out);
      return;
    }
    const { taskBuckets, outputBuckets, recentTurns, maxSteps, costScale } = this.opts;
    out.fill(0, 0, states.length * this.dim);
    for (let b = 0; b < states.length; b++) {
      const s = states[b]!;
      const row = b * this.dim;
      if (taskBuckets > 0)
        out.set(
          this.taskCache.get(s.task.prompt, (t) => hashedNgrams(t, taskBuckets)),
          row,
        );
      const h = s.history;
      if (outputBuckets > 0) {
        for (let j = Math.max(0, h.length - recentTurns); j < h.length; j++) {
          const f = this.outCache.get(h[j]!.output.content, (t) => hashedNgrams(t, outputBuckets));
          for (let i = 0; i < outputBuckets; i++) out[row + taskBuckets + i] += f[i]!;
        }
      }
      const last = h.length > 0 ? (this.agentIndex.get(h[h.length - 1]!.agent) ?? this.k) : this.k;
      out[row + this.offLast + last] = 1;
      for (const turn of h) {
        const a = this.agentIndex.get(turn.agent);
        if (a === undefined) continue;
        out[row + this.offCounts + a] += 1 / maxSteps;
        out[row + this.offCalled + a] = 1;
      }
      out[row + this.offStep] = s.step / maxSteps;
      out[row + this.offStep + 1 + Math.min(s.step, maxSteps)] = 1;
      out[row + this.offCost] = s.budget !== undefined && s.budget > 0 ? s.costSpent / s.budget : s.costSpent / costScale;
    }
  }

  /**
   * The markov view: (task type, step, set of helpers already called) and nothing else. With the task
   * types known (simulated configs) the type is a one-hot (the hashed n-grams of
   * "Simulated task of type alpha." and "... beta." differ in 2 of 9 n-grams, a faint signal a network
   * separates slowly; a one-hot is the state variable itself); otherwise the hashed task text.
   */
  private encodeMarkov(states: readonly SystemState[], out: Float32Array): void {
    const { taskBuckets, maxSteps } = this.opts;
    const shown = this.markovShown;
    const types = this.typeIndex;
    out.fill(0, 0, states.length * this.dim);
    for (let b = 0; b < states.length; b++) {
      const s = states[b]!;
      const row = b * this.dim;
      const t = types && s.task.type !== undefined ? types.get(s.task.type) : undefined;
      if (t !== undefined) out[row + t] = 1;
      else if (taskBuckets > 0)
        out.set(
          this.taskCache.get(s.task.prompt, (t) => hashedNgrams(t, taskBuckets)),
          row,
        );
      for (const turn of s.history) {
        const a = this.agentIndex.get(turn.agent);
        if (a !== undefined && shown.has(turn.agent)) out[row + this.offCalled + a] = 1;
      }
      out[row + this.offStep] = s.step / maxSteps;
      out[row + this.offStep + 1 + Math.min(s.step, maxSteps)] = 1;
    }
  }
}
