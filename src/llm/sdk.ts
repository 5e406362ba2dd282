import { createRequire } from "node:module";
import type AnthropicClass from "@anthropic-ai/sdk";
import type OpenAIClass from "openai";

/**
 * The official LLM SDKs, loaded on first use: importing them costs a few hundred milliseconds of
 * start-up, which every `maestro` command would otherwise pay, LLM-backed or not.
 */
const requireCjs = createRequire(import.meta.url);

export function openAiSdk(): typeof OpenAIClass {
  return (requireCjs("openai") as { OpenAI: typeof OpenAIClass }).OpenAI;
}

export function anthropicSdk(): typeof AnthropicClass {
  return (requireCjs("@anthropic-ai/sdk") as { Anthropic: typeof AnthropicClass }).Anthropic;
}
