import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { InputError } from "../core/errors.js";
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
 * `off` neither reads nor writes. {@link check} tests the folder before a run starts; a store that
 * fails later (disk full, folder removed) never loses the reply: it is reported once and counted.
 */
export class ResponseCache {
  /** Stores that failed (the replies were used, not cached). */
  writeErrors = 0;

  constructor(
    readonly dir: string,
    readonly mode: CacheMode,
    /** Where the one warning about failed stores goes (default: stderr). */
    private readonly warn: (line: string) => void = (l) => console.error(l),
    /** The config field naming `dir`, for messages. */
    readonly field = "llm.cache.dir",
  ) {}

  private file(key: string): string {
    return path.join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  /**
   * Up-front check (before a run writes anything): in read-write mode the folder must be creatable
   * and writable; in read-only mode it must be a folder. Throws an {@link InputError} naming the field.
   */
  check(): void {
    if (this.mode === "off") return;
    try {
      if (this.mode === "read-only") {
        if (!fs.statSync(this.dir).isDirectory()) throw Object.assign(new Error("not a folder"), { code: "ENOTDIR" });
        return;
      }
      fs.mkdirSync(this.dir, { recursive: true });
      const probe = path.join(this.dir, `.probe-${process.pid}-${Math.random().toString(36).slice(2)}`);
      fs.writeFileSync(probe, "probe");
      fs.rmSync(probe, { force: true });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const why = err.code === "ENOTDIR" || err.code === "EEXIST" ? "a file is in the way (expected a folder)" : (err.code ?? err.message);
      throw new InputError(
        `${this.field}: ${this.dir}: cannot ${this.mode === "read-only" ? "read" : "write"} the LLM response cache there (${why}); ` +
          `point ${this.field} at a writable folder or set llm.cache.mode: off`,
        undefined,
        this.field,
      );
    }
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

  /** Stores a reply; false (and one warning per cache) when the store failed. Never throws. */
  set(key: string, value: unknown): boolean {
    if (this.mode !== "read-write") return true;
    const file = this.file(key);
    const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(tmp, JSON.stringify({ value }));
      fs.renameSync(tmp, file);
      return true;
    } catch (e) {
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        // nothing more to do
      }
      if (this.writeErrors++ === 0) {
        const err = e as NodeJS.ErrnoException;
        this.warn(
          `warning: ${this.field} ${this.dir}: cannot store an LLM reply in the response cache (${err.code ?? ""}${err.code ? ": " : ""}${err.message}); ` +
            `replies are used but not cached from here on (this warning is shown once)`,
        );
      }
      return false;
    }
  }
}
