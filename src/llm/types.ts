/**
 * Shared types of the LLM layer: chat messages, per-model settings, and what one call returns.
 * This folder knows nothing about agents' roles; agents build messages and read the text back.
 */

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export type ProviderName = "openai" | "anthropic";

/** Resolved settings of one model entry of `llm.models` (defaults already applied). */
export interface ModelSettings {
  /** Key of the entry in `llm.models` (what agents reference). */
  ref: string;
  provider: ProviderName;
  /** Model name sent to the provider. */
  model: string;
  baseURL?: string;
  /** Name of the environment variable holding the API key (never the key itself). */
  apiKeyEnv?: string;
  temperature: number;
  maxTokens: number;
  /** Bound of one attempt, response body included. */
  timeoutMs: number;
  maxRetries: number;
  /** Longest Retry-After wait honoured; a longer one fails the call at once (an error turn). */
  maxRetryWaitMs: number;
  /** Price per million input tokens (currency units). */
  inputPricePerM: number;
  /** Price per million output tokens (currency units). */
  outputPricePerM: number;
  /** Model size in billions of parameters (compute-proxy cost). */
  paramsB: number;
}

/** One chat request as the cache and the providers see it. */
export interface ChatRequest {
  messages: ChatMessage[];
  /** Per-episode sample index (part of the cache key; sent as `seed` where the API has one). */
  sampleIndex: number;
  /** Index of the step within the episode (part of the cache key). */
  step: number;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

/** What a provider returns for a successful call. */
export interface ProviderReply {
  content: string;
  usage: TokenUsage;
}

/** What the LLM client returns for every call, successful or not (it never throws for provider faults). */
export interface ChatResult {
  content: string;
  usage: TokenUsage;
  /** Cost of this call under the configured cost mode (0 for a cache hit or a failed call). */
  cost: number;
  /** The reply came from the response cache (no provider call). */
  cached: boolean;
  /** What the call would have cost at the provider (= cost on a miss; the saved cost on a hit). */
  nominalCost: number;
  /** Set when the call failed after the SDK's retries. */
  error?: string;
  model: string;
  latencyMs: number;
}

/** A chat provider: one SDK client per model entry. Throws on failure (after the SDK's retries). */
export interface ChatProvider {
  chat(req: ChatRequest, signal?: AbortSignal): Promise<ProviderReply>;
}
