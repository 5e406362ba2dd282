import type OpenAI from "openai";
import { boundedFetch } from "./fetch.js";
import { openAiSdk } from "./sdk.js";
import { cacheKey, type ResponseCache } from "./cache.js";
import { describeError } from "./client.js";
import type { Limiter } from "./limiter.js";

export interface EmbedderOptions {
  model: string;
  baseURL?: string;
  /** API key value (read from the environment by the caller; never stored). */
  apiKey: string;
  dimensions: number;
  timeoutMs: number;
  maxRetries: number;
  /** Longest Retry-After wait honoured (see fetch.ts). */
  maxRetryWaitMs: number;
  cache: ResponseCache;
  limiter: Limiter;
  /** The run's LLM counters: embedding requests and failures are counted there too. */
  stats?: { requests: number; errors: number };
}

/**
 * Text embeddings from an OpenAI-compatible `/v1/embeddings` endpoint (official `openai` SDK), cached
 * in memory and in the run's on-disk response cache. A failed request leaves its texts without an
 * embedding (the encoder writes zeros) and is counted in `errors`; the run goes on.
 */
export class Embedder {
  private readonly client: OpenAI;
  private readonly memo = new Map<string, Float32Array>();
  requests = 0;
  errors = 0;
  lastError: string | undefined;

  constructor(readonly o: EmbedderOptions) {
    this.client = new (openAiSdk())({
      apiKey: o.apiKey,
      ...(o.baseURL ? { baseURL: o.baseURL } : {}),
      timeout: o.timeoutMs,
      maxRetries: o.maxRetries,
      fetch: boundedFetch({ maxRetryWaitMs: o.maxRetryWaitMs }),
    });
  }

  get(text: string): Float32Array | undefined {
    return this.memo.get(text);
  }

  private key(text: string): string {
    return cacheKey({ kind: "embedding", provider: "openai", model: this.o.model, input: text, params: { dimensions: this.o.dimensions } });
  }

  /** Makes sure every text has an embedding (one batched request for the misses). */
  async prepare(texts: Iterable<string>): Promise<void> {
    const missing: string[] = [];
    for (const t of new Set(texts)) {
      if (this.memo.has(t)) continue;
      const hit = this.o.cache.get<number[]>(this.key(t));
      if (hit) this.memo.set(t, Float32Array.from(hit));
      else missing.push(t);
    }
    if (missing.length === 0) return;
    try {
      const res = await this.o.limiter.run(() => {
        this.requests++;
        if (this.o.stats) this.o.stats.requests++;
        return this.client.embeddings.create({
          model: this.o.model,
          input: missing,
          dimensions: this.o.dimensions,
          // floats, not the SDK's default base64: every OpenAI-compatible server speaks this
          encoding_format: "float",
        });
      });
      if (!Array.isArray(res.data) || res.data.length !== missing.length) throw new Error("malformed embeddings response (data length)");
      for (const d of res.data) {
        const text = missing[d.index];
        if (text === undefined || !Array.isArray(d.embedding) || d.embedding.length !== this.o.dimensions) {
          throw new Error(`malformed embeddings response (expected ${this.o.dimensions} dimensions per embedding)`);
        }
        this.memo.set(text, Float32Array.from(d.embedding));
        this.o.cache.set(this.key(text), d.embedding);
      }
    } catch (e) {
      this.errors++;
      if (this.o.stats) this.o.stats.errors++;
      this.lastError = describeError(e);
    }
  }
}
