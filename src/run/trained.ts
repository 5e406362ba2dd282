import type { Trainer } from "../algos/trainer.js";
import { InputError } from "../core/errors.js";
import type { LlmClient } from "../llm/client.js";
import { selectBackend } from "../policy/backend.js";
import type { StateEncoder } from "../policy/encoders.js";
import type { CostKnob } from "../algos/knob.js";
import { buildActionMask, buildEncoder, buildKnob, buildLlm, buildTrainer, loadUserModules } from "./build.js";
import { latestCheckpoint, loadCheckpoint } from "./checkpoint.js";
import type { Config } from "../config/schema.js";
import { loadRunConfig } from "./train.js";

/** A run's last checkpoint, ready to act: what eval, exact eval and orchestrate start from. */
export interface TrainedRun {
  config: Config;
  checkpointUpdate: number;
  backend: string;
  /** The run's LLM client (models, limits, cache), for configs with an llm section. */
  llm: LlmClient | undefined;
  encoder: StateEncoder;
  /** Holds the trained policy; the caller disposes it. */
  trainer: Trainer;
  /** Budget-conditioned runs: the cost knob, restored from the checkpoint. */
  knob: CostKnob | undefined;
  /** Action mask of env.shape (undefined for free). */
  actionMask: ReturnType<typeof buildActionMask>;
}

/**
 * Loads the last checkpoint of `runDir`. `config` replaces the run's config.yaml (e.g. with overrides
 * applied); `check` validates the config before anything is built.
 */
export async function loadTrainedRun(runDir: string, o: { config?: Config; check?: (c: Config) => void } = {}): Promise<TrainedRun> {
  const config = o.config ?? loadRunConfig(runDir);
  const ck = latestCheckpoint(runDir);
  if (!ck) throw new InputError(`${runDir}: the run has no checkpoint yet`, runDir);
  o.check?.(config);
  await loadUserModules(config, `${runDir}/config.yaml`);
  const llm = buildLlm(config);
  const backend = await selectBackend(config.backend);
  const encoder = buildEncoder(config, llm);
  const trainer = buildTrainer(config, encoder);
  const knob = buildKnob(config);
  try {
    const meta = await loadCheckpoint(ck.dir, trainer);
    knob?.restore(meta.knob);
  } catch (e) {
    trainer.dispose();
    throw e;
  }
  return { config, checkpointUpdate: ck.update, backend, llm, encoder, trainer, knob, actionMask: buildActionMask(config) };
}
