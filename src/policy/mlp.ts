import type { Rng } from "../core/rng.js";
import { tf } from "./backend.js";
import type { Activation, InitName } from "./names.js";

export { activationNames, initNames, type Activation, type InitName } from "./names.js";

let instanceCounter = 0;

/**
 * Orthogonal matrix (rows × cols) by Gram–Schmidt on Gaussian samples, scaled by `gain`
 * (Saxe et al. 2014; the init of SB3 and CleanRL).
 */
function orthogonal(rows: number, cols: number, gain: number, rng: Rng): Float32Array {
  const n = Math.max(rows, cols);
  const m = Math.min(rows, cols);
  // m orthonormal vectors of length n
  const q: Float64Array[] = [];
  for (let i = 0; i < m; i++) {
    const v = new Float64Array(n);
    for (let j = 0; j < n; j++) v[j] = rng.normal();
    for (const u of q) {
      let d = 0;
      for (let j = 0; j < n; j++) d += v[j]! * u[j]!;
      for (let j = 0; j < n; j++) v[j]! -= d * u[j]!;
    }
    let norm = 0;
    for (let j = 0; j < n; j++) norm += v[j]! * v[j]!;
    norm = Math.sqrt(norm) || 1;
    for (let j = 0; j < n; j++) v[j]! /= norm;
    q.push(v);
  }
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = gain * (rows >= cols ? q[c]![r]! : q[r]![c]!);
  return out;
}

/** Initial values of one dense layer's kernel (fanIn × fanOut, row-major) and bias. */
export function initDense(
  fanIn: number,
  fanOut: number,
  init: InitName,
  rng: Rng,
  gain = Math.SQRT2,
): { kernel: Float32Array; bias: Float32Array } {
  const kernel = new Float32Array(fanIn * fanOut);
  const bias = new Float32Array(fanOut);
  if (init === "torch-default") {
    // torch.nn.Linear: kaiming_uniform(a=√5) ⇒ U(±1/√fan_in) for weights, and U(±1/√fan_in) for bias.
    const bound = 1 / Math.sqrt(fanIn);
    for (let i = 0; i < kernel.length; i++) kernel[i] = rng.uniform(-bound, bound);
    for (let i = 0; i < fanOut; i++) bias[i] = rng.uniform(-bound, bound);
  } else if (init === "glorot-uniform") {
    const bound = Math.sqrt(6 / (fanIn + fanOut));
    for (let i = 0; i < kernel.length; i++) kernel[i] = rng.uniform(-bound, bound);
  } else {
    kernel.set(orthogonal(fanIn, fanOut, gain, rng));
  }
  return { kernel, bias };
}

export interface MlpOptions {
  /** Hidden layer sizes. */
  hidden: readonly number[];
  activation: Activation;
  init: InitName;
  /** Gain of the output layer under orthogonal init (0.01 for policy heads, 1 for critics). */
  outputGain?: number;
}

/** A fully connected network built from tfjs variables: in → hidden… → out (linear output). */
export class Mlp {
  readonly variables: tf.Variable[] = [];
  readonly sizes: number[];

  constructor(
    readonly name: string,
    inputDim: number,
    outputDim: number,
    readonly opts: MlpOptions,
    rng: Rng,
  ) {
    this.sizes = [inputDim, ...opts.hidden, outputDim];
    const id = instanceCounter++;
    for (let l = 0; l + 1 < this.sizes.length; l++) {
      const fanIn = this.sizes[l]!;
      const fanOut = this.sizes[l + 1]!;
      const isOut = l + 2 === this.sizes.length;
      const gain = isOut ? (opts.outputGain ?? 1) : Math.SQRT2;
      const { kernel, bias } = initDense(fanIn, fanOut, opts.init, rng, gain);
      this.variables.push(tf.variable(tf.tensor2d(kernel, [fanIn, fanOut]), true, `${name}_${id}/dense${l}/kernel`));
      this.variables.push(tf.variable(tf.tensor1d(bias), true, `${name}_${id}/dense${l}/bias`));
    }
  }

  private act(x: tf.Tensor2D): tf.Tensor2D {
    switch (this.opts.activation) {
      case "relu":
        return tf.relu(x);
      case "tanh":
        return tf.tanh(x);
      case "elu":
        return tf.elu(x);
      case "leaky-relu":
        return tf.leakyRelu(x, 0.01);
    }
  }

  /** One dense layer: x·W + b, then the activation on hidden layers. */
  private layer(h: tf.Tensor2D, l: number, hidden: boolean): tf.Tensor2D {
    const z = tf.add(tf.matMul(h, this.variables[2 * l] as tf.Tensor2D), this.variables[2 * l + 1]!) as tf.Tensor2D;
    return hidden ? this.act(z) : z;
  }

  /** Forward pass (call inside `tf.tidy` or dispose the result). */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    let h = x;
    const n = this.variables.length / 2;
    for (let l = 0; l < n; l++) h = this.layer(h, l, l + 1 < n);
    return h;
  }

  /** One scalar output per row (critics): a forward pass downloaded as floats. */
  values(x: tf.Tensor2D): Float32Array {
    const v = tf.tidy(() => tf.reshape(this.apply(x), [x.shape[0]]));
    const out = v.dataSync() as Float32Array;
    v.dispose();
    return out;
  }

  /** Activations of the last hidden layer (used by analytic Fisher products). */
  hiddenFeatures(x: tf.Tensor2D): tf.Tensor2D {
    let h = x;
    const n = this.variables.length / 2;
    for (let l = 0; l + 1 < n; l++) h = this.layer(h, l, true);
    return h;
  }

  get numParams(): number {
    return this.variables.reduce((s, v) => s + v.size, 0);
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}
