/**
 * The live path of a run trained on recorded answers: every `kind: recorded` agent becomes a `kind: llm`
 * agent asking the same model, at the same prices and with the same answer form, through an
 * OpenAI-compatible endpoint (the user's provider, or `maestro sim-server --replay` serving the table).
 * The tasks stay the recorded table, so items of the table are judged as in training
 * (src/agents/judged.ts) and the policy sees the same features and cost unit.
 */
import { pricingFor, type RecordedAgentDef } from "../agents/recorded.js";
import { InputError } from "../core/errors.js";
import type { extractModes } from "../agents/definition.js";
import { validateConfig } from "./load.js";
import { modelSettings } from "./models.js";
import type { Config } from "./schema.js";

export interface LiveOptions {
  /** OpenAI-compatible base URL, e.g. http://127.0.0.1:8787/v1 or https://api.openai.com/v1. */
  baseURL: string;
  /** Environment variable holding the endpoint's API key (none: no key, as for local servers). */
  apiKeyEnv?: string;
}

/** The system prompt of a live agent: the recorded answers were given to the bare prompt. */
export const livePrompt = "Answer the task. Think step by step if it helps.";

/** What a live agent is asked to end its reply with, so its answer form is the one its recorded answers had. */
export function liveInstruction(extract: { mode: (typeof extractModes)[number]; pattern?: string }): string {
  switch (extract.mode) {
    case "answer-line":
      return "End your reply with a line `ANSWER: <answer>`.";
    case "regex":
      return `End your reply with the final answer in the form the regular expression /${extract.pattern}/ matches.`;
    case "last-number":
      return "End your reply with the final answer as a number.";
    case "choice":
      return "End your reply with the letter (A–E) of the chosen option.";
    case "json-answer":
      return 'End your reply with a JSON object {"reasoning": "...", "answer": "..."} holding your final answer in `answer`.';
    case "none":
      return "Reply with your answer.";
  }
}

/** Checks a --live base URL: http(s), with a host. */
export function checkLiveUrl(baseURL: string): void {
  let u: URL;
  try {
    u = new URL(baseURL);
  } catch {
    throw new InputError(`--live ${baseURL}: not a URL (expected an OpenAI-compatible base URL such as http://127.0.0.1:8787/v1)`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    throw new InputError(`--live ${baseURL}: expected an http:// or https:// base URL`);
}

/**
 * The run's config with its recorded agents asking `live.baseURL`: one llm.models entry per agent (keyed
 * by the agent's name) sending the model column's name, with the prices that priced its recorded answers.
 * The agents see the task alone (no transcript), as the recorded calls did; the response cache is off
 * (its key has no base URL, so replies of two endpoints would mix). An agent whose recorded costs came
 * from the table or a fixed cost has no prices to put a live call at: an error naming it.
 */
export function liveConfig(c: Config, live: LiveOptions, runDir: string): Config {
  checkLiveUrl(live.baseURL);
  if (c.tasks.source !== "recorded" || !c.agents.some((a) => a.kind === "recorded")) {
    throw new InputError(
      `${runDir}: --live builds the kind: recorded agents of a run on recorded outputs as live agents; this run has none`,
      runDir,
      "agents",
    );
  }
  const settings = modelSettings(c);
  const models: Record<string, unknown> = { ...(c.llm?.models ?? {}) };
  const agents = c.agents.map((d) => {
    if (d.kind !== "recorded") return d;
    const r = d as RecordedAgentDef;
    const pricing = pricingFor(r.model, r.price, settings);
    if (!pricing) {
      throw new InputError(
        `${runDir}: --live: agent "${r.name}" (model "${r.model}") has no prices in llm.models (its recorded costs came from the table or a fixed cost), so a live call has no cost; add an llm.models entry with model: "${r.model}" and its prices to the run's config.yaml`,
        runDir,
        "llm.models",
      );
    }
    let key = r.name;
    for (let k = 2; key in models && key !== pricing.ref; k++) key = `${r.name}-${k}`;
    const { ref: _ref, maxRetryWaitMs: _wait, ...entry } = pricing;
    models[key] = {
      ...entry,
      provider: "openai",
      model: r.model,
      baseURL: live.baseURL,
      ...(live.apiKeyEnv !== undefined ? { apiKeyEnv: live.apiKeyEnv } : {}),
    };
    if (live.apiKeyEnv === undefined) delete (models[key] as { apiKeyEnv?: string }).apiKeyEnv;
    return {
      kind: "llm",
      name: r.name,
      model: key,
      prompt: livePrompt,
      transcript: { lastTurns: 0, maxTokens: 1500 },
      extract: r.extract,
      instruction: liveInstruction(r.extract),
      ...(d.description !== undefined ? { description: d.description } : {}),
    };
  });
  const llm = {
    ...(c.llm ?? {}),
    models,
    cache: { ...(c.llm?.cache ?? { dir: "runs/.llm-cache" }), mode: "off" },
  };
  return validateConfig({ ...c, agents, llm }, `${runDir}/config.yaml`, runDir);
}
