import type { Rng } from "../core/rng.js";
import { tf } from "./backend.js";
import { Mlp, type MlpOptions } from "./mlp.js";

/** Large negative logit for masked-out actions. */
const MASKED = -1e9;

/**
 * A categorical policy over `numActions` choices: an MLP to logits, softmax, sampling in JS with the
 * seeded RNG (so sampling is identical on every backend).
 */
export class CategoricalPolicy {
  readonly net: Mlp;
  /**
   * Greedy decoding with a stop action (`policy.greedy: stop-first`): the episode stops when the stop's
   * probability is at least ½, else the likeliest other action is taken. Plain argmax compares the one stop
   * action against each agent separately, so a policy that continues with probability 0.7 spread over seven
   * agents would stop greedily; this reads the policy as the two decisions it makes (stop or go on, then
   * whom to ask). Undefined: argmax.
   */
  greedyStop: number | undefined;

  constructor(
    readonly inputDim: number,
    readonly numActions: number,
    opts: MlpOptions,
    rng: Rng,
    name = "policy",
  ) {
    this.net = new Mlp(name, inputDim, numActions, opts, rng);
  }

  get variables(): tf.Variable[] {
    return this.net.variables;
  }

  /** Logits, with masked actions pushed to −1e9 (`mask` 1 = allowed). */
  logits(x: tf.Tensor2D, mask?: tf.Tensor2D): tf.Tensor2D {
    const z = this.net.apply(x);
    return mask ? (tf.add(z, tf.mul(tf.sub(1, mask), MASKED)) as tf.Tensor2D) : z;
  }

  /** Action probabilities of a batch of observations: one upload, one download. */
  probs(obs: Float32Array, batch: number, mask?: Uint8Array): Float32Array {
    const out = tf.tidy(() => {
      const x = tf.tensor2d(obs, [batch, this.inputDim]);
      const m = mask ? tf.tensor2d(mask, [batch, this.numActions], "float32") : undefined;
      return tf.softmax(this.logits(x, m));
    });
    const p = out.dataSync() as Float32Array;
    out.dispose();
    return p;
  }

  /**
   * Samples (or, greedy, takes the argmax of) one action per row; writes actions and their
   * log-probabilities, returns the probabilities.
   */
  act(
    obs: Float32Array,
    batch: number,
    rng: Rng,
    greedy: boolean,
    actions: Int32Array,
    logp: Float32Array,
    mask?: Uint8Array,
  ): Float32Array {
    const p = this.probs(obs, batch, mask);
    const k = this.numActions;
    for (let b = 0; b < batch; b++) {
      const off = b * k;
      const a = pickAction(p, off, k, greedy, rng, this.greedyStop);
      actions[b] = a;
      logp[b] = Math.log(Math.max(p[off + a]!, 1e-30));
    }
    return p;
  }

  /** Log π(a|s) of given actions and the entropy of π(·|s), per row (inside a tidy/grad scope). */
  logProbEntropy(
    x: tf.Tensor2D,
    actionsOneHot: tf.Tensor2D,
    mask?: tf.Tensor2D,
  ): { logp: tf.Tensor1D; entropy: tf.Tensor1D; logits: tf.Tensor2D } {
    const logits = this.logits(x, mask);
    const logSm = tf.logSoftmax(logits);
    // one-hot · sum, not tf.gather: gather's gradient fails on wasm.
    const logp = tf.sum(tf.mul(logSm, actionsOneHot), 1) as tf.Tensor1D;
    const p = tf.exp(logSm);
    // masked actions have p ≈ 0 and logSm ≈ −1e9: mask the product to avoid 0·(−1e9) noise
    const plogp = mask ? tf.mul(tf.mul(p, logSm), mask) : tf.mul(p, logSm);
    const entropy = tf.neg(tf.sum(plogp, 1)) as tf.Tensor1D;
    return { logp, entropy, logits };
  }

  dispose(): void {
    this.net.dispose();
  }
}

/** The action of one row `p[off .. off+k)` of a probability matrix: a sample, or greedily its argmax (with a `stop` action: see `CategoricalPolicy.greedyStop`). */
export function pickAction(p: ArrayLike<number>, off: number, k: number, greedy: boolean, rng: Rng, stop?: number): number {
  if (!greedy) return rng.categorical(p, off, k);
  if (stop !== undefined && p[off + stop]! >= 0.5) return stop;
  let a = stop === 0 ? 1 : 0;
  for (let i = a + 1; i < k; i++) if (i !== stop && p[off + i]! > p[off + a]!) a = i;
  return a;
}

/** One-hot float matrix of integer actions. */
export function oneHot(actions: ArrayLike<number>, k: number): tf.Tensor2D {
  const out = new Float32Array(actions.length * k);
  for (let i = 0; i < actions.length; i++) out[i * k + actions[i]!] = 1;
  return tf.tensor2d(out, [actions.length, k]);
}
