import { z } from "zod";
import { configSchema } from "./schema.js";

type JsonSchema = {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  required?: string[];
};

function typeOf(s: JsonSchema): string {
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.enum) return s.enum.map((e) => `\`${String(e)}\``).join(" \\| ");
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return alts.map(typeOf).join(" \\| ");
  if (s.type === "array") {
    const item = s.items ? typeOf(s.items) : "any";
    return item.includes("|") ? `(${item})[]` : `${item}[]`;
  }
  if (Array.isArray(s.type)) return s.type.join(" \\| ");
  return s.type ?? "any";
}

function rows(s: JsonSchema, prefix: string, out: string[], required: boolean): void {
  const alts = s.oneOf ?? s.anyOf;
  if (alts && alts.every((a) => a.type === "object" && a.properties)) {
    // a discriminated union: document each variant under its discriminator value
    if (s.description) out.push(`| \`${prefix}\` | object | | ${s.description} |`);
    for (const a of alts) {
      const disc = Object.entries(a.properties!).find(([, p]) => p.const !== undefined);
      const label = disc ? `${prefix} (${disc[0]}: ${String(disc[1].const)})` : prefix;
      rows({ ...a, description: undefined }, label, out, required);
    }
    return;
  }
  if (s.type === "object" && s.properties) {
    if (prefix && s.description) out.push(`| \`${prefix}\` | object | | ${s.description} |`);
    for (const [k, v] of Object.entries(s.properties)) {
      const name = prefix ? `${prefix.replace(/ \(.*\)$/, "")}.${k}` : k;
      const label = prefix.includes(" (") ? `${name} ${prefix.slice(prefix.indexOf(" ("))}`.trim() : name;
      rows(v, label, out, (s.required ?? []).includes(k));
    }
    return;
  }
  const def = s.default !== undefined ? `\`${JSON.stringify(s.default)}\`` : required ? "**required**" : "";
  out.push(`| \`${prefix}\` | ${typeOf(s)} | ${def} | ${(s.description ?? "").replace(/\|/g, "\\|")} |`);
}

/** The config reference as a Markdown table, generated from the zod schema (docs/configs.md embeds it). */
export function configReference(): string {
  return configReferenceFor([]);
}

/** The field name of a reference row (without a discriminated union's ` (kind: x)` label). */
const rowField = (row: string) => /^\| `([^`]*)`/.exec(row)?.[1]?.replace(/ \(.*\)$/, "") ?? "";

/**
 * The rows of the config reference for the fields at or below each of `prefixes` (all rows when empty), as a
 * Markdown table: a trainer's page lists its own section of the schema. A prefix that matches no field is an
 * error, so a renamed field cannot leave a page listing nothing.
 */
export function configReferenceFor(prefixes: readonly string[]): string {
  const schema = z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  const all: string[] = [];
  rows(schema, "", all, false);
  const under = (row: string, p: string) => rowField(row) === p || rowField(row).startsWith(`${p}.`);
  const wanted = (row: string) => prefixes.some((p) => under(row, p));
  for (const p of prefixes) {
    if (!all.some((row) => under(row, p))) throw new Error(`config reference: no config field is named ${p} or starts with ${p}.`);
  }
  const out = ["| field | type | default | description |", "|---|---|---|---|"];
  out.push(...(prefixes.length === 0 ? all : all.filter(wanted)));
  return out.join("\n");
}

/** A block of a docs page that holds generated reference rows: the fields after `start`, or every field. */
const blockRe = /(<!-- config-reference:start([^>]*?)-->\n)[\s\S]*?(<!-- config-reference:end -->)/g;

/**
 * `text` (a Markdown page) with every `<!-- config-reference:start [prefix ...] -->` …
 * `<!-- config-reference:end -->` block filled from the schema; `file` names the page in errors.
 */
export function fillConfigReferences(text: string, file: string): string {
  return text.replace(blockRe, (_m, start: string, args: string, end: string) => {
    const prefixes = args.trim().split(/\s+/).filter(Boolean);
    try {
      return `${start}${configReferenceFor(prefixes)}\n${end}`;
    } catch (e) {
      throw new Error(`${file}: ${(e as Error).message}`);
    }
  });
}

/** How many generated reference blocks `text` holds. */
export const configReferenceBlocks = (text: string): number => [...text.matchAll(blockRe)].length;
