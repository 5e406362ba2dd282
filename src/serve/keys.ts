/**
 * API keys of `maestro serve`: the keys file (`maestro keys create|list|revoke`), hashing and lookup.
 *
 * A key is `mk-` + 32 random base64url characters (192 bits). The file stores only its SHA-256 and its
 * last four characters (to tell keys apart in `keys list`), never the key: the key is printed once, by
 * `keys create`. A fast unsalted hash is the right tool for random keys of this length (as for GitHub
 * tokens or LiteLLM's virtual keys): a slow password hash defends low-entropy secrets against
 * guessing, and 192 random bits cannot be guessed; lookups are then one map access per request.
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { InputError, zodToInputError } from "../core/errors.js";
import { decodeUtf8 } from "../core/text.js";
import { writeFileAtomic } from "../policy/io.js";

export const budgetPeriods = ["day", "week", "month", "total"] as const;
export type BudgetPeriod = (typeof budgetPeriods)[number];

const keyId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "expected 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");

export const keyRecordSchema = z
  .object({
    id: keyId.describe("The operator's name for the key: shown in /metrics, logs and `keys list` (never the key itself)."),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, "expected 64 lowercase hex digits")
      .describe("SHA-256 of the key (hex)."),
    last4: z.string().length(4).describe("The key's last four characters, to tell keys apart."),
    created: z.string().describe("When the key was created (ISO 8601)."),
    revoked: z.string().nullable().default(null).describe("When the key was revoked (ISO 8601), null while it is valid."),
    budget: z
      .number()
      .positive()
      .nullable()
      .default(null)
      .describe("Spend allowed per period, in the run's cost units ($ for LLM runs with prices); null = no budget."),
    period: z
      .enum(budgetPeriods)
      .default("month")
      .describe("Budget period (UTC calendar day, ISO week from Monday, calendar month) or total (never resets)."),
    rpm: z.number().int().positive().nullable().default(null).describe("Requests allowed in any 60 s window; null = no limit."),
    concurrency: z
      .number()
      .int()
      .positive()
      .nullable()
      .default(null)
      .describe("Requests of this key answered at the same time; null = no limit."),
  })
  .strict();
export type KeyRecord = z.infer<typeof keyRecordSchema>;

export const keysFileSchema = z
  .object({
    version: z.literal(1).describe("Format version of the keys file."),
    keys: z.array(keyRecordSchema).describe("One entry per key."),
  })
  .strict()
  .superRefine((f, ctx) => {
    const seen = new Set<string>();
    f.keys.forEach((k, i) => {
      if (seen.has(k.id))
        ctx.addIssue({ code: "custom", path: ["keys", i, "id"], message: `duplicate id "${k.id}" (ids are never reused)` });
      seen.add(k.id);
    });
  });
export type KeysFile = z.infer<typeof keysFileSchema>;

export const hashKey = (key: string): string => createHash("sha256").update(key, "utf8").digest("hex");

/** A new random key. */
export const newKey = (): string => `mk-${randomBytes(24).toString("base64url")}`;

/** Reads and checks a keys file; a missing file is an empty one when `missingOk`. */
export function readKeysFile(file: string, o: { missingOk?: boolean } = {}): KeysFile {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && o.missingOk) return { version: 1, keys: [] };
    throw new InputError(
      `${file}: cannot read the keys file (${code ?? String(e)})${code === "ENOENT" ? "; create keys with: npx maestro keys create --file " + file + " --id <name>" : ""}`,
      file,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(decodeUtf8(bytes, file));
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`${file}: not valid JSON (${(e as Error).message})`, file);
  }
  const parsed = keysFileSchema.safeParse(raw);
  if (!parsed.success) throw zodToInputError(file, parsed.error, { schema: keysFileSchema, raw });
  return parsed.data;
}

function writeKeysFile(file: string, f: KeysFile): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileAtomic(file, JSON.stringify(f, null, 2) + "\n");
  // the hashes are not secrets, but nobody else needs to read the file
  fs.chmodSync(file, 0o600);
}

export interface CreateKeyOptions {
  id: string;
  budget?: number | null;
  period?: BudgetPeriod;
  rpm?: number | null;
  concurrency?: number | null;
}

/** Adds a key to the file (created if missing) and returns it: the only time the key is seen. */
export function createKey(file: string, o: CreateKeyOptions, now = new Date()): { key: string; record: KeyRecord } {
  const f = readKeysFile(file, { missingOk: true });
  const key = newKey();
  const candidate = {
    id: o.id,
    sha256: hashKey(key),
    last4: key.slice(-4),
    created: now.toISOString(),
    revoked: null,
    budget: o.budget ?? null,
    period: o.period ?? "month",
    rpm: o.rpm ?? null,
    concurrency: o.concurrency ?? null,
  };
  const parsed = keyRecordSchema.safeParse(candidate);
  if (!parsed.success) {
    const iss = parsed.error.issues[0]!;
    throw new InputError(
      `--${String(iss.path[0])} ${JSON.stringify((candidate as Record<string, unknown>)[String(iss.path[0])])}: ${iss.message}`,
      file,
      String(iss.path[0]),
    );
  }
  if (f.keys.some((k) => k.id === o.id)) {
    throw new InputError(
      `${file}: a key with id "${o.id}" exists already${f.keys.find((k) => k.id === o.id)!.revoked ? " (revoked; ids are never reused, so its spend stays its own)" : ""}; choose another id`,
      file,
      "id",
    );
  }
  f.keys.push(parsed.data);
  writeKeysFile(file, f);
  return { key, record: parsed.data };
}

/** Marks a key revoked (a running server sees it within a second). */
export function revokeKey(file: string, id: string, now = new Date()): KeyRecord {
  const f = readKeysFile(file);
  const k = f.keys.find((x) => x.id === id);
  if (!k) throw new InputError(`${file}: no key with id "${id}" (ids: ${f.keys.map((x) => x.id).join(", ") || "none"})`, file, "id");
  if (k.revoked) throw new InputError(`${file}: key "${id}" was revoked already (${k.revoked})`, file, "id");
  k.revoked = now.toISOString();
  writeKeysFile(file, f);
  return k;
}

/** One authenticated caller. */
export interface Caller {
  id: string;
  budget: number | null;
  period: BudgetPeriod;
  rpm: number | null;
  concurrency: number | null;
}

export type AuthResult = { ok: true; caller: Caller } | { ok: false; reason: "missing" | "invalid" | "revoked"; id?: string };

/**
 * The keys a server accepts: the keys file (re-read when it changes, checked at most once a second,
 * so `keys revoke` and `keys create` reach a running server) and an optional single key from an
 * environment variable (no limits; id = the variable's name).
 */
export class KeyRing {
  private byHash = new Map<string, KeyRecord>();
  private stamp = "";
  private checkedAt = 0;
  private readonly envHash: string | undefined;

  constructor(
    readonly file: string | undefined,
    readonly env?: { name: string; value: string },
  ) {
    this.envHash = env ? hashKey(env.value) : undefined;
    if (file) this.reload(true);
  }

  /** Whether any key is configured (a keys file, even one with no valid key yet, counts). */
  get configured(): boolean {
    return this.file !== undefined || this.env !== undefined;
  }

  /** The keys of the file, as last read. */
  get records(): KeyRecord[] {
    return [...this.byHash.values()];
  }

  private reload(force = false): void {
    if (!this.file) return;
    const now = Date.now();
    if (!force && now - this.checkedAt < 1000) return;
    this.checkedAt = now;
    let stamp: string;
    try {
      const st = fs.statSync(this.file);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch (e) {
      if (force)
        throw new InputError(`${this.file}: cannot read the keys file (${(e as NodeJS.ErrnoException).code ?? String(e)})`, this.file);
      return; // keeps the keys it has: a file being replaced is briefly missing
    }
    if (stamp === this.stamp) return;
    try {
      const f = readKeysFile(this.file);
      this.byHash = new Map(f.keys.map((k) => [k.sha256, k]));
      this.stamp = stamp;
    } catch (e) {
      // at start a bad file is an error; later, a bad edit keeps the last good keys (and is logged)
      if (force) throw e;
      this.onReloadError?.(e instanceof Error ? e.message : String(e));
      this.stamp = stamp;
    }
  }

  onReloadError?: (message: string) => void;

  /** Checks an `Authorization` header value. */
  authenticate(header: string | undefined): AuthResult {
    const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m) return { ok: false, reason: "missing" };
    const h = hashKey(m[1]!);
    if (h === this.envHash)
      return { ok: true, caller: { id: this.env!.name, budget: null, period: "total", rpm: null, concurrency: null } };
    this.reload();
    const k = this.byHash.get(h);
    if (!k) return { ok: false, reason: "invalid" };
    if (k.revoked) return { ok: false, reason: "revoked", id: k.id };
    return { ok: true, caller: { id: k.id, budget: k.budget, period: k.period, rpm: k.rpm, concurrency: k.concurrency } };
  }
}
