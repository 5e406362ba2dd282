import type { RolloutBatch } from "../env/rollout.js";
import type { tf } from "../policy/backend.js";
import type { ActionPolicy } from "../policy/factored.js";

/** What a trainer saves into a checkpoint: tensors (weights, optimizer moments) and JSON state. */
export interface TrainerState {
  tensors: Array<{ name: string; tensor: tf.Tensor }>;
  json: Record<string, unknown>;
}

/** Per-update numbers a trainer reports; become columns of metrics.csv. */
export type UpdateMetrics = Record<string, number>;

/**
 * A trainer owns the policy's optimiser (and any critics) and turns one rollout batch into one update.
 * It does no I/O: the experiment layer persists what `state()` returns.
 */
export interface Trainer {
  readonly name: string;
  /** The policy the rollout samples from (a CategoricalPolicy, or a FactoredPolicy for macpo). */
  readonly policy: ActionPolicy;
  /** Trainer-specific metric columns, in order (after the common ones; `loss` and `entropy` are common). */
  readonly metricNames: readonly string[];
  update(batch: RolloutBatch): Promise<UpdateMetrics>;
  state(): TrainerState;
  restore(tensors: tf.NamedTensorMap, json: Record<string, unknown>): void;
  dispose(): void;
}

/** Thrown when a loss becomes NaN or infinite: the run stops and the last good checkpoint stays. */
export class NonFiniteLossError extends Error {
  constructor(what: string, value: number) {
    super(`${what} became ${value} — training stopped; the last good checkpoint is kept`);
    this.name = "NonFiniteLossError";
  }
}

/**
 * The one non-finite check of every trainer: throws {@link NonFiniteLossError} naming the first term of
 * `terms` (metric names, e.g. value_loss) that is NaN or infinite; undefined terms are skipped. Called
 * before a step is applied, so a NaN never reaches the weights the last checkpoint would be compared to.
 */
export function checkFinite(trainer: string, terms: Record<string, number | undefined>): void {
  for (const [key, v] of Object.entries(terms)) {
    if (v !== undefined && !Number.isFinite(v)) throw new NonFiniteLossError(`${trainer} ${key.replace(/_/g, " ")}`, v);
  }
}
