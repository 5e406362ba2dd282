/**
 * What the command modules of src/cli share: option parsing (--seed, seconds, --lambda/--budget,
 * --live), the help examples, and number formatting for the tables they print.
 */
import type { ArgumentsCamelCase, Argv } from "yargs";
import { InputError } from "../core/errors.js";
import { commandName } from "../core/invocation.js";
import type { CostUnit } from "../run/progress.js";

/** The parsed arguments of a command whose options `builder` declares. */
export type ArgsOf<B extends (y: Argv) => Argv<unknown>> = ReturnType<B> extends Argv<infer T> ? ArgumentsCamelCase<T> : never;

/**
 * A --seed value: a non-negative integer, as the config's `seed` field takes. yargs would turn
 * "abc" into NaN and 1e400 into Infinity, and every request or episode would then share one stream.
 */
export function parseSeed(v: unknown): number {
  const s = String(Array.isArray(v) ? v[v.length - 1] : v).trim();
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n)) throw new InputError(`--seed ${s}: expected a non-negative integer (at most ${Number.MAX_SAFE_INTEGER})`);
  return n;
}

/** A non-negative number of seconds for an option. */
export function seconds(name: string): (v: unknown) => number {
  return (v) => {
    const n = Number(v);
    if (!(Number.isFinite(n) && n > 0)) throw new InputError(`--${name} ${String(v)}: expected a positive number of seconds`);
    return n;
  };
}

/** The --lambda / --budget value of a budget-conditioned policy (at most one of them). */
export function knobArg(a: { lambda?: number; budget?: number }): { name: "lambda" | "budget"; value: number } | undefined {
  if (a.lambda !== undefined && a.budget !== undefined) throw new InputError("give --lambda or --budget, not both");
  if (a.lambda !== undefined) return { name: "lambda", value: a.lambda };
  if (a.budget !== undefined) return { name: "budget", value: a.budget };
  return undefined;
}

/** The --live endpoint of a recorded run (with --live-api-key-env), if given. */
export function liveArg(a: { live?: string; liveApiKeyEnv?: string }): { baseURL: string; apiKeyEnv?: string } | undefined {
  if (a.live === undefined) {
    if (a.liveApiKeyEnv !== undefined)
      throw new InputError("--live-api-key-env names the API key of the --live endpoint; give --live URL too");
    return undefined;
  }
  return { baseURL: a.live, ...(a.liveApiKeyEnv !== undefined ? { apiKeyEnv: a.liveApiKeyEnv } : {}) };
}

export const liveOptions = {
  live: {
    type: "string",
    describe:
      "Recorded runs: ask each recorded model live at this OpenAI-compatible base URL (your provider, or `maestro sim-server --replay`), same prices and answer form (docs/replay.md).",
  },
  "live-api-key-env": {
    type: "string",
    describe: "--live: environment variable holding the endpoint's API key (none: no key, e.g. a local server).",
  },
} as const;

/** One or two examples and the command's docs page, shown by `<command> --help`, in the form the user invoked. */
export function helpOf<T>(y: Argv<T>, section: string, examples: Array<[string, string]>): Argv<T> {
  const cmd = commandName();
  for (const [args, what] of examples) y.example(`${cmd} ${args}`, what);
  return y.epilogue(`Docs: docs/cli.md#${section} in the maestro repository (all commands: docs/cli.md).`);
}

/** `1 step`, `2 steps`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export function fmt(v: number | undefined, digits = 3): string {
  if (v === undefined || Number.isNaN(v)) return "-";
  // tiny non-zero values (LLM costs in USD) would print as 0.000
  return v !== 0 && Math.abs(v) < 10 ** -digits ? v.toExponential(2) : v.toFixed(digits);
}

/** A cost with its unit: dollars or TFLOPs for LLM runs, else the agents' own cost units. */
export function costText(v: number | undefined, unit: CostUnit, what = ""): string {
  if (v === undefined || Number.isNaN(v)) return "-";
  if (unit === "usd") return `$${v.toLocaleString("en-US", { maximumSignificantDigits: 3, useGrouping: false })}${what}`;
  if (unit === "tflop") return `${v.toLocaleString("en-US", { maximumSignificantDigits: 3, useGrouping: false })} TFLOP${what}`;
  return `${fmt(v)} cost units${what}`;
}
