/**
 * The averaged policy of the last part of a run (docs/config-notes.md, algo.averagePolicy): the trainer's final policy is the average
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
 * Which average. Running the iterates π_1…π_n of the window in turn (one episode batch each) spends, on
 * average, J_C = mean_k J_C(π_k) and earns the mean J_R. One stationary policy does the same: the
 * mixture whose occupancy measure is the mean of the iterates' occupancy measures d_k, which at a state
 * s acts with π̄(·|s) = Σ_k d_k(s) π_k(·|s) / Σ_k d_k(s) — each iterate weighted by how often it visits s.
 * It is neither the network with the mean weights (a mean of the weights of a tanh network is another
 * policy: on cmdp-1-12, CPO, seed 1, the iterates average J_C = 1.011·d and the mean-weight network
 * 0.813·d) nor the plain state-wise mean of the π_k (which weights an iterate that never visits s as much
 * as one that lives there).
 *
 * How (the average policy network of Neural Fictitious Self-Play, Heinrich & Silver 2016, fitted once at
 * the end; there it is fitted to the played actions, here to their probabilities):
 *   - after every update of the window, {@link AVERAGE_ROWS}/n observation rows of that update's batch
 *     (spread evenly over it: the states the policy visits, as often as it visits them) are kept with the
 *     action probabilities there of the policy that update produced (and the action masks) — no parameters.
 *     The states come from the policy one update older than the probabilities, a lag of one iterate;
 *   - after the last update the network, starting from the last iterate, is fitted by full-batch Adam to
 *     the kept rows, each row's target its own iterate's probabilities. The minimiser of that
 *     cross-entropy at a state is the visit-weighted mean of the targets at that state, which is π̄. Rows
 *     with identical observation and mask are pooled first (target: their mean, weight: their count), so
 *     the loss is the KL(π̄‖π_θ) itself and the fit stops once it is below {@link DISTILL_TOL} (or after
 *     {@link DISTILL_STEPS} steps). Deterministic (no sampling), so a resumed run ends with the same policy.
 *   - a factored policy (several heads) fits each head to its own visit-weighted mean: the product of the
 *     heads' means, which is the mixture's joint policy only where the heads' iterates move independently.
 * The kept rows are part of the trainer's checkpoint.
 *
 * Measured against the previous form (at most 16 parameter snapshots, one every 5 updates, target the
 * unweighted mean of their probabilities): on cmdp-2-27 (PPO-Lagrangian, seed 0) the window's own
 * episodes spend 1.005·d at 0.97 of J_R*, the 16-snapshot average 0.959·d at 0.926 and the average of all
 * ~75 iterates 0.996·d at 0.961 — too few snapshots, not the fit, lost the budget. On the 90 runs of
 * family seed 2 (paired run by run) PPO-Lagrangian went from 73% to 86% within the bounds (12 runs fixed, 1
 * broken; worst J_C 1.057 → 1.028·d); the other trainers moved by a run or two.
 */
import { tf } from "../policy/backend.js";
import type { CategoricalPolicy } from "../policy/policy.js";
import { Adam, requireTensor } from "./adam.js";

/** Rows kept over the whole window (each update keeps AVERAGE_ROWS / window length of its batch). */
export const AVERAGE_ROWS = 2048;
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

/** Rows kept from one or more updates: observations, masks (single head) and each head's probabilities there. */
interface Kept {
  rows: number;
  obs: Float32Array;
  mask?: Uint8Array;
  probs: Float32Array[];
}

export class PolicyAverage {
  private kept: Kept[] = [];
  /** The tensors the last {@link state} made (disposed by the next call and by {@link dispose}). */
  private stateTensors: tf.Tensor[] = [];
  /** First update (1-based count of updates applied) of the window. */
  readonly start: number;
  /** Rows each update of the window keeps. */
  readonly rowsPerUpdate: number;
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
    this.rowsPerUpdate = n > 1 ? Math.max(1, Math.floor(AVERAGE_ROWS / n)) : 0;
  }

  /** Rows kept so far. */
  get rows(): number {
    return this.kept.reduce((s, k) => s + k.rows, 0);
  }

  /** Call after every update with the number of updates applied so far and that update's batch. */
  afterUpdate(updatesDone: number, batch: AverageBatch): void {
    if (updatesDone < this.start || updatesDone > this.totalUpdates) return;
    this.keep(batch);
    if (updatesDone === this.totalUpdates) this.fit();
  }

  private keep(batch: AverageBatch): void {
    const m = Math.min(this.rowsPerUpdate, batch.rows);
    if (m === 0) return;
    const d = batch.obsDim;
    const masked = batch.masks !== undefined && this.heads.length === 1;
    const k = this.heads[0]!.numActions;
    const obs = new Float32Array(m * d);
    const mask = masked ? new Uint8Array(m * k) : undefined;
    for (let i = 0; i < m; i++) {
      const r = Math.floor(((i + 0.5) * batch.rows) / m);
      obs.set(batch.obs.subarray(r * d, (r + 1) * d), i * d);
      if (mask) mask.set(batch.masks!.subarray(r * k, (r + 1) * k), i * k);
    }
    this.kept.push({ rows: m, obs, ...(mask ? { mask } : {}), probs: this.heads.map((h) => h.probs(obs, m, mask)) });
  }

  /** All kept rows as one block. */
  private joined(): Kept | undefined {
    if (this.kept.length === 0) return undefined;
    if (this.kept.length === 1) return this.kept[0]!;
    const cat = <T extends Float32Array | Uint8Array>(parts: T[], make: (n: number) => T): T => {
      const out = make(parts.reduce((s, p) => s + p.length, 0));
      let o = 0;
      for (const p of parts) {
        out.set(p, o);
        o += p.length;
      }
      return out;
    };
    const masked = this.kept[0]!.mask !== undefined;
    return {
      rows: this.rows,
      obs: cat(
        this.kept.map((k) => k.obs),
        (n) => new Float32Array(n),
      ),
      ...(masked
        ? {
            mask: cat(
              this.kept.map((k) => k.mask!),
              (n) => new Uint8Array(n),
            ),
          }
        : {}),
      probs: this.heads.map((_, h) =>
        cat(
          this.kept.map((k) => k.probs[h]!),
          (n) => new Float32Array(n),
        ),
      ),
    };
  }

  /** Fits the policy to π̄: the visit-weighted mean of the kept rows' probabilities, state by state. */
  private fit(): void {
    const all = this.joined();
    this.kept = [];
    if (!all) return;
    const d = all.obs.length / all.rows;
    const k0 = this.heads[0]!.numActions;
    // pool rows with the same observation and mask: their mean target, weighted by their count
    const groupOf = new Map<string, number>();
    const first: number[] = [];
    const count: number[] = [];
    const rowGroup = new Int32Array(all.rows);
    for (let r = 0; r < all.rows; r++) {
      const bytes = Buffer.from(all.obs.buffer, all.obs.byteOffset + r * d * 4, d * 4).toString("latin1");
      const key = all.mask ? bytes + Buffer.from(all.mask.subarray(r * k0, (r + 1) * k0)).toString("latin1") : bytes;
      let g = groupOf.get(key);
      if (g === undefined) {
        g = first.length;
        groupOf.set(key, g);
        first.push(r);
        count.push(0);
      }
      count[g]! += 1;
      rowGroup[r] = g;
    }
    const G = first.length;
    const obs = new Float32Array(G * d);
    first.forEach((r, g) => obs.set(all.obs.subarray(r * d, (r + 1) * d), g * d));
    const targetArrays = this.heads.map((h, i) => {
      const k = h.numActions;
      const t = new Float32Array(G * k);
      for (let r = 0; r < all.rows; r++) {
        const g = rowGroup[r]!;
        for (let a = 0; a < k; a++) t[g * k + a]! += all.probs[i]![r * k + a]! / count[g]!;
      }
      return t;
    });
    let maskArr: Uint8Array | undefined;
    if (all.mask) {
      maskArr = new Uint8Array(G * k0);
      first.forEach((r, g) => maskArr!.set(all.mask!.subarray(r * k0, (r + 1) * k0), g * k0));
    }

    const vars = this.heads.flatMap((h) => h.variables);
    const x = tf.tensor2d(obs, [G, d]);
    const mask = maskArr ? tf.tensor2d(maskArr, [G, k0], "float32") : undefined;
    const weight = tf.tensor1d(count.map((c) => c / all.rows));
    const targets = this.heads.map((h, i) => tf.tensor2d(targetArrays[i]!, [G, h.numActions]));
    const logTargets = targets.map((t) => tf.tidy(() => tf.log(tf.maximum(t, 1e-12)) as tf.Tensor2D));
    const opt = new Adam(vars, DISTILL_LR);
    try {
      // KL(π̄‖π) = Σ_a π̄ (log π̄ − log π): its gradient is the cross-entropy's (the entropy of π̄ is constant)
      const klOf = (): tf.Scalar =>
        tf.tidy(
          () =>
            this.heads
              .map((h, i) =>
                tf.sum(tf.mul(weight, tf.sum(tf.mul(targets[i]!, tf.sub(logTargets[i]!, tf.logSoftmax(h.logits(x, mask)))), 1))),
              )
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
      tf.dispose([x, weight, ...(mask ? [mask] : []), ...targets, ...logTargets]);
    }
  }

  /** Checkpoint tensors (prefix/…) and JSON. */
  state(prefix: string): { tensors: Array<{ name: string; tensor: tf.Tensor }>; json: { rows: number } } {
    tf.dispose(this.stateTensors);
    this.stateTensors = [];
    const all = this.joined();
    if (!all) return { tensors: [], json: { rows: 0 } };
    const d = all.obs.length / all.rows;
    const tensors: Array<{ name: string; tensor: tf.Tensor }> = [{ name: `${prefix}/obs`, tensor: tf.tensor2d(all.obs, [all.rows, d]) }];
    if (all.mask) tensors.push({ name: `${prefix}/mask`, tensor: tf.tensor2d(all.mask, [all.rows, this.heads[0]!.numActions], "int32") });
    this.heads.forEach((h, i) =>
      tensors.push({ name: `${prefix}/probs${i}`, tensor: tf.tensor2d(all.probs[i]!, [all.rows, h.numActions]) }),
    );
    this.stateTensors = tensors.map((t) => t.tensor);
    return { tensors, json: { rows: all.rows } };
  }

  /**
   * `stored` is the JSON {@link state} wrote; from older versions, `{ snapshots }` (16 parameter snapshots) or
   * `{ count }` (a parameter average). A finished run of either holds its final policy and loads; resuming
   * one inside its window cannot continue its average and is refused.
   */
  restore(prefix: string, stored: unknown, tensors: tf.NamedTensorMap): void {
    this.kept = [];
    const json = stored as { rows?: number; snapshots?: number; count?: number } | undefined;
    const oldCount = Number(json?.count ?? 0);
    const older =
      json?.rows === undefined &&
      ((json?.snapshots === undefined && oldCount > 0 && oldCount < this.totalUpdates - this.start + 1) ||
        Number(json?.snapshots ?? 0) > 0);
    if (older) {
      throw new Error(
        "the checkpoint is inside the averaging window of algo.averagePolicy in an older format (a maestro before the visit-weighted policy average): resume it with the version that wrote it, or train again",
      );
    }
    const rows = Number(json?.rows ?? 0);
    if (rows === 0) return;
    const obs = requireTensor(tensors, `${prefix}/obs`);
    const m = tensors[`${prefix}/mask`];
    this.kept.push({
      rows,
      obs: Float32Array.from(obs.dataSync()),
      ...(m ? { mask: Uint8Array.from(m.dataSync()) } : {}),
      probs: this.heads.map((_, i) => Float32Array.from(requireTensor(tensors, `${prefix}/probs${i}`).dataSync())),
    });
  }

  dispose(): void {
    this.kept = [];
    tf.dispose(this.stateTensors);
    this.stateTensors = [];
  }
}
