/**
 * Per-key budgets and limits of `maestro serve`: spend per budget period, requests per 60 s window
 * (sliding), requests at the same time. Two stores with one interface:
 *  - {@link LocalLimitStore}: in memory, spend persisted to a usage file next to the keys file (so it
 *    survives a restart); the file is locked, so a second server on the same file is refused;
 *  - {@link RedisLimitStore}: everything in Redis, shared by any number of replicas behind a load
 *    balancer. Admission is one Lua script (atomic across replicas, on Redis's clock).
 * Both fail closed: a store that cannot answer makes the request fail (503), never pass unchecked.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Redis } from "ioredis";
import lockfile from "proper-lockfile";
import { z } from "zod";
import { InputError } from "../core/errors.js";
import { writeFileAtomic } from "../policy/io.js";
import type { BudgetPeriod, Caller } from "./keys.js";

/** Label of the budget period `date` falls in (UTC): 2025-06-03, week-2025-06-02 (its Monday), 2025-06, total. */
export function periodLabel(period: BudgetPeriod, date: Date = new Date()): string {
  const iso = date.toISOString();
  switch (period) {
    case "day":
      return iso.slice(0, 10);
    case "month":
      return iso.slice(0, 7);
    case "week": {
      const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
      d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
      return `week-${d.toISOString().slice(0, 10)}`;
    }
    case "total":
      return "total";
  }
}

/** When the budget period `date` falls in ends (undefined for `total`). */
export function periodEnd(period: BudgetPeriod, date: Date = new Date()): Date | undefined {
  const y = date.getUTCFullYear();
  const m = date.getUTCMonth();
  const d = date.getUTCDate();
  switch (period) {
    case "day":
      return new Date(Date.UTC(y, m, d + 1));
    case "week":
      return new Date(Date.UTC(y, m, d + 7 - ((date.getUTCDay() + 6) % 7)));
    case "month":
      return new Date(Date.UTC(y, m + 1, 1));
    case "total":
      return undefined;
  }
}

const periodWords: Record<BudgetPeriod, string> = {
  day: "today (UTC)",
  week: "this week (UTC)",
  month: "this month (UTC)",
  total: "in total",
};

export type Admission =
  | { ok: true; spent: number; release(): Promise<void> }
  | { ok: false; reason: "budget" | "rate" | "concurrency"; message: string; spent: number; retryAfterS?: number };

export interface LimitStore {
  readonly kind: "local" | "redis";
  /** Checks budget, concurrency and rate in that order; on success takes a concurrency slot and counts the request. */
  admit(c: Caller, now?: Date): Promise<Admission>;
  /** Adds spend to the caller's current period; returns the period's spend after it. */
  addSpend(c: Caller, amount: number, now?: Date): Promise<number>;
  /** Current-period spend of each caller. */
  spent(callers: readonly Caller[], now?: Date): Promise<Record<string, number>>;
  close(): Promise<void>;
}

const RATE_WINDOW_MS = 60_000;

function refusal(c: Caller, reason: "budget" | "rate" | "concurrency", spent: number, now: Date, waitMs = 0): Admission {
  if (reason === "budget") {
    const end = periodEnd(c.period, now);
    return {
      ok: false,
      reason,
      spent,
      message: `key "${c.id}": budget exhausted: spent ${fmtSpend(spent)} of ${c.budget} ${periodWords[c.period]}${end ? `; it resets at ${end.toISOString()}` : ""}`,
      ...(end ? { retryAfterS: Math.max(1, Math.ceil((end.getTime() - now.getTime()) / 1000)) } : {}),
    };
  }
  if (reason === "rate") {
    const s = Math.max(1, Math.ceil(waitMs / 1000));
    return {
      ok: false,
      reason,
      spent,
      retryAfterS: s,
      message: `key "${c.id}": rate limit of ${c.rpm} requests per minute reached; retry after ${s} s`,
    };
  }
  return {
    ok: false,
    reason,
    spent,
    message: `key "${c.id}": ${c.concurrency} request(s) of this key are being answered already (its concurrency limit); retry when one is done`,
  };
}

const fmtSpend = (x: number) =>
  x === 0 ? "0" : Math.abs(x) < 0.01 ? x.toPrecision(3) : x.toFixed(4).replace(/0+$/, "").replace(/\.$/, "");

// ---------------------------------------------------------------- local

const usageSchema = z
  .object({
    version: z.literal(1),
    spend: z.record(z.string(), z.object({ period: z.string(), amount: z.number().nonnegative() }).strict()),
  })
  .strict();

/** The usage file kept next to a keys file: keys.json → keys.usage.json. */
export function usageFileOf(keysFile: string): string {
  const dir = path.dirname(keysFile);
  const base = path.basename(keysFile).replace(/\.json$/i, "");
  return path.join(dir, `${base}.usage.json`);
}

/** Reads a usage file's spend per id (current entries only for `now`); {} when there is none. */
export function readUsage(file: string): Record<string, { period: string; amount: number }> {
  if (!fs.existsSync(file)) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new InputError(
      `${file}: the usage file is not valid JSON (${(e as Error).message}); it holds the keys' spend, restore it or delete it to start from 0`,
      file,
    );
  }
  const p = usageSchema.safeParse(raw);
  if (!p.success)
    throw new InputError(
      `${file}: not a maestro usage file (${p.error.issues[0]?.message ?? "bad format"} at ${p.error.issues[0]?.path.join(".")})`,
      file,
    );
  return p.data.spend;
}

/**
 * One server's store. Spend is written to `usageFile` (atomically, at most every 200 ms and on close):
 * a restart continues from it; a crash loses at most the last 200 ms of spend.
 */
export class LocalLimitStore implements LimitStore {
  readonly kind = "local";
  private readonly spend: Record<string, { period: string; amount: number }>;
  private readonly starts = new Map<string, number[]>();
  private readonly running = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;

  private constructor(
    private readonly usageFile: string | undefined,
    private readonly unlock: (() => Promise<void>) | undefined,
  ) {
    this.spend = usageFile ? readUsage(usageFile) : {};
  }

  /** A store in memory only (spend is lost on restart): for a server whose keys carry no budget. */
  static memory(): LocalLimitStore {
    return new LocalLimitStore(undefined, undefined);
  }

  static async open(usageFile: string | undefined): Promise<LocalLimitStore> {
    let unlock: (() => Promise<void>) | undefined;
    if (usageFile) {
      fs.mkdirSync(path.dirname(path.resolve(usageFile)), { recursive: true });
      try {
        unlock = await lockfile.lock(usageFile, { realpath: false, stale: 10_000, update: 2_000 });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ELOCKED") {
          throw new InputError(
            `${usageFile}: another maestro serve is using these keys' spend; several replicas must share it through Redis (--redis redis://host:port)`,
            usageFile,
          );
        }
        throw e;
      }
    }
    return new LocalLimitStore(usageFile, unlock);
  }

  private current(c: Caller, now: Date): number {
    const e = this.spend[c.id];
    return e && e.period === periodLabel(c.period, now) ? e.amount : 0;
  }

  async admit(c: Caller, now = new Date()): Promise<Admission> {
    const spent = this.current(c, now);
    if (c.budget !== null && spent >= c.budget) return refusal(c, "budget", spent, now);
    const running = this.running.get(c.id) ?? 0;
    if (c.concurrency !== null && running >= c.concurrency) return refusal(c, "concurrency", spent, now);
    const t = now.getTime();
    if (c.rpm !== null) {
      const starts = (this.starts.get(c.id) ?? []).filter((s) => s > t - RATE_WINDOW_MS);
      this.starts.set(c.id, starts);
      if (starts.length >= c.rpm) return refusal(c, "rate", spent, now, starts[0]! + RATE_WINDOW_MS - t);
      starts.push(t);
    }
    this.running.set(c.id, running + 1);
    let released = false;
    return {
      ok: true,
      spent,
      release: async () => {
        if (released) return;
        released = true;
        this.running.set(c.id, (this.running.get(c.id) ?? 1) - 1);
      },
    };
  }

  async addSpend(c: Caller, amount: number, now = new Date()): Promise<number> {
    const label = periodLabel(c.period, now);
    const total = this.current(c, now) + amount;
    this.spend[c.id] = { period: label, amount: total };
    if (this.usageFile && amount !== 0) {
      this.dirty = true;
      this.timer ??= setTimeout(() => this.flush(), 200);
    }
    return total;
  }

  async spent(callers: readonly Caller[], now = new Date()): Promise<Record<string, number>> {
    return Object.fromEntries(callers.map((c) => [c.id, this.current(c, now)]));
  }

  private flush(): void {
    this.timer = undefined;
    if (!this.dirty || !this.usageFile) return;
    this.dirty = false;
    writeFileAtomic(this.usageFile, JSON.stringify({ version: 1, spend: this.spend }, null, 2) + "\n");
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.flush();
    await this.unlock?.().catch(() => undefined);
  }
}

// ---------------------------------------------------------------- redis

/**
 * KEYS: spend, rate window (zset of request start times), leases (zset of expiry times).
 * ARGV: budget (-1 = none), rpm (-1), concurrency (-1), lease id, lease ttl ms, window ms.
 * Returns {verdict, spent, wait ms}. Times come from Redis (one clock for all replicas).
 */
const ADMIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local budget = tonumber(ARGV[1])
local rpm = tonumber(ARGV[2])
local conc = tonumber(ARGV[3])
local ttl = tonumber(ARGV[5])
local window = tonumber(ARGV[6])
local spent = redis.call('GET', KEYS[1]) or '0'
if budget >= 0 and tonumber(spent) >= budget then return {'budget', spent, 0} end
if conc > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  if redis.call('ZCARD', KEYS[3]) >= conc then return {'concurrency', spent, 0} end
end
if rpm > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  if redis.call('ZCARD', KEYS[2]) >= rpm then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return {'rate', spent, tonumber(oldest[2]) + window - now}
  end
  redis.call('ZADD', KEYS[2], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[2], window)
end
if conc > 0 then
  redis.call('ZADD', KEYS[3], now + ttl, ARGV[4])
  redis.call('PEXPIRE', KEYS[3], ttl * 2)
end
return {'ok', spent, 0}
`;

/** KEYS: leases. ARGV: lease id, ttl ms. Pushes a held lease's expiry forward. */
const REFRESH = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
end
return 1
`;

type AdmitRedis = Redis & {
  maestroAdmit(spend: string, rate: string, leases: string, ...argv: Array<string | number>): Promise<[string, string, number]>;
  maestroRefresh(leases: string, id: string, ttl: number): Promise<number>;
};

/** redis://[user:password@]host:port[/db] (rediss:// for TLS), checked. */
export function checkRedisUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InputError(`--redis ${url}: expected redis://host:port`);
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:")
    throw new InputError(`--redis ${url}: expected redis://host:port (or rediss:// for TLS)`);
  return url;
}

/**
 * Spend, rate windows and concurrency leases in Redis under `prefix` (default `maestro:serve:`). A
 * lease (a request being answered) expires after 60 s unless renewed every 20 s by its server: a
 * replica that dies does not hold its keys' slots for ever.
 */
export class RedisLimitStore implements LimitStore {
  readonly kind = "redis";
  private readonly redis: AdmitRedis;
  private readonly leaseTtlMs = 60_000;

  private constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    this.redis = redis as AdmitRedis;
    this.redis.defineCommand("maestroAdmit", { numberOfKeys: 3, lua: ADMIT });
    this.redis.defineCommand("maestroRefresh", { numberOfKeys: 1, lua: REFRESH });
  }

  /** Connects (failing within `timeoutMs` when Redis does not answer). */
  static async open(url: string, o: { prefix?: string; timeoutMs?: number } = {}): Promise<RedisLimitStore> {
    checkRedisUrl(url);
    const redis = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      connectTimeout: o.timeoutMs ?? 5000,
      enableOfflineQueue: true,
    });
    // reconnection errors surface as failed commands (503s); without a listener ioredis would print each one
    redis.on("error", () => undefined);
    try {
      await redis.connect();
      await redis.ping();
    } catch (e) {
      redis.disconnect();
      throw new InputError(`--redis ${url.replace(/\/\/[^@/]*@/, "//***@")}: cannot connect (${(e as Error).message})`);
    }
    return new RedisLimitStore(redis, o.prefix ?? "maestro:serve:");
  }

  private k(c: Caller, what: string, now?: Date): string {
    // {id} is a hash tag: a key's three entries live on one Redis Cluster slot, as the script needs
    return `${this.prefix}{${c.id}}:${what}${now ? `:${periodLabel(c.period, now)}` : ""}`;
  }

  async admit(c: Caller, now = new Date()): Promise<Admission> {
    const lease = randomUUID();
    const [verdict, spentText, wait] = await this.redis.maestroAdmit(
      this.k(c, "spend", now),
      this.k(c, "rate"),
      this.k(c, "leases"),
      c.budget ?? -1,
      c.rpm ?? -1,
      c.concurrency ?? -1,
      lease,
      this.leaseTtlMs,
      RATE_WINDOW_MS,
    );
    const spent = Number(spentText);
    if (verdict !== "ok") return refusal(c, verdict as "budget" | "rate" | "concurrency", spent, now, wait);
    if (c.concurrency === null) return { ok: true, spent, release: async () => undefined };
    const leases = this.k(c, "leases");
    const renew = setInterval(
      () => void this.redis.maestroRefresh(leases, lease, this.leaseTtlMs).catch(() => undefined),
      this.leaseTtlMs / 3,
    );
    renew.unref();
    let released = false;
    return {
      ok: true,
      spent,
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(renew);
        await this.redis.zrem(leases, lease).catch(() => undefined);
      },
    };
  }

  async addSpend(c: Caller, amount: number, now = new Date()): Promise<number> {
    const key = this.k(c, "spend", now);
    const total = Number(await this.redis.incrbyfloat(key, amount));
    // a day/week/month period's spend is written only during that period: Redis drops it 40 days later
    if (c.period !== "total") await this.redis.expire(key, 40 * 86400);
    return total;
  }

  async spent(callers: readonly Caller[], now = new Date()): Promise<Record<string, number>> {
    if (callers.length === 0) return {};
    const vals = await this.redis.mget(...callers.map((c) => this.k(c, "spend", now)));
    return Object.fromEntries(callers.map((c, i) => [c.id, Number(vals[i] ?? 0)]));
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
