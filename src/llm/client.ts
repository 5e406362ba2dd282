import { CacheMissError, cacheKey, ResponseCache, type CacheMode } from "./cache.js";
import { usageCost, type CostSettings } from "./cost.js";
import { Limiter } from "./limiter.js";
import { makeProvider } from "./providers.js";
import type { ChatMessage, ChatProvider, ChatResult, ModelSettings, ProviderReply } from "./types.js";

export interface LlmClientOptions {
  models: Record<string, ModelSettings>;
  maxConcurrency: number;
  requestsPerMinute?: number;
  cost: CostSettings;
  cache: { mode: CacheMode; dir: string };
  /** Send the sample index as the request `seed` (OpenAI-compatible providers). */
  sendSeed: boolean;
  /** Where one-off warnings go (a failing response cache); default stderr. */
  onWarning?: (line: string) => void;
  /** Test hook: replaces the SDK provider of a model. */
  providerFactory?: (m: ModelSettings) => ChatProvider;
}

/** Counters of a run's LLM traffic (cumulative; the trainer loop logs per-update deltas). */
export interface LlmStats {
  /** Calls answered (provider or cache). */
  calls: number;
  /** Calls that reached the provider (cache misses). */
  requests: number;
  /** Calls that failed after the SDK's retries (error turns). */
  errors: number;
  cacheHits: number;
  /** Cost the cache hits would have incurred at the provider. */
  savedCost: number;
  /** Cost of the calls made. */
  cost: number;
  /** Tokens of all answered calls (cache hits included). */
  inputTokens: number;
  outputTokens: number;
}

export const emptyStats = (): LlmStats => ({
  calls: 0,
  requests: 0,
  errors: 0,
  cacheHits: 0,
  savedCost: 0,
  cost: 0,
  inputTokens: 0,
  outputTokens: 0,
});

/**
 * The one LLM gateway of a run, shared by all its LLM agents: model table, SDK providers, the
 * concurrency / requests-per-minute limiter, the response cache and the cost rule. `chat` never
 * throws for a provider fault: a failed call comes back with `error` set (an error turn).
 */
export class LlmClient {
  readonly limiter: Limiter;
  readonly cache: ResponseCache;
  readonly stats: LlmStats = emptyStats();
  /** The description of the most recent failed call (for messages). */
  lastError: string | undefined;
  private readonly providers = new Map<string, ChatProvider>();

  constructor(readonly o: LlmClientOptions) {
    this.limiter = new Limiter(o.maxConcurrency, o.requestsPerMinute);
    this.cache = new ResponseCache(o.cache.dir, o.cache.mode, o.onWarning);
  }

  model(ref: string): ModelSettings {
    const m = this.o.models[ref];
    if (!m) throw new Error(`llm: unknown model "${ref}" (llm.models has: ${Object.keys(this.o.models).join(", ")})`);
    return m;
  }

  /** The API base URLs of the models, for messages about an unreachable server. */
  endpoints(): string[] {
    return [...new Set(Object.values(this.o.models).map(endpointOf))];
  }

  /** Creates every model's SDK client now, so a missing API key variable fails before a run starts. */
  checkModels(refs: Iterable<string>): void {
    for (const r of refs) this.provider(this.model(r));
  }

  private provider(m: ModelSettings): ChatProvider {
    let p = this.providers.get(m.ref);
    if (!p) {
      p = this.o.providerFactory ? this.o.providerFactory(m) : makeProvider(m, this.o.sendSeed);
      this.providers.set(m.ref, p);
    }
    return p;
  }

  /**
   * One chat call. An aborted `signal` (the episode was cancelled: its client went away) cancels the
   * call, waiting or sent, and rejects with the signal's reason instead of making an error turn.
   */
  async chat(ref: string, messages: ChatMessage[], sampleIndex: number, step: number, signal?: AbortSignal): Promise<ChatResult> {
    signal?.throwIfAborted();
    const m = this.model(ref);
    const key = cacheKey({
      kind: "chat",
      provider: m.provider,
      model: m.model,
      messages,
      params: { temperature: m.temperature, maxTokens: m.maxTokens, seed: this.o.sendSeed && m.provider === "openai" },
      sampleIndex,
      step,
    });
    const s = this.stats;
    s.calls++;
    let hit: ProviderReply | undefined;
    try {
      hit = this.cache.get<ProviderReply>(key);
    } catch (e) {
      if (e instanceof CacheMissError) throw new CacheMissError(`${key} (model ${m.ref}, episode ${sampleIndex}, step ${step})`);
      throw e;
    }
    if (hit) {
      const nominal = usageCost(hit.usage, m, this.o.cost, step);
      s.cacheHits++;
      s.savedCost += nominal;
      // tokens are a property of the trajectory: counted for hits too, so replayed runs log the same
      s.inputTokens += hit.usage.inputTokens;
      s.outputTokens += hit.usage.outputTokens;
      return { content: hit.content, usage: hit.usage, cost: 0, nominalCost: nominal, cached: true, model: m.model, latencyMs: 0 };
    }
    const t0 = performance.now();
    const p = this.provider(m);
    let reply: ProviderReply;
    try {
      reply = await this.limiter.run(() => {
        s.requests++;
        return p.chat({ messages, sampleIndex, step }, signal);
      }, signal);
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      s.errors++;
      const error = describeError(e, [m.apiKeyEnv !== undefined ? process.env[m.apiKeyEnv] : undefined]);
      this.lastError = `model ${m.ref} at ${endpointOf(m)}: ${error}`;
      return {
        content: "",
        usage: { inputTokens: 0, outputTokens: 0 },
        cost: 0,
        nominalCost: 0,
        cached: false,
        error,
        model: m.model,
        latencyMs: performance.now() - t0,
      };
    }
    const cost = usageCost(reply.usage, m, this.o.cost, step);
    s.cost += cost;
    s.inputTokens += reply.usage.inputTokens;
    s.outputTokens += reply.usage.outputTokens;
    // a paid reply is used even when it cannot be cached (the cache warns once and counts)
    this.cache.set(key, reply);
    return { ...reply, cost, nominalCost: cost, cached: false, model: m.model, latencyMs: performance.now() - t0 };
  }
}

/** One-line description of a provider error (status and message; never headers, which may hold keys). */
/** Where a model's requests go: its base URL, or the provider's default. */
function endpointOf(m: ModelSettings): string {
  return m.baseURL ?? `the ${m.provider} API's default URL`;
}

export function describeError(e: unknown, secrets: ReadonlyArray<string | undefined> = []): string {
  let text = String(e);
  if (e && typeof e === "object") {
    const o = e as { status?: unknown; name?: unknown; message?: unknown };
    const status = typeof o.status === "number" ? `${o.status} ` : "";
    const name = typeof o.name === "string" ? o.name : "Error";
    const msg = typeof o.message === "string" ? o.message.split("\n")[0]!.slice(0, 300) : String(e);
    text = `${status}${name}: ${msg}`;
  }
  // the message goes into episodes.jsonl: a server that echoes the request's key must not leak it there
  for (const secret of secrets) if (secret && secret.length >= 4) text = text.split(secret).join("[redacted]");
  return text;
}
