import { z } from "zod";
import { distance } from "fastest-levenshtein";

/**
 * The candidate nearest to a misspelled `word` by edit distance (case-insensitive), if it is close
 * enough to be a plausible typo: at most 2 edits, or a third of the word's length for longer words.
 */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const w = word.toLowerCase();
  for (const c of candidates) {
    const d = distance(w, c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best !== undefined && best !== word && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** ` (did you mean "x"?)`, or "" when nothing is close. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const n = nearest(word, candidates);
  return n === undefined ? "" : ` (did you mean "${n}"?)`;
}

type JsonSchema = {
  type?: string | string[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
};

const jsonSchemas = new WeakMap<z.ZodType, JsonSchema>();

function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  let s = jsonSchemas.get(schema);
  if (!s) jsonSchemas.set(schema, (s = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema));
  return s;
}

/** The object variants a schema node allows for `value` (a discriminated union: the one its discriminator picks). */
function objectVariants(s: JsonSchema, value: unknown): JsonSchema[] {
  const alts = s.oneOf ?? s.anyOf;
  if (!alts) return s.properties ? [s] : [];
  const objects = alts.flatMap((a) => objectVariants(a, value));
  const v = value !== null && typeof value === "object" ? (value as Record<string, unknown>) : {};
  const picked = objects.filter((a) => Object.entries(a.properties ?? {}).every(([k, p]) => p.const === undefined || v[k] === p.const));
  return picked.length > 0 ? picked : objects;
}

/**
 * The field names a schema knows at `path` inside `raw` (the value that failed to parse), for "did you
 * mean" hints on unknown fields. Discriminated unions (tasks.source, encoder.name) are resolved from the
 * value's discriminator, so `tasks.typess` with `source: sim` suggests `types`.
 */
export function knownFields(schema: z.ZodType, path: ReadonlyArray<PropertyKey>, raw: unknown): string[] {
  let nodes: JsonSchema[] = [jsonSchemaOf(schema)];
  let value = raw;
  for (const seg of path) {
    const next: JsonSchema[] = [];
    for (const n of nodes) {
      if (typeof seg === "number") {
        const items = n.items ?? (n.oneOf ?? n.anyOf)?.find((a) => a.items)?.items;
        if (items) next.push(items);
      } else {
        for (const o of objectVariants(n, value)) {
          const p = o.properties?.[String(seg)];
          if (p) next.push(p);
        }
      }
    }
    nodes = next;
    value = value !== null && typeof value === "object" ? (value as Record<string | number, unknown>)[seg as string | number] : undefined;
  }
  return [...new Set(nodes.flatMap((n) => objectVariants(n, value).flatMap((o) => Object.keys(o.properties ?? {}))))];
}
