/** `maestro keys create|list|revoke`: the API keys file of `maestro serve --keys FILE`, and its table. */
import type { Argv } from "yargs";
import { InputError } from "../core/errors.js";
import { createKey, readKeysFile, revokeKey } from "../serve/keys.js";
import { fmt, type ArgsOf } from "./args.js";

export function builder(y: Argv) {
  return y
    .positional("action", { type: "string", choices: ["create", "list", "revoke"], demandOption: true })
    .option("file", { type: "string", default: "keys.json", describe: "The keys file (holds SHA-256 hashes of the keys, never the keys)." })
    .option("id", { type: "string", describe: "create/revoke: the key's name, shown in /metrics and logs (letters, digits, . _ -)." })
    .option("budget", { type: "number", describe: "create: spend allowed per period, in the run's cost units ($ for priced LLM runs)." })
    .option("period", {
      type: "string",
      choices: ["day", "week", "month", "total"],
      default: "month",
      describe: "create: the budget period (UTC), or total.",
    })
    .option("rpm", { type: "number", describe: "create: requests allowed in any 60 s window." })
    .option("concurrency", { type: "number", describe: "create: requests of this key answered at the same time." })
    .option("redis", {
      type: "string",
      describe: "list: read the spend from this Redis (servers started with --redis) instead of the usage file.",
    })
    .option("json", { type: "boolean", default: false, describe: "list: print JSON." });
}

export type Args = ArgsOf<typeof builder>;

export async function handler(a: Args): Promise<void> {
  if (a.action === "create") return create(a);
  if (a.action === "revoke") {
    if (!a.id) throw new InputError("maestro keys revoke: give --id <name>");
    const r = revokeKey(a.file, a.id);
    console.log(`revoked key "${r.id}" in ${a.file} (a running server refuses it within a second)`);
    return;
  }
  await list(a);
}

function create(a: Args): void {
  if (!a.id) throw new InputError("maestro keys create: give --id <name> (what /metrics and logs call the key)");
  for (const [name, v] of [
    ["budget", a.budget],
    ["rpm", a.rpm],
    ["concurrency", a.concurrency],
  ] as const) {
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new InputError(`--${name} ${v}: expected a positive number`);
  }
  const { key, record } = createKey(a.file, {
    id: a.id,
    period: a.period as "month",
    ...(a.budget !== undefined ? { budget: a.budget } : {}),
    ...(a.rpm !== undefined ? { rpm: a.rpm } : {}),
    ...(a.concurrency !== undefined ? { concurrency: a.concurrency } : {}),
  });
  // the key goes to stdout alone (scripts capture it); everything else to stderr
  console.error(
    `created key "${record.id}" in ${a.file}` +
      (record.budget !== null ? `, budget ${record.budget} per ${record.period === "total" ? "lifetime" : record.period}` : ", no budget") +
      (record.rpm !== null ? `, ${record.rpm} requests/min` : "") +
      (record.concurrency !== null ? `, ${record.concurrency} at once` : "") +
      ". It is shown only now: the file keeps its hash.",
  );
  console.log(key);
}

/** The keys of the file with their spend in the current period (from the usage file, or Redis with --redis). */
async function list(a: Args): Promise<void> {
  const f = readKeysFile(a.file);
  // the limit stores (and ioredis) load only for listing
  const lim = await import("../serve/limits.js");
  const callers = f.keys.map((x) => ({ id: x.id, budget: x.budget, period: x.period, rpm: x.rpm, concurrency: x.concurrency }));
  let spent: Record<string, number>;
  if (a.redis) {
    const store = await lim.RedisLimitStore.open(a.redis);
    try {
      spent = await store.spent(callers);
    } finally {
      await store.close();
    }
  } else {
    const usage = lim.readUsage(lim.usageFileOf(a.file));
    spent = Object.fromEntries(callers.map((c) => [c.id, usage[c.id]?.period === lim.periodLabel(c.period) ? usage[c.id]!.amount : 0]));
  }
  const rows = f.keys.map((x) => ({
    id: x.id,
    key: `mk-…${x.last4}`,
    created: x.created,
    revoked: x.revoked,
    budget: x.budget,
    period: x.period,
    spent: spent[x.id] ?? 0,
    rpm: x.rpm,
    concurrency: x.concurrency,
  }));
  if (a.json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  if (rows.length === 0) {
    console.log(`${a.file}: no keys (create one with: npx maestro keys create --file ${a.file} --id <name>)`);
    return;
  }
  printKeys(rows);
}

function printKeys(
  rows: Array<{
    id: string;
    key: string;
    created: string;
    revoked: string | null;
    budget: number | null;
    period: string;
    spent: number;
    rpm: number | null;
    concurrency: number | null;
  }>,
): void {
  console.log(
    `${"id".padEnd(16)} ${"key".padEnd(9)} ${"status".padEnd(8)} ${"spent / budget".padEnd(24)} ${"rpm".padStart(6)} ${"at once".padStart(7)}  created`,
  );
  for (const r of rows) {
    const budget = r.budget === null ? `${fmt(r.spent, 4)} (no budget)` : `${fmt(r.spent, 4)} / ${r.budget} per ${r.period}`;
    console.log(
      `${r.id.padEnd(16)} ${r.key.padEnd(9)} ${(r.revoked ? "revoked" : "valid").padEnd(8)} ${budget.padEnd(24)} ${String(r.rpm ?? "-").padStart(6)} ${String(r.concurrency ?? "-").padStart(7)}  ${r.created}`,
    );
  }
}
