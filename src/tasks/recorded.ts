/**
 * Recorded-output datasets: a table of items × models holding what real models answered
 * and whether it was right, so orchestrators (cascades, routers) can be trained and judged offline.
 *
 * Two layouts, several files of one layout load as one table (the source file of an item becomes its
 * task type unless the row names one):
 * - RouteLLM's CSV as published: `prompt`, one True/False column per model, optional `<model>_response`
 *   text columns (quoted multi-line fields), and, maestro's additions, optional `<model>_tokens_in`,
 *   `<model>_tokens_out`, `<model>_cost`, `<model>_score` columns and `id` / `answer` / `type` columns.
 * - maestro's JSONL: one object per line, `{id?, prompt, answer?, type?, models: {<model>: {text?,
 *   answer?, correct?, score?, tokensIn?, tokensOut?, cost?}}}`.
 * Either layout may be gzip-compressed (`.jsonl.gz`, `.csv.gz`): it is decompressed on reading, and
 * errors carry the same line numbers as for the plain file.
 * An optional gold file (JSONL, e.g. GSM8K's test.jsonl) adds reference answers, joined on the prompt.
 * Every problem is an {@link InputError} naming the file, the line and the column / field.
 */
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { CsvError, parse as parseCsv } from "csv-parse/sync";
import { z } from "zod";
import { InputError, issuePath } from "../core/errors.js";
import { Rng } from "../core/rng.js";
import { decodeUtf8 } from "../core/text.js";
import type { Task } from "../core/types.js";

/** What one model answered on one item, as recorded. */
export interface RecordedAnswer {
  text?: string;
  /**
   * The final answer as it was extracted and graded when the outputs were recorded (e.g. by ZeroEval's
   * rule); null = the grader found none. A recorded agent uses it instead of its own extraction.
   */
  answer?: string | null;
  /** The recorded correctness flag. */
  correct?: boolean;
  /** A recorded quality score in [0, 1] (used when there is no flag: correct = score ≥ threshold). */
  score?: number;
  tokensIn?: number;
  tokensOut?: number;
  /** The recorded cost of the call (wins over prices × tokens). */
  cost?: number;
}

export interface RecordedItem extends Task {
  /** Task type: the row's own type, else the source file's name without extension. */
  type: string;
  /** Source file and the line its record starts on. */
  file: string;
  line: number;
  models: Record<string, RecordedAnswer>;
}

export interface RecordedTable {
  files: string[];
  /** Model names in the order they first appear. */
  models: string[];
  items: RecordedItem[];
  /** Task types, sorted. */
  types: string[];
  /** Non-fatal findings (e.g. a gold file that matches only some items). */
  warnings: string[];
  byId: Map<string, RecordedItem>;
  byPrompt: Map<string, RecordedItem>;
}

export interface GoldOptions {
  file: string;
  /** Field of the gold file holding the prompt (joined on the normalised prompt). */
  prompt: string;
  /** Field holding the reference answer. */
  answer: string;
  /** Optional regex whose group 1 (or match) is the reference answer inside that field, e.g. `####\s*(.+)$`. */
  pattern?: string;
}

export interface RecordedLoadOptions {
  files: readonly string[];
  gold?: GoldOptions;
}

/** The join key of prompts: Unicode NFC, trimmed, inner whitespace collapsed. */
export function promptKey(prompt: string): string {
  return prompt.normalize("NFC").trim().replace(/\s+/g, " ");
}

const reserved = new Set(["id", "prompt", "answer", "type"]);
const suffixes = { _response: "text", _tokens_in: "tokensIn", _tokens_out: "tokensOut", _cost: "cost", _score: "score" } as const;
type Suffix = keyof typeof suffixes;

/** Is the file gzip-compressed (by its name)? */
function gzipped(file: string): boolean {
  return file.toLowerCase().endsWith(".gz");
}

/** The file's name without `.gz` and its extension: `data/gsm8k.jsonl.gz` → `gsm8k`. */
function stem(file: string): string {
  return path
    .basename(file)
    .replace(/\.gz$/i, "")
    .replace(/\.[^.]*$/, "");
}

/** The layout extension of a file, `.gz` dropped: `.csv`, `.jsonl`, `.json`. */
function layoutExt(file: string): string {
  return path.extname(file.replace(/\.gz$/i, "")).toLowerCase();
}

function readText(file: string): string {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new InputError(`${file}: cannot read recorded outputs (${(e as NodeJS.ErrnoException).code ?? String(e)})`, file);
  }
  if (gzipped(file)) {
    try {
      bytes = zlib.gunzipSync(bytes);
    } catch (e) {
      throw new InputError(`${file}: not a readable gzip file (${(e as Error).message})`, file);
    }
  }
  // invalid UTF-8 is refused with file:line:column like the other datasets, not read as U+FFFD
  return decodeUtf8(bytes, file);
}

/** `True`/`False` (any case) or 1/0; empty = not recorded. */
function parseFlag(v: string, where: string, file: string, column: string): boolean | undefined {
  const t = v.trim().toLowerCase();
  if (t === "") return undefined;
  if (t === "true" || t === "1") return true;
  if (t === "false" || t === "0") return false;
  throw new InputError(`${where}: column "${column}": expected True or False, got ${JSON.stringify(v.slice(0, 40))}`, file, column);
}

function parseNum(
  v: string,
  where: string,
  file: string,
  column: string,
  o: { min?: number; max?: number; integer?: boolean } = {},
): number | undefined {
  const t = v.trim();
  if (t === "") return undefined;
  const n = Number(t);
  const ok =
    Number.isFinite(n) && (o.min === undefined || n >= o.min) && (o.max === undefined || n <= o.max) && (!o.integer || Number.isInteger(n));
  if (!ok) {
    const what = o.integer ? "a non-negative integer" : o.max !== undefined ? `a number in [${o.min}, ${o.max}]` : "a non-negative number";
    throw new InputError(`${where}: column "${column}": expected ${what}, got ${JSON.stringify(t.slice(0, 40))}`, file, column);
  }
  return n;
}

/** Which header columns hold what: model flag columns and `<model>_<suffix>` columns. */
function csvLayout(
  header: string[],
  file: string,
): { models: string[]; cols: Array<{ model: string; field: keyof RecordedAnswer | "flag" } | undefined> } {
  if (!header.includes("prompt")) throw new InputError(`${file}:1: no "prompt" column (header: ${header.join(", ")})`, file, "prompt");
  const seen = new Set<string>();
  header.forEach((h, i) => {
    if (h.trim() === "") throw new InputError(`${file}:1: column ${i + 1} has an empty name`, file, `column ${i + 1}`);
    if (seen.has(h)) throw new InputError(`${file}:1: column "${h}" appears twice`, file, h);
    seen.add(h);
  });
  const flagCols = header.filter(
    (h) => !reserved.has(h) && !(Object.keys(suffixes) as Suffix[]).some((s) => h.endsWith(s) && seen.has(h.slice(0, -s.length))),
  );
  const models = [...flagCols];
  const cols = header.map((h) => {
    if (reserved.has(h)) return undefined;
    if (flagCols.includes(h)) return { model: h, field: "flag" as const };
    const s = (Object.keys(suffixes) as Suffix[]).find((x) => h.endsWith(x))!;
    return { model: h.slice(0, -s.length), field: suffixes[s] };
  });
  if (models.length === 0) {
    throw new InputError(
      `${file}:1: no model columns (expected one True/False column per model besides ${[...reserved].join(", ")})`,
      file,
    );
  }
  return { models, cols };
}

function loadCsv(file: string): { models: string[]; items: RecordedItem[] } {
  const text = readText(file).replace(/^\uFEFF/, "");
  let records: Array<{ record: string[]; info: { lines: number; empty_lines: number } }>;
  try {
    records = parseCsv(text, { info: true, skip_empty_lines: true }) as unknown as typeof records;
  } catch (e) {
    if (e instanceof CsvError) {
      const line = (e as unknown as { lines?: number }).lines;
      throw new InputError(
        `${file}${line !== undefined ? `:${line}` : ""}: malformed CSV: ${e.message}`,
        file,
        line !== undefined ? `line ${line}` : undefined,
      );
    }
    throw e;
  }
  if (records.length === 0)
    throw new InputError(`${file}: empty file (expected a header line with "prompt" and one column per model)`, file);
  const header = records[0]!.record;
  const { models, cols } = csvLayout(header, file);
  const at = (name: string) => header.indexOf(name);
  const items: RecordedItem[] = [];
  let prevEnd = records[0]!.info.lines;
  let prevEmpty = records[0]!.info.empty_lines;
  for (let r = 1; r < records.length; r++) {
    const { record, info } = records[r]!;
    const line = prevEnd + 1 + (info.empty_lines - prevEmpty);
    prevEnd = info.lines;
    prevEmpty = info.empty_lines;
    const where = `${file}:${line}`;
    const prompt = record[at("prompt")]!;
    if (prompt.trim() === "") throw new InputError(`${where}: column "prompt": empty prompt`, file, "prompt");
    const item: RecordedItem = {
      id: at("id") >= 0 && record[at("id")]!.trim() !== "" ? record[at("id")]!.trim() : `${stem(file)}:${r}`,
      prompt,
      type: at("type") >= 0 && record[at("type")]!.trim() !== "" ? record[at("type")]!.trim() : stem(file),
      file,
      line,
      models: Object.fromEntries(models.map((m) => [m, {}])),
    };
    if (at("answer") >= 0 && record[at("answer")]!.trim() !== "") item.answer = record[at("answer")]!.trim();
    record.forEach((v, i) => {
      const c = cols[i];
      if (!c) return;
      const a = item.models[c.model]!;
      const column = header[i]!;
      switch (c.field) {
        case "flag": {
          const f = parseFlag(v, where, file, column);
          if (f !== undefined) a.correct = f;
          break;
        }
        case "text":
          if (v !== "") a.text = v;
          break;
        case "score": {
          const n = parseNum(v, where, file, column, { min: 0, max: 1 });
          if (n !== undefined) a.score = n;
          break;
        }
        case "tokensIn":
        case "tokensOut": {
          const n = parseNum(v, where, file, column, { min: 0, integer: true });
          if (n !== undefined) a[c.field] = n;
          break;
        }
        case "cost": {
          const n = parseNum(v, where, file, column, { min: 0 });
          if (n !== undefined) a.cost = n;
          break;
        }
        default:
          break;
      }
    });
    items.push(item);
  }
  if (items.length === 0) throw new InputError(`${file}: no items (only a header line)`, file);
  return { models, items };
}

const nonNeg = z.number().nonnegative();
const jsonlAnswerSchema = z
  .object({
    text: z.string().optional(),
    answer: z.string().nullable().optional(),
    correct: z.boolean().optional(),
    score: z.number().min(0).max(1).optional(),
    tokensIn: nonNeg.int().optional(),
    tokensOut: nonNeg.int().optional(),
    cost: nonNeg.optional(),
  })
  .strict();
const jsonlItemSchema = z
  .object({
    id: z.union([z.string().min(1), z.number()]).optional(),
    prompt: z.string().min(1),
    answer: z.union([z.string(), z.number()]).optional(),
    type: z.string().min(1).optional(),
    models: z.record(z.string().min(1), jsonlAnswerSchema).refine((m) => Object.keys(m).length > 0, "at least one model"),
  })
  .strict();

function loadJsonl(file: string): { models: string[]; items: RecordedItem[] } {
  const items: RecordedItem[] = [];
  const models: string[] = [];
  readText(file)
    .split("\n")
    .forEach((text, i) => {
      const line = i + 1;
      const where = `${file}:${line}`;
      if (text.trim() === "") return;
      let obj: unknown;
      try {
        obj = JSON.parse(text);
      } catch (e) {
        throw new InputError(`${where}: malformed JSON line (${(e as Error).message})`, file, `line ${line}`);
      }
      const parsed = jsonlItemSchema.safeParse(obj);
      if (!parsed.success) {
        const iss = parsed.error.issues[0]!;
        throw new InputError(`${where}: ${issuePath(iss.path)}: ${iss.message}`, file, issuePath(iss.path));
      }
      const d = parsed.data;
      for (const m of Object.keys(d.models)) if (!models.includes(m)) models.push(m);
      items.push({
        id: d.id !== undefined ? String(d.id) : `${stem(file)}:${line}`,
        prompt: d.prompt,
        ...(d.answer !== undefined ? { answer: String(d.answer) } : {}),
        type: d.type ?? stem(file),
        file,
        line,
        models: d.models as Record<string, RecordedAnswer>,
      });
    });
  if (items.length === 0) throw new InputError(`${file}: no items`, file);
  return { models, items };
}

function loadGold(g: GoldOptions): Map<string, string> {
  const out = new Map<string, string>();
  const re = g.pattern !== undefined ? new RegExp(g.pattern, "m") : undefined;
  readText(g.file)
    .split("\n")
    .forEach((text, i) => {
      const where = `${g.file}:${i + 1}`;
      if (text.trim() === "") return;
      let obj: unknown;
      try {
        obj = JSON.parse(text);
      } catch (e) {
        throw new InputError(`${where}: malformed JSON line (${(e as Error).message})`, g.file, `line ${i + 1}`);
      }
      const rec = (obj ?? {}) as Record<string, unknown>;
      const p = rec[g.prompt];
      const a = rec[g.answer];
      if (typeof p !== "string")
        throw new InputError(`${where}: field "${g.prompt}" (the prompt) is missing or not a string`, g.file, g.prompt);
      if (typeof a !== "string" && typeof a !== "number")
        throw new InputError(`${where}: field "${g.answer}" (the answer) is missing or not a string/number`, g.file, g.answer);
      let answer = String(a);
      if (re) {
        const m = answer.match(re);
        if (!m) throw new InputError(`${where}: field "${g.answer}" does not match tasks.gold.pattern ${g.pattern}`, g.file, g.answer);
        answer = (m[1] ?? m[0]).trim();
      }
      out.set(promptKey(p), answer);
    });
  return out;
}

const cache = new Map<string, RecordedTable>();

/**
 * Loads recorded outputs (one layout per file, by extension: .csv or .jsonl/.json, optionally .gz) as one table. Every
 * item must have every model of the table (an agent never meets a silent gap). Memoised per process on
 * the file list, sizes and modification times, so a config's agents, splits and encoder share one parse.
 */
export function loadRecordedTable(o: RecordedLoadOptions): RecordedTable {
  if (o.files.length === 0) throw new InputError("tasks.file: no recorded-output files");
  const sig = JSON.stringify([
    ...o.files.map((f) => {
      const s = fs.existsSync(f) ? fs.statSync(f) : undefined;
      return [f, s?.size, s?.mtimeMs];
    }),
    o.gold ?? null,
    o.gold && fs.existsSync(o.gold.file) ? fs.statSync(o.gold.file).mtimeMs : null,
  ]);
  const hit = cache.get(sig);
  if (hit) return hit;

  const models: string[] = [];
  const items: RecordedItem[] = [];
  const perFile: Array<{ file: string; models: string[] }> = [];
  for (const file of o.files) {
    const ext = layoutExt(file);
    let part: { models: string[]; items: RecordedItem[] };
    if (ext === ".csv") part = loadCsv(file);
    else if (ext === ".jsonl" || ext === ".json") part = loadJsonl(file);
    else
      throw new InputError(
        `${file}: unknown recorded-output layout "${ext}" (expected .csv, RouteLLM's layout, or .jsonl, maestro's; either may end in .gz)`,
        file,
      );
    perFile.push({ file, models: part.models });
    for (const m of part.models) if (!models.includes(m)) models.push(m);
    items.push(...part.items);
  }
  for (const pf of perFile) {
    const missing = models.filter((m) => !pf.models.includes(m));
    if (missing.length > 0) {
      const other = perFile.find((x) => x.models.includes(missing[0]!))!;
      throw new InputError(
        `${pf.file}: model column "${missing[0]}" absent (${other.file} has it; every file of tasks.file must record the same models)`,
        pf.file,
        missing[0],
      );
    }
  }
  for (const it of items) {
    const missing = models.find((m) => it.models[m] === undefined);
    if (missing !== undefined) {
      throw new InputError(
        `${it.file}:${it.line}: item "${it.id}" has no answer of model "${missing}" (other items have one)`,
        it.file,
        `models.${missing}`,
      );
    }
  }
  const byId = new Map<string, RecordedItem>();
  const byPrompt = new Map<string, RecordedItem>();
  for (const it of items) {
    const prev = byId.get(it.id);
    if (prev) throw new InputError(`${it.file}:${it.line}: duplicate item id "${it.id}" (also ${prev.file}:${prev.line})`, it.file, "id");
    byId.set(it.id, it);
    const k = promptKey(it.prompt);
    if (!byPrompt.has(k)) byPrompt.set(k, it);
  }
  const warnings: string[] = [];
  if (o.gold) {
    const gold = loadGold(o.gold);
    let matched = 0;
    for (const it of items) {
      const a = gold.get(promptKey(it.prompt));
      if (a === undefined) continue;
      matched++;
      if (it.answer === undefined) it.answer = a;
    }
    if (matched < items.length)
      warnings.push(`${o.gold.file}: gold answers found for ${matched} of ${items.length} items (joined on the prompt)`);
  }
  const table: RecordedTable = {
    files: [...o.files],
    models,
    items,
    types: [...new Set(items.map((i) => i.type))].sort(),
    warnings,
    byId,
    byPrompt,
  };
  cache.set(sig, table);
  return table;
}

/** The table item a task refers to: by id, else by its (normalised) prompt. */
export function findItem(table: RecordedTable, task: Pick<Task, "id" | "prompt">): RecordedItem | undefined {
  const byId = table.byId.get(task.id);
  if (byId && promptKey(byId.prompt) === promptKey(task.prompt)) return byId;
  return table.byPrompt.get(promptKey(task.prompt));
}

export interface SplitFractions {
  train: number;
  val: number;
  test: number;
}

export interface RecordedSplits {
  train: RecordedItem[];
  val: RecordedItem[];
  test: RecordedItem[];
}

/**
 * Deterministic train / validation / test split: items are grouped by task type (so every source file
 * is split in the same proportions), each group is shuffled with a stream seeded by `seed` and the type,
 * then cut by the fractions (train first, test last). The three parts are disjoint and cover the table.
 */
export function splitRecorded(items: readonly RecordedItem[], f: SplitFractions, seed: number | string): RecordedSplits {
  const out: RecordedSplits = { train: [], val: [], test: [] };
  const total = f.train + f.val + f.test;
  const groups = new Map<string, RecordedItem[]>();
  for (const it of items) {
    const g = groups.get(it.type);
    if (g) g.push(it);
    else groups.set(it.type, [it]);
  }
  for (const type of [...groups.keys()].sort()) {
    const g = groups.get(type)!;
    const order = new Rng(`${seed}:split:${type}`).permutation(g.length);
    const nTrain = Math.round((f.train / total) * g.length);
    const nVal = Math.round((f.val / total) * g.length);
    order.forEach((j, k) => {
      const it = g[j]!;
      if (k < nTrain) out.train.push(it);
      else if (k < nTrain + nVal) out.val.push(it);
      else out.test.push(it);
    });
  }
  return out;
}

/**
 * The part of a training split that training draws from: a share (≤ 1) or a count (> 1) of its items,
 * taken per task type from the front of the split's shuffled order (so it is a seeded random subset in the
 * same type proportions, and a larger subset contains a smaller one).
 */
export function trainSubset(train: readonly RecordedItem[], size: number | null): RecordedItem[] {
  if (size === null) return [...train];
  const want = size <= 1 ? Math.round(size * train.length) : Math.min(train.length, Math.round(size));
  if (want >= train.length) return [...train];
  const groups = new Map<string, RecordedItem[]>();
  for (const it of train) {
    const g = groups.get(it.type);
    if (g) g.push(it);
    else groups.set(it.type, [it]);
  }
  const out: RecordedItem[] = [];
  for (const g of groups.values()) out.push(...g.slice(0, Math.max(1, Math.round((want / train.length) * g.length))));
  return out;
}
