import { tf } from "../policy/backend.js";

/**
 * Adam (Kingma & Ba 2015) with the update of torch.optim.Adam:
 * m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g², p ← p − lr·(m/(1−β1^t)) / (√(v/(1−β2^t)) + ε).
 *
 * Written here rather than taken from tfjs because a run must resume bit-exactly (docs/architecture.md, determinism):
 * tfjs' AdamOptimizer.setWeights recomputes β^t with `pow`, which differs in the last bit from the
 * running product it keeps while training. Here the bias corrections are plain float64 numbers derived
 * from the step count, and the state is (t, m, v).
 */
export class Adam {
  private t = 0;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];

  constructor(
    readonly params: readonly tf.Variable[],
    public lr: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly eps = 1e-8,
  ) {
    this.m = params.map((p) => tf.variable(tf.zerosLike(p), false));
    this.v = params.map((p) => tf.variable(tf.zerosLike(p), false));
  }

  get step(): number {
    return this.t;
  }

  /** Applies one step with `grads[i]` the gradient of `params[i]` (grads are not disposed). */
  apply(grads: readonly tf.Tensor[]): void {
    this.t += 1;
    const bc1 = 1 - this.beta1 ** this.t;
    const bc2 = 1 - this.beta2 ** this.t;
    const stepSize = this.lr / bc1;
    const invSqrtBc2 = 1 / Math.sqrt(bc2);
    tf.tidy(() => {
      this.params.forEach((p, i) => {
        const g = grads[i]!;
        const m = tf.add(tf.mul(this.m[i]!, this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(this.v[i]!, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        this.m[i]!.assign(m);
        this.v[i]!.assign(v);
        const denom = tf.add(tf.mul(tf.sqrt(v), invSqrtBc2), this.eps);
        p.assign(tf.sub(p, tf.mul(tf.div(m, denom), stepSize)));
      });
    });
  }

  /** State for a checkpoint: step count (JSON) and moment tensors. */
  state(prefix: string): { t: number; tensors: Array<{ name: string; tensor: tf.Tensor }> } {
    return {
      t: this.t,
      tensors: [
        ...this.m.map((tensor, i) => ({ name: `${prefix}/m/${i}`, tensor })),
        ...this.v.map((tensor, i) => ({ name: `${prefix}/v/${i}`, tensor })),
      ],
    };
  }

  restore(prefix: string, t: number, tensors: tf.NamedTensorMap): void {
    this.t = t;
    this.m.forEach((m, i) => m.assign(requireTensor(tensors, `${prefix}/m/${i}`)));
    this.v.forEach((v, i) => v.assign(requireTensor(tensors, `${prefix}/v/${i}`)));
  }

  dispose(): void {
    for (const x of [...this.m, ...this.v]) x.dispose();
  }
}

export function requireTensor(tensors: tf.NamedTensorMap, name: string): tf.Tensor {
  const t = tensors[name];
  if (!t) throw new Error(`checkpoint is missing tensor "${name}"`);
  return t;
}

/**
 * Scales gradients so their global L2 norm is at most `maxNorm` (torch.nn.utils.clip_grad_norm_:
 * factor maxNorm / (norm + 1e-6) when below 1). Returns new tensors and the pre-clip norm tensor.
 */
export function clipByGlobalNorm(grads: readonly tf.Tensor[], maxNorm: number | null): { grads: tf.Tensor[]; norm: tf.Scalar } {
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
    if (maxNorm === null || maxNorm <= 0) return { grads: grads.map((g) => tf.clone(g)), norm };
    const factor = tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6)));
    return { grads: grads.map((g) => tf.mul(g, factor)), norm };
  });
}

/** Copies variables' values into a checkpoint list under `prefix/i`. */
export function namedVariables(prefix: string, vars: readonly tf.Variable[]): Array<{ name: string; tensor: tf.Tensor }> {
  return vars.map((tensor, i) => ({ name: `${prefix}/${i}`, tensor }));
}

/** The checkpointed tensors saved under `prefix/i` for each of `like`, checked against its shape. */
export function checkpointTensors(prefix: string, like: readonly tf.Tensor[], tensors: tf.NamedTensorMap): tf.Tensor[] {
  return like.map((v, i) => {
    const t = requireTensor(tensors, `${prefix}/${i}`);
    if (t.shape.join("x") !== v.shape.join("x")) {
      throw new Error(`checkpoint tensor ${prefix}/${i} has shape [${t.shape}] but the network expects [${v.shape}]`);
    }
    return t;
  });
}

/** Assigns checkpointed values to variables saved by {@link namedVariables}. */
export function restoreVariables(prefix: string, vars: readonly tf.Variable[], tensors: tf.NamedTensorMap): void {
  checkpointTensors(prefix, vars, tensors).forEach((t, i) => vars[i]!.assign(t));
}
