/**
 * The per-update schedules of every trainer, in one place: learning-rate annealing, the entropy
 * coefficient's decay and CPO's shrinking trust region. `done` = updates already applied, `total` =
 * train.updates.
 */

/** Share of training done, clamped to [0, 1]. */
function progress(done: number, total: number): number {
  return Math.min(1, done / Math.max(1, total));
}

/**
 * A coefficient decayed linearly from `start` to `final` over `total` updates; `final` null = constant.
 * Used for the entropy bonus (algo.entropyCoefFinal) and CPO's trust region (algo.cpo.targetKlFinal).
 */
export function linearSchedule(start: number, final: number | null, done: number, total: number): number {
  if (final === null) return start;
  return start + (final - start) * progress(done, total);
}

/**
 * The factor of the base learning rates at update `done`: CleanRL's anneal_lr, lr_k = lr·(1 − k/K) for
 * k = 0..K−1 (0 past the end, e.g. when a finished run is extended); 1 when annealing is off.
 */
export function lrFactor(anneal: boolean, done: number, total: number): number {
  return anneal ? Math.max(0, 1 - done / Math.max(1, total)) : 1;
}
