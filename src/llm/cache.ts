import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { ChatMessage, ProviderReply } from "./types.js";

export const cacheModes = ["read-write", "read-only", "off"] as const;
export type CacheMode = (typeof cacheModes)[number];

/** Everything a cached reply depends on (never the API key). */
export interface CacheKeyParts {
  kind: "chat" | "embedding";
  provider: string;
  baseURL?: string;
  model: string;
  messages?: readonly ChatMessage[];
  input?: string;
  params: Record<string, unknown>;
  sampleIndex?: number;
  step?: number;
}

export class CacheMissError extends Error {
  constructor(key: string) {
    super(`response cache miss in read-only mode (key ${key.slice(0, 12)}…)`);
    this.name = "CacheMissError";
  }
}

/** Stable JSON (sorted keys) so equal requests hash equally. */
function stable(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return "[" + v.map(stable).join(",") + "]";
  const o = v as Record<string, unknown>;
  return (
    "{" +
    Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => JSON.stringify(k) + ":" + stable(o[k]))
      .join(",") +
    "}"
  );
}

export function cacheKey(parts: CacheKeyParts): string {
  return createHash("sha256").update(stable(parts)).digest("hex");
}

/**
 * The on-disk response cache: one JSON file per request under `dir/<2 hex>/<sha256>.json`, written
 * atomically. `read-write` reads hits and stores misses; `read-only` replays (a miss is an error);
 * `off` neither reads nor writes.
 */
export class ResponseCache {
  constructor(
    readonly dir: string,
    readonly mode: CacheMode,
  ) {}

  private file(key: string): string {
    return path.join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  get<T = ProviderReply>(key: string): T | undefined {
    if (this.mode === "off") return undefined;
    try {
      return (JSON.parse(fs.readFileSync(this.file(key), "utf8")) as { value: T }).value;
    } catch {
      if (this.mode === "read-only") throw new CacheMissError(key);
      return undefined;
    }
  }

  set(key: string, value: unknown): void {
    if (this.mode !== "read-write") return;
    const file = this.file(key);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    fs.writeFileSync(tmp, JSON.stringify({ value }));
    fs.renameSync(tmp, file);
  }
}
