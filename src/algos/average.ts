/**
 * The averaged policy of the last part of a run (issue 14): the trainer's final policy is the mean of
 * its policy parameters over the last `fraction` of the updates instead of the last iterate.
 *
 * Why: a constrained problem is a linear program in occupancy measures; its optimum randomises at a
 * state where the Lagrangian is indifferent between actions, so at λ ≈ λ* the last iterate of a
 * primal-dual method may sit anywhere along that indifference and only the feedback through λ keeps
 * it near the budget — with sampled J_C it wanders around d (exact J_C of successive checkpoints of one
 * run: 0.92–1.06·d) and the learning-rate decay freezes it wherever it is. The time average of the
 * iterates is what converges (ergodic/primal averaging of dual subgradient methods: Nedić & Ozdaglar
 * 2009, "Approximate primal solutions and rate analysis for dual subgradient methods"; the averaged
 * policy of constrained RL: Le, Voloshin & Yue 2019, "Batch policy learning under constraints").
 * Parameters are averaged (stochastic weight averaging, Izmailov et al. 2018): late in a run with a
 * decaying learning rate the iterates are close, so the mean of the parameters is the mean of the logits.
 *
 *   avg ← avg + (θ_k − avg)/n   for the n-th update of the window; after the last update θ ← avg.
 *
 * The running mean and its count are part of the trainer's checkpoint, so a resumed run ends with the
 * same averaged policy.
 */
import { tf } from "../policy/backend.js";
import { restoreVariables } from "./adam.js";

function copyVariable(v: tf.Variable, name: string): tf.Variable {
  const c = v.clone();
  const out = tf.variable(c, false, name);
  c.dispose();
  return out;
}

export class PolicyAverage {
  private avg: tf.Variable[] | null = null;
  private count = 0;
  /** First update (1-based count of updates applied) whose result enters the mean. */
  readonly start: number;

  constructor(
    private readonly vars: readonly tf.Variable[],
    /** Share of the run's updates averaged (0 = off: the last iterate). */
    fraction: number,
    readonly totalUpdates: number,
  ) {
    const n = Math.round(Math.min(1, Math.max(0, fraction)) * totalUpdates);
    this.start = n > 1 ? totalUpdates - n + 1 : Infinity;
  }

  /** Call after every update with the number of updates applied so far. */
  afterUpdate(updatesDone: number): void {
    if (updatesDone < this.start || updatesDone > this.totalUpdates) return;
    this.count += 1;
    if (!this.avg) this.avg = this.vars.map((v, i) => copyVariable(v, `avg_${i}_${v.name}`));
    else {
      const w = 1 / this.count;
      this.avg.forEach((a, i) => {
        const next = tf.tidy(() => tf.add(a, tf.mul(tf.sub(this.vars[i]!, a), w)));
        a.assign(next);
        next.dispose();
      });
    }
    if (updatesDone === this.totalUpdates) this.vars.forEach((v, i) => v.assign(this.avg![i]!));
  }

  /** Checkpoint tensors (prefix/i) and JSON. */
  state(prefix: string): { tensors: Array<{ name: string; tensor: tf.Tensor }>; json: { count: number } } {
    return { tensors: (this.avg ?? []).map((tensor, i) => ({ name: `${prefix}/${i}`, tensor })), json: { count: this.count } };
  }

  restore(prefix: string, json: { count?: number } | undefined, tensors: tf.NamedTensorMap): void {
    this.count = Number(json?.count ?? 0);
    this.avg?.forEach((a) => a.dispose());
    this.avg = null;
    if (this.count > 0) {
      this.avg = this.vars.map((v, i) => copyVariable(v, `avg_${i}_${v.name}`));
      restoreVariables(prefix, this.avg, tensors);
    }
  }

  dispose(): void {
    this.avg?.forEach((a) => a.dispose());
    this.avg = null;
  }
}
