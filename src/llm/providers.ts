import type Anthropic from "@anthropic-ai/sdk";
import type OpenAI from "openai";
import { boundedFetch } from "./fetch.js";
import { anthropicSdk, openAiSdk } from "./sdk.js";
import { InputError } from "../core/errors.js";
import type { ChatProvider, ChatRequest, ModelSettings, ProviderReply } from "./types.js";

/**
 * Reads the API key of a model from the environment variable it names. Keys never come from config
 * files and are never written anywhere. Loopback/local servers (sim-server, Ollama) need no key.
 */
export function apiKeyFor(
  m: Pick<ModelSettings, "ref" | "apiKeyEnv">,
  env: NodeJS.ProcessEnv = process.env,
  field = `llm.models.${m.ref}.apiKeyEnv`,
): string {
  if (m.apiKeyEnv === undefined) return "no-key";
  const v = env[m.apiKeyEnv];
  if (v === undefined || v === "") {
    throw new InputError(`${field}: environment variable ${m.apiKeyEnv} is not set (it must hold the API key)`, undefined, field);
  }
  return v;
}

/** Chat completions through the official `openai` SDK; any OpenAI-compatible server via `baseURL`. */
export class OpenAiProvider implements ChatProvider {
  private readonly client: OpenAI;

  constructor(
    readonly m: ModelSettings,
    /** Send the per-episode sample index as the request `seed` (OpenAI, Ollama, vLLM honour it). */
    private readonly sendSeed: boolean,
  ) {
    this.client = new (openAiSdk())({
      apiKey: apiKeyFor(m),
      ...(m.baseURL ? { baseURL: m.baseURL } : {}),
      // the SDK's `timeout` bounds each attempt including its body, and long Retry-After waits are capped (fetch.ts)
      timeout: m.timeoutMs,
      maxRetries: m.maxRetries,
      fetch: boundedFetch({ maxRetryWaitMs: m.maxRetryWaitMs }),
    });
  }

  async chat(req: ChatRequest, signal?: AbortSignal): Promise<ProviderReply> {
    const res = await this.client.chat.completions.create(
      {
        model: this.m.model,
        messages: req.messages,
        temperature: this.m.temperature,
        max_tokens: this.m.maxTokens,
        ...(this.sendSeed ? { seed: req.sampleIndex } : {}),
      },
      signal ? { signal } : undefined,
    );
    const choice = res.choices?.[0];
    const content = choice?.message?.content;
    if (typeof content !== "string") throw new Error("malformed response: no choices[0].message.content");
    return {
      content,
      usage: { inputTokens: res.usage?.prompt_tokens ?? 0, outputTokens: res.usage?.completion_tokens ?? 0 },
    };
  }
}

/** The Anthropic Messages API through `@anthropic-ai/sdk` (system prompt goes in `system`). */
export class AnthropicProvider implements ChatProvider {
  private readonly client: Anthropic;

  constructor(readonly m: ModelSettings) {
    this.client = new (anthropicSdk())({
      apiKey: apiKeyFor(m),
      ...(m.baseURL ? { baseURL: m.baseURL } : {}),
      // the SDK's `timeout` bounds each attempt including its body, and long Retry-After waits are capped (fetch.ts)
      timeout: m.timeoutMs,
      maxRetries: m.maxRetries,
      fetch: boundedFetch({ maxRetryWaitMs: m.maxRetryWaitMs }),
    });
  }

  async chat(req: ChatRequest, signal?: AbortSignal): Promise<ProviderReply> {
    const system = req.messages
      .filter((x) => x.role === "system")
      .map((x) => x.content)
      .join("\n\n");
    const messages = req.messages
      .filter((x) => x.role !== "system")
      .map((x) => ({ role: x.role as "user" | "assistant", content: x.content }));
    const res = await this.client.messages.create(
      {
        model: this.m.model,
        // the Messages API of @anthropic-ai/sdk v1 has no temperature parameter: it is not sent
        max_tokens: this.m.maxTokens,
        ...(system ? { system } : {}),
        messages,
      },
      signal ? { signal } : undefined,
    );
    if (!Array.isArray(res.content)) throw new Error("malformed response: no content blocks");
    const content = res.content.map((b) => (b.type === "text" ? b.text : "")).join("");
    return {
      content,
      usage: { inputTokens: res.usage?.input_tokens ?? 0, outputTokens: res.usage?.output_tokens ?? 0 },
    };
  }
}

export function makeProvider(m: ModelSettings, sendSeed: boolean): ChatProvider {
  return m.provider === "anthropic" ? new AnthropicProvider(m) : new OpenAiProvider(m, sendSeed);
}
