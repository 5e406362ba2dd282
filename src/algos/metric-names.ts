/**
 * The trainer-specific metrics.csv columns of every trainer, as functions of its options, without tfjs:
 * each trainer's constructor takes its `metricNames` from here, and sweep files are checked against
 * the same lists before anything runs (a misspelled `objective.metric` is refused). The
 * common columns (loss, entropy, ...) come first in metrics.csv and are not repeated here.
 */

/** REINFORCE: the gradient norm, and the value-baseline loss with `baseline: value`. */
export function reinforceMetricNames(baseline: "none" | "mean" | "value"): string[] {
  return ["grad_norm", ...(baseline === "value" ? ["value_loss"] : [])];
}

/** The on-policy base (ppo, ppo-lagrangian, p3o): shared columns, cost ones when it uses the cost, then `extra`. */
export function onPolicyMetricNames(usesCost: boolean, extra: readonly string[]): string[] {
  return ["kl", "clip_frac", "value_loss", ...(usesCost ? ["cost_value_loss", "jc"] : []), "grad_norm", "epochs", "lr", ...extra];
}

export const ppoMetricNames = (): string[] => onPolicyMetricNames(false, []);
export const ppoLagrangianMetricNames = (): string[] => onPolicyMetricNames(true, ["lambda"]);
export const p3oMetricNames = (): string[] => onPolicyMetricNames(true, ["penalty", "penalty_active", "kappa"]);

/** MACPO: per head (prefixed `<head>_`) the CPO step's columns; `single` (cpo): one head, no prefix, no head_order; `joint` (algo.macpo.step joint): no head_order. */
export function macpoMetricNames(headNames: readonly string[], single: boolean, joint = false): string[] {
  const prefixes = single ? [""] : headNames.map((h) => `${h}_`);
  const perHead = ["cpo_case", "ls_step", "kl", "surr_improve", "cost_change", "nu"];
  return [
    ...prefixes.flatMap((p) => perHead.map((m) => p + m)),
    "jc",
    "c",
    "target_kl",
    ...(single || joint ? [] : ["head_order"]),
    "value_loss",
    "cost_value_loss",
  ];
}

export const cpoMetricNames = (): string[] => macpoMetricNames([], true);

/** MAPPO-Lagrangian: per head the clipped-surrogate columns, then λ, J_C, the head order and both critics. */
export function mappoLagrangianMetricNames(headNames: readonly string[]): string[] {
  return [
    ...headNames.flatMap((h) => [`${h}_kl`, `${h}_clip_frac`, `${h}_surr_improve`, `${h}_epochs`]),
    "lambda",
    "jc",
    "head_order",
    "value_loss",
    "cost_value_loss",
  ];
}
