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
import { liveConfig, type LiveOptions } from "../config/live.js";
import { modelSettings } from "../config/models.js";
import { probeEndpoint } from "../llm/probe.js";
import { apiKeyFor } from "../llm/providers.js";

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

export interface LoadTrainedOptions {
  config?: Config;
  check?: (c: Config) => void;
  /** Run the recorded agents live against this OpenAI-compatible endpoint (src/config/live.ts). */
  live?: LiveOptions;
  /** Where non-fatal findings go (a live endpoint that does not list a model); default stderr. */
  onWarning?: (line: string) => void;
}

/**
 * The live twin of a recorded run's config, after a look at the endpoint: unreachable or refusing is an
 * error naming the base URL; a model it does not list is a warning (some providers list only some).
 */
async function goLive(config: Config, live: LiveOptions, runDir: string, warn: (line: string) => void): Promise<Config> {
  const c = liveConfig(config, live, runDir);
  const apiKey =
    live.apiKeyEnv !== undefined ? apiKeyFor({ ref: "live", apiKeyEnv: live.apiKeyEnv }, process.env, "--api-key-env") : undefined;
  const settings = modelSettings(c);
  const asked = [
    ...new Set(
      c.agents.flatMap((a) => (a.kind === "llm" && settings[a.model]?.baseURL === live.baseURL ? [settings[a.model]!.model] : [])),
    ),
  ];
  const { missing } = await probeEndpoint(live.baseURL, {
    models: asked,
    ...(apiKey !== undefined ? { apiKey } : {}),
    ...(live.apiKeyEnv !== undefined ? { apiKeyEnv: live.apiKeyEnv } : {}),
  });
  if (missing.length > 0) warn(`--live ${live.baseURL}: the endpoint does not list model(s) ${missing.join(", ")}; their calls may fail`);
  return c;
}

/**
 * Loads the last checkpoint of `runDir`. `config` replaces the run's config.yaml (e.g. with overrides
 * applied); `live` runs its recorded agents against an endpoint; `check` validates the config before
 * anything is built.
 */
export async function loadTrainedRun(runDir: string, o: LoadTrainedOptions = {}): Promise<TrainedRun> {
  let config = o.config ?? loadRunConfig(runDir);
  const ck = latestCheckpoint(runDir);
  if (!ck) throw new InputError(`${runDir}: the run has no checkpoint yet`, runDir);
  if (o.live) config = await goLive(config, o.live, runDir, o.onWarning ?? ((l) => process.stderr.write(`warning: ${l}\n`)));
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
