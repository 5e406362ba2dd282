import type { SystemState } from "../core/types.js";
import { tf } from "./backend.js";
import type { FeaturesEncoder, StateEncoder } from "./encoders.js";

/** Where the embedding encoder gets vectors: an async fetch step and a synchronous lookup. */
export interface EmbeddingSource {
  prepare(texts: Iterable<string>): Promise<void>;
  get(text: string): Float32Array | undefined;
}

/**
 * The `embedding` encoder: [embedding of the task text (dims) | the structural features encoder].
 * Vectors are fetched asynchronously in `prepare` (the rollout awaits it before `encodeInto`, once
 * per step, and only new task texts cause a request); `encodeInto` stays synchronous. A text whose
 * embedding could not be fetched gets zeros.
 */
export class EmbeddingEncoder implements StateEncoder {
  readonly name = "embedding";
  readonly dim: number;
  private scratch = new Float32Array(0);

  constructor(
    private readonly source: EmbeddingSource,
    readonly dims: number,
    private readonly features: FeaturesEncoder,
  ) {
    this.dim = dims + features.dim;
  }

  prepare(states: readonly SystemState[]): Promise<void> {
    return this.source.prepare(states.map((s) => s.task.prompt));
  }

  encodeInto(states: readonly SystemState[], out: Float32Array): void {
    const b = states.length;
    const fd = this.features.dim;
    if (this.scratch.length < b * fd) this.scratch = new Float32Array(b * fd);
    this.features.encodeInto(states, this.scratch);
    out.fill(0, 0, b * this.dim);
    for (let i = 0; i < b; i++) {
      const e = this.source.get(states[i]!.task.prompt);
      if (e) out.set(e.subarray(0, this.dims), i * this.dim);
      out.set(this.scratch.subarray(i * fd, (i + 1) * fd), i * this.dim + this.dims);
    }
  }

  encode(states: readonly SystemState[]): tf.Tensor2D {
    const out = new Float32Array(states.length * this.dim);
    this.encodeInto(states, out);
    return tf.tensor2d(out, [states.length, this.dim]);
  }
}
