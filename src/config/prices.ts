/**
 * Price tables: `llm.prices` names a YAML (or JSON) file mapping model names to list prices,
 *
 *   gpt-4o-mini-2024-07-18: {inputPricePerM: 0.15, outputPricePerM: 0.60}
 *
 * so prices live in configuration, apart from the recorded data: editing a price changes the costs a
 * run sees, never the data. The table is merged into `llm.models` before validation: a model becomes the
 * entry of that name (`model:` the same name, which is how recorded agents find a model column's prices),
 * and an `llm.models` entry keyed by the model or with `model:` equal to it keeps every field it sets.
 */
import fs from "node:fs";
import YAML from "yaml";
import { z } from "zod";
import { InputError, issuePath } from "../core/errors.js";
import { resolveRecordedFiles } from "./recorded.js";

const price = z.number().nonnegative();
export const priceTableSchema = z.record(
  z.string().min(1),
  z
    .object({
      inputPricePerM: price.describe("Price per million input tokens."),
      outputPricePerM: price.describe("Price per million output tokens."),
    })
    .strict(),
);
export type PriceTable = z.infer<typeof priceTableSchema>;

/** Reads and checks a price table; errors name the file and the model. */
export function loadPriceTable(file: string): PriceTable {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new InputError(`${file}: cannot read the price table (${(e as NodeJS.ErrnoException).code ?? String(e)})`, file);
  }
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (e) {
    throw new InputError(`${file}: malformed YAML (${(e as Error).message.split("\n")[0]})`, file);
  }
  if (raw === null || raw === undefined)
    throw new InputError(`${file}: empty price table (expected model: {inputPricePerM, outputPricePerM} entries)`, file);
  const parsed = priceTableSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((iss) => `${file}: ${issuePath(iss.path)}: ${iss.message}`);
    throw new InputError(lines.join("\n"), file, issuePath(parsed.error.issues[0]!.path));
  }
  return parsed.data;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * The raw config with `llm.prices` resolved (relative to the config file, else the working directory)
 * and its table merged into `llm.models`. A config without `llm.prices` is returned as it is.
 */
export function withPriceTable(raw: Record<string, unknown>, configFile: string, configDir: string): Record<string, unknown> {
  const llm = raw.llm;
  if (!isMap(llm) || llm.prices === undefined) return raw;
  if (typeof llm.prices !== "string" || llm.prices === "") {
    throw new InputError(`${configFile}: llm.prices: expected the path of a price table file`, configFile, "llm.prices");
  }
  const files = resolveRecordedFiles(llm.prices, configDir, configFile, "llm.prices");
  if (files.length !== 1)
    throw new InputError(
      `${configFile}: llm.prices: "${llm.prices}" matches ${files.length} files (expected one price table)`,
      configFile,
      "llm.prices",
    );
  const file = files[0]!;
  const table = loadPriceTable(file);
  const models: Record<string, unknown> = isMap(llm.models) ? { ...llm.models } : {};
  for (const [name, p] of Object.entries(table)) {
    const key = name in models ? name : Object.keys(models).find((k) => isMap(models[k]) && models[k].model === name);
    const own = key !== undefined && isMap(models[key]) ? models[key] : {};
    models[key ?? name] = { model: name, ...p, ...own };
  }
  return { ...raw, llm: { ...llm, prices: file, models } };
}
