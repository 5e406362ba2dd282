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

/** The config reference as a Markdown table, generated from the zod schema (README embeds it). */
export function configReference(): string {
  const schema = z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  const out = ["| field | type | default | description |", "|---|---|---|---|"];
  rows(schema, "", out, false);
  return out.join("\n");
}
