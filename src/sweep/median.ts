import { median } from "../analysis/stats.js";

/**
 * The median stopping rule (Golovin et al. 2017, "Google Vizier", §3.2.2): a trial is stopped at
 * update u ≥ grace if the running mean of its metric over updates 1..u is worse than the median of
 * the running means, at the same update u, of the other trials that have reached u.
 *
 * With parallel trials the rule only compares against what has been reported so far: a trial is
 * judged at update u only once at least `minTrials` other trials have reached u (finished trials,
 * trials of earlier sweep invocations and running trials all count). The first trials to run are
 * therefore rarely stopped (their peers are not far enough yet); later trials are judged against
 * the full picture. A trial's value at u is the mean over its seeds that have reached u; one seed
 * judged worse stops every seed of the trial.
 */
export class MedianStopper {
  /** trial → seed → running sums of the metric per update (index u-1). */
  private readonly curves = new Map<string, Map<number, number[]>>();
  readonly stopped = new Map<string, { update: number; seed: number; reason: string }>();

  constructor(readonly o: { metric: string; mode: "max" | "min"; grace: number; minTrials: number }) {}

  /** Records the metric of `trial`/`seed` at `update` (updates arrive in order per seed). */
  record(trial: string, seed: number, update: number, value: number): void {
    let bySeed = this.curves.get(trial);
    if (!bySeed) this.curves.set(trial, (bySeed = new Map()));
    let c = bySeed.get(seed);
    if (!c) bySeed.set(seed, (c = []));
    c.length = update - 1;
    const prev = update > 1 ? (c[update - 2] ?? 0) : 0;
    c[update - 1] = prev + (Number.isNaN(value) ? 0 : value);
  }

  /** Running mean of a trial at update u (mean over its seeds that reached u), or undefined. */
  runningMean(trial: string, update: number): number | undefined {
    const bySeed = this.curves.get(trial);
    if (!bySeed) return undefined;
    const vals = [...bySeed.values()].filter((c) => c.length >= update && c[update - 1] !== undefined).map((c) => c[update - 1]! / update);
    return vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : undefined;
  }

  /** Records a report and returns true when the trial should stop (it is then remembered as stopped). */
  report(trial: string, seed: number, update: number, value: number): boolean {
    if (this.stopped.has(trial)) return true;
    this.record(trial, seed, update, value);
    if (update < this.o.grace) return false;
    const mine = this.runningMean(trial, update)!;
    const others = [...this.curves.keys()]
      .filter((t) => t !== trial)
      .map((t) => this.runningMean(t, update))
      .filter((v): v is number => v !== undefined);
    if (others.length < this.o.minTrials) return false;
    const m = median(others);
    const worse = this.o.mode === "max" ? mine < m : mine > m;
    if (!worse) return false;
    this.stopped.set(trial, {
      update,
      seed,
      reason: `at update ${update} (seed ${seed}) the running mean of ${this.o.metric} was ${mine.toFixed(4)}, ${this.o.mode === "max" ? "below" : "above"} the median ${m.toFixed(4)} of ${others.length} other trials`,
    });
    return true;
  }
}
