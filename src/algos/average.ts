/**
 * The averaged policy of the last part of a run (issue 14): the trainer's final policy is the average
 * of its policies over the last `fraction` of the updates instead of the last iterate.
 *
 * Why: a constrained problem is a linear program in occupancy measures; its optimum randomises at a
 * state where the Lagrangian is indifferent between actions, so at λ ≈ λ* the last iterate of a
 * primal-dual method may sit anywhere along that indifference and only the feedback through λ keeps
 * it near the budget — with sampled J_C it wanders around d (exact J_C of successive iterates of one
 * run: 0.92–1.06·d). The time average of the iterates is what converges (ergodic/primal averaging of
 * dual subgradient methods: Nedić & Ozdaglar 2009, "Approximate primal solutions and rate analysis for
 * dual subgradient methods"; the averaged policy of constrained RL: Le, Voloshin & Yue 2019, "Batch
 * policy learning under constraints").
 *
 * The average is taken over the policies' action distributions, not over their parameters. A mean of
 * the weights of a tanh network is not the network of the mean policy: on a held-out family problem
 * (cmdp-1-12, CPO, seed 1) the iterates of the window average J_C = 1.011·d, the state-wise mean of
 * their probabilities 1.017·d, and the network with the mean weights 0.813·d. So (the average policy
 * network of Neural Fictitious Self-Play, Heinrich & Silver 2016, fitted once at the end):
 *   - every `stride`-th update of the window (at most {@link MAX_SNAPSHOTS}) keeps a copy of the policy
 *     parameters and up to {@link ROWS_PER_SNAPSHOT} observation rows (and action masks) of that
 *     update's batch, spread evenly over the batch: the states the policies of the window visit, as
 *     often as they visit them;
 *   - after the last update the target at each kept row is π̄(·|s) = mean over the snapshots of π_k(·|s)
 *     (per head for a factored policy), and the network, starting from the last iterate, is fitted to
 *     it by full-batch Adam on the mean KL(π̄‖π_θ) until it is below {@link DISTILL_TOL} or
 *     {@link DISTILL_STEPS} steps are done. Deterministic (no sampling), so a resumed run ends with the
 *     same policy.
 * The snapshots and rows are part of the trainer's checkpoint.
 */
import { tf } from "../policy/backend.js";
import type { CategoricalPolicy } from "../policy/policy.js";
import { Adam, checkpointTensors, requireTensor } from "./adam.js";

export const MAX_SNAPSHOTS = 16;
export const ROWS_PER_SNAPSHOT = 128;
export const DISTILL_STEPS = 500;
export const DISTILL_LR = 1e-3;
export const DISTILL_TOL = 1e-4;

/** What an update hands over: its batch's observations (and masks, for a single head). */
export interface AverageBatch {
  obs: Float32Array;
  obsDim: number;
  rows: number;
  masks?: Uint8Array;
}

/** One kept policy of the window: its parameters and rows of its batch. */
interface Snapshot {
  params: tf.Tensor[];
  obs: tf.Tensor2D;
  mask?: tf.Tensor2D;
}

export class PolicyAverage {
  private snaps: Snapshot[] = [];
  /** First update (1-based count of updates applied) of the window. */
  readonly start: number;
  readonly stride: number;
  /** Mean KL(π̄‖π) of the fitted final policy on the kept rows (NaN until it is fitted). */
  finalKl = NaN;

  constructor(
    /** The policy's heads (one for a single categorical policy). */
    private readonly heads: readonly CategoricalPolicy[],
    /** Share of the run's updates averaged (0 = off: the last iterate). */
    fraction: number,
    readonly totalUpdates: number,
  ) {
    const n = Math.round(Math.min(1, Math.max(0, fraction)) * totalUpdates);
    this.start = n > 1 ? totalUpdates - n + 1 : Infinity;
    this.stride = Math.max(1, Math.ceil(n / (MAX_SNAPSHOTS - 1)));
  }

  private get vars(): tf.Variable[] {
    return this.heads.flatMap((h) => h.variables);
  }

  /** Call after every update with the number of updates applied so far and that update's batch. */
  afterUpdate(updatesDone: number, batch: AverageBatch): void {
    if (updatesDone < this.start || updatesDone > this.totalUpdates) return;
    const last = updatesDone === this.totalUpdates;
    if ((updatesDone - this.start) % this.stride === 0 || last) this.keep(batch);
    if (last && this.snaps.length > 1) this.fit();
  }

  private keep(batch: AverageBatch): void {
    const step = Math.max(1, Math.ceil(batch.rows / ROWS_PER_SNAPSHOT));
    const rows: number[] = [];
    for (let r = 0; r < batch.rows; r += step) rows.push(r);
    const d = batch.obsDim;
    const obs = new Float32Array(rows.length * d);
    rows.forEach((r, i) => obs.set(batch.obs.subarray(r * d, (r + 1) * d), i * d));
    const snap: Snapshot = { params: this.vars.map((v) => v.clone()), obs: tf.tensor2d(obs, [rows.length, d]) };
    if (batch.masks && this.heads.length === 1) {
      const k = this.heads[0]!.numActions;
      const m = new Float32Array(rows.length * k);
      rows.forEach((r, i) => m.set(batch.masks!.subarray(r * k, (r + 1) * k), i * k));
      snap.mask = tf.tensor2d(m, [rows.length, k]);
    }
    this.snaps.push(snap);
  }

  /** Fits the policy to the state-wise mean of the snapshots' action distributions. */
  private fit(): void {
    const vars = this.vars;
    const x = tf.concat(this.snaps.map((s) => s.obs)) as tf.Tensor2D;
    const mask = this.snaps[0]!.mask ? (tf.concat(this.snaps.map((s) => s.mask!)) as tf.Tensor2D) : undefined;
    const n = x.shape[0];
    const lastIterate = vars.map((v) => v.clone());
    const targets: tf.Tensor2D[] = this.heads.map((h) => tf.zeros([n, h.numActions]));
    const logTargets: tf.Tensor2D[] = [];
    const opt = new Adam(vars, DISTILL_LR);
    try {
      for (const snap of this.snaps) {
        vars.forEach((v, i) => v.assign(snap.params[i]!));
        this.heads.forEach((h, i) => {
          const next = tf.tidy(() => tf.add(targets[i]!, tf.div(tf.softmax(h.logits(x, mask)), this.snaps.length)));
          targets[i]!.dispose();
          targets[i] = next as tf.Tensor2D;
        });
      }
      vars.forEach((v, i) => v.assign(lastIterate[i]!));
      for (const t of targets) logTargets.push(tf.tidy(() => tf.log(tf.maximum(t, 1e-12)) as tf.Tensor2D));
      // KL(π̄‖π) = Σ_a π̄ (log π̄ − log π): its gradient is the cross-entropy's (the entropy of π̄ is constant)
      const klOf = (): tf.Scalar =>
        tf.tidy(() =>
          this.heads
            .map((h, i) => tf.mean(tf.sum(tf.mul(targets[i]!, tf.sub(logTargets[i]!, tf.logSoftmax(h.logits(x, mask)))), 1)))
            .reduce((a, b) => tf.add(a, b)) as tf.Scalar,
        );
      for (let step = 0; step < DISTILL_STEPS; step++) {
        const { value, grads } = tf.variableGrads(klOf, vars);
        const kl = value.dataSync()[0]!;
        value.dispose();
        if (!(kl >= DISTILL_TOL)) {
          tf.dispose(Object.values(grads));
          break;
        }
        opt.apply(vars.map((v) => grads[v.name]!));
        tf.dispose(Object.values(grads));
      }
      const kl = klOf();
      this.finalKl = kl.dataSync()[0]!;
      kl.dispose();
    } finally {
      opt.dispose();
      tf.dispose([x, ...(mask ? [mask] : []), ...lastIterate, ...targets, ...logTargets]);
      this.clear();
    }
  }

  private clear(): void {
    for (const s of this.snaps) tf.dispose([...s.params, s.obs, ...(s.mask ? [s.mask] : [])]);
    this.snaps = [];
  }

  /** Checkpoint tensors (prefix/…) and JSON. */
  state(prefix: string): { tensors: Array<{ name: string; tensor: tf.Tensor }>; json: { snapshots: number } } {
    const tensors: Array<{ name: string; tensor: tf.Tensor }> = [];
    this.snaps.forEach((s, k) => {
      s.params.forEach((tensor, i) => tensors.push({ name: `${prefix}/snap${k}/${i}`, tensor }));
      tensors.push({ name: `${prefix}/snap${k}/obs`, tensor: s.obs });
      if (s.mask) tensors.push({ name: `${prefix}/snap${k}/mask`, tensor: s.mask });
    });
    return { tensors, json: { snapshots: this.snaps.length } };
  }

  /** `stored` is the JSON {@link state} wrote (or, from a run before the policy-space average, `{ count }`). */
  restore(prefix: string, stored: unknown, tensors: tf.NamedTensorMap): void {
    this.clear();
    const json = stored as { snapshots?: number; count?: number } | undefined;
    const oldCount = Number(json?.count ?? 0);
    // a finished run of that format already holds its final (weight-mean) policy: evaluate and serve it as it is
    if (json?.snapshots === undefined && oldCount > 0 && oldCount < this.totalUpdates - this.start + 1) {
      throw new Error(
        "the checkpoint holds a parameter average of the policy (a maestro before the policy-space average of algo.averagePolicy): resume it with the version that wrote it, or train again",
      );
    }
    const vars = this.vars;
    for (let k = 0; k < Number(json?.snapshots ?? 0); k++) {
      const params = checkpointTensors(`${prefix}/snap${k}`, vars, tensors).map((t) => t.clone());
      const obs = requireTensor(tensors, `${prefix}/snap${k}/obs`).clone() as tf.Tensor2D;
      const m = tensors[`${prefix}/snap${k}/mask`];
      this.snaps.push({ params, obs, ...(m ? { mask: m.clone() as tf.Tensor2D } : {}) });
    }
  }

  dispose(): void {
    this.clear();
  }
}
