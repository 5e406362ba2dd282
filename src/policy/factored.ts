import type { Rng } from "../core/rng.js";
import type { MlpOptions } from "./mlp.js";
import { CategoricalPolicy, pickAction } from "./policy.js";

/**
 * What the rollout, evaluation and checkpoints need from a policy over (joint) actions. A
 * {@link CategoricalPolicy} is one; a {@link FactoredPolicy} (one network per head) is another.
 */
export interface ActionPolicy {
  readonly inputDim: number;
  /** Number of (joint) actions. */
  readonly numActions: number;
  /** Probabilities of every (joint) action per row (batch × numActions, row-major). */
  probs(obs: Float32Array, batch: number, mask?: Uint8Array): Float32Array;
  act(obs: Float32Array, batch: number, rng: Rng, greedy: boolean, actions: Int32Array, logp: Float32Array, mask?: Uint8Array): unknown;
  dispose(): void;
}

/**
 * A product-of-heads policy π(a|s) = Π_h π^h(a_h|s) for a factored action space: one
 * categorical network per head, each with its own parameters (MACPO's "agents"). Joint actions use the
 * mixed radix of src/env/heads.ts (head 0 least significant), so the rollout, exact evaluation and the
 * oracle see one action index; log π(a|s) = Σ_h log π^h(a_h|s).
 *
 * Sampling takes one forward pass per head for the whole batch and draws the heads of a row in head
 * order from the policy stream.
 */
export class FactoredPolicy implements ActionPolicy {
  readonly heads: CategoricalPolicy[];
  readonly sizes: number[];
  readonly numActions: number;

  constructor(
    readonly inputDim: number,
    readonly headNames: readonly string[],
    sizes: readonly number[],
    opts: MlpOptions,
    rng: Rng,
  ) {
    this.sizes = [...sizes];
    this.heads = sizes.map((k, h) => new CategoricalPolicy(inputDim, k, opts, rng, `policy_${headNames[h]}`));
    this.numActions = sizes.reduce((n, k) => n * k, 1);
  }

  /** Each head's probabilities (batch × K_h), one forward pass per head. */
  headProbs(obs: Float32Array, batch: number): Float32Array[] {
    return this.heads.map((p) => p.probs(obs, batch));
  }

  probs(obs: Float32Array, batch: number, mask?: Uint8Array): Float32Array {
    if (mask) throw new Error("FactoredPolicy: action masks are not supported with several heads");
    const hp = this.headProbs(obs, batch);
    const K = this.numActions;
    const out = new Float32Array(batch * K);
    for (let b = 0; b < batch; b++) {
      for (let a = 0; a < K; a++) {
        let rest = a;
        let p = 1;
        for (let h = 0; h < this.sizes.length; h++) {
          const k = this.sizes[h]!;
          p *= hp[h]![b * k + (rest % k)]!;
          rest = Math.floor(rest / k);
        }
        out[b * K + a] = p;
      }
    }
    return out;
  }

  act(
    obs: Float32Array,
    batch: number,
    rng: Rng,
    greedy: boolean,
    actions: Int32Array,
    logp: Float32Array,
    mask?: Uint8Array,
  ): Float32Array[] {
    if (mask) throw new Error("FactoredPolicy: action masks are not supported with several heads");
    const hp = this.headProbs(obs, batch);
    actions.fill(0, 0, batch);
    logp.fill(0, 0, batch);
    let stride = 1;
    for (let h = 0; h < this.sizes.length; h++) {
      const k = this.sizes[h]!;
      const p = hp[h]!;
      for (let b = 0; b < batch; b++) {
        const off = b * k;
        const a = pickAction(p, off, k, greedy, rng);
        actions[b] = actions[b]! + stride * a;
        logp[b] = logp[b]! + Math.log(Math.max(p[off + a]!, 1e-30));
      }
      stride *= k;
    }
    return hp;
  }

  dispose(): void {
    for (const h of this.heads) h.dispose();
  }
}
