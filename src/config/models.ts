import type { ModelSettings } from "../llm/types.js";
import type { Config } from "./schema.js";

/** The resolved settings of every entry of `llm.models` (model fields over the llm defaults). */
export function modelSettings(c: Pick<Config, "llm">): Record<string, ModelSettings> {
  const l = c.llm;
  if (!l) return {};
  const out: Record<string, ModelSettings> = {};
  for (const [ref, m] of Object.entries(l.models)) {
    const baseURL = m.baseURL ?? l.baseURL;
    const apiKeyEnv = m.apiKeyEnv ?? l.apiKeyEnv;
    out[ref] = {
      ref,
      provider: m.provider ?? l.provider,
      model: m.model,
      ...(baseURL !== undefined ? { baseURL } : {}),
      ...(apiKeyEnv !== undefined ? { apiKeyEnv } : {}),
      temperature: m.temperature ?? l.temperature,
      maxTokens: m.maxTokens ?? l.maxTokens,
      timeoutMs: m.timeoutMs ?? l.timeoutMs,
      maxRetries: m.maxRetries ?? l.maxRetries,
      maxRetryWaitMs: l.maxRetryWaitMs,
      inputPricePerM: m.inputPricePerM,
      outputPricePerM: m.outputPricePerM,
      paramsB: m.paramsB,
    };
  }
  return out;
}
