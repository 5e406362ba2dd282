/** The surrogate objectives of PPO, PPO-Lagrangian, P3O and MAPPO-Lagrangian, on tfjs tensors (call inside a tidy / grad scope). */
import { tf } from "../policy/backend.js";

/**
 * PPO's clipped surrogate (Schulman et al. 2017, eq. 7), to be MAXIMISED:
 *   L^CLIP = mean_t min(ρ_t·A_t, clip(ρ_t, 1−ε, 1+ε)·A_t),  ρ_t = π(a_t|s_t)/π_old(a_t|s_t).
 * With `weights` M_t, HAPPO's sequential form mean_t M_t·min(…) (Kuba et al. 2022, eq. 11): M_t is the
 * product of the probability ratios of the heads updated before this one.
 */
export function clippedSurrogate(ratio: tf.Tensor1D, adv: tf.Tensor1D, eps: number, weights?: tf.Tensor1D): tf.Scalar {
  const unclipped = tf.mul(ratio, adv);
  const clipped = tf.mul(tf.clipByValue(ratio, 1 - eps, 1 + eps), adv);
  const surr = tf.minimum(unclipped, clipped);
  return tf.mean(weights ? tf.mul(weights, surr) : surr) as tf.Scalar;
}

/**
 * The pessimistic clipped cost surrogate of P3O (Zhang et al. 2022, eq. 9), an upper estimate of the
 * cost change, to be kept ≤ 0 (plus the constraint term):
 *   L_C^CLIP = mean_t max(ρ_t·A^C_t, clip(ρ_t, 1−ε, 1+ε)·A^C_t).
 * With `clip = false` the plain importance-weighted mean ρ·A^C (OmniSafe's P3O).
 */
export function costSurrogate(ratio: tf.Tensor1D, advC: tf.Tensor1D, eps: number, clip = true): tf.Scalar {
  const unclipped = tf.mul(ratio, advC);
  if (!clip) return tf.mean(unclipped) as tf.Scalar;
  const clipped = tf.mul(tf.clipByValue(ratio, 1 - eps, 1 + eps), advC);
  return tf.mean(tf.maximum(unclipped, clipped)) as tf.Scalar;
}

/** Fraction of rows whose ratio left [1−ε, 1+ε] (logged as clip_frac). */
export function clipFraction(ratio: tf.Tensor1D, eps: number): tf.Scalar {
  return tf.mean(tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), eps), "float32")) as tf.Scalar;
}

/** SB3's approximate KL(π_old‖π) = mean((ρ − 1) − log ρ) (Schulman's k3 estimator, always ≥ 0). */
export function approxKl(logRatio: tf.Tensor1D): tf.Scalar {
  return tf.mean(tf.sub(tf.sub(tf.exp(logRatio), 1), logRatio)) as tf.Scalar;
}
