/**
 * Imports ZeroEval result files (https://github.com/WildEval/ZeroEval, `result_dirs/<task>/<model>.json`)
 * into maestro's recorded-output JSONL: one line per item with the question, the gold answer and, per
 * model, the raw reply, the answer ZeroEval's rule extracts from it, whether that answer is right under
 * ZeroEval's comparison (see ./zeroeval-rule.ts), and the call's token counts (input: the prompt the
 * model saw, `model_input`, or for API models, whose `model_input` is "n/a", the `chat_history` turns;
 * output: the reply), counted with the project's tokenizer.
 *
 * A ZeroEval result file is a JSON list of objects with `id` (string or number), `question` (or
 * `problem`), `answer` (the gold; `# 18` for GSM8K, a plain number or string elsewhere), `output` (a
 * list whose first element is the reply), `model_input`, `chat_history` and optionally `dataset` (the
 * task name). The model's name is the file's name without `.json`. Every model must answer the same
 * items (joined on the id); anything else is an {@link InputError} naming the file and the item.
 */
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { InputError, OsError } from "../core/errors.js";
import { countTokens, type TokenizerName } from "../llm/tokens.js";
import { gradeZeroEval, zeroEvalGold, type ZeroEvalSource } from "./zeroeval-rule.js";

/** One model's recorded call on one item, as written to the JSONL. */
export interface ImportedAnswer {
  text: string;
  /** The extracted answer as graded; null = ZeroEval's rule found none (graded wrong). */
  answer: string | null;
  correct: boolean;
  tokensIn: number;
  tokensOut: number;
}

/** One line of the recorded-output JSONL. */
export interface ImportedItem {
  id: string;
  prompt: string;
  answer: string;
  type: string;
  models: Record<string, ImportedAnswer>;
}

export interface ZeroEvalModelSummary {
  model: string;
  file: string;
  items: number;
  correct: number;
  /** Percent correct, as ZeroEval's summary table prints it (`Acc`). */
  accuracy: number;
  /** Items without an extracted answer. */
  noAnswer: number;
  meanTokensIn: number;
  meanTokensOut: number;
  /** Where the answers came from: the first JSON object, the regex fallback, `\boxed{}`, none. */
  sources: Record<ZeroEvalSource, number>;
}

export interface ZeroEvalImportOptions {
  /** ZeroEval result files (see {@link zeroEvalFiles} to expand folders). */
  files: readonly string[];
  /** Only these models (file names without `.json`), in this order; default: every file's. */
  models?: readonly string[];
  tokenizer?: TokenizerName;
  /** Task type of every item; default: the items' `dataset` field, else the folder name of the file. */
  type?: string;
}

export interface ZeroEvalImport {
  items: ImportedItem[];
  models: ZeroEvalModelSummary[];
}

/** The ZeroEval result files of some paths: a folder gives its `*.json` files (sorted), a file itself. */
export function zeroEvalFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch (e) {
      throw new InputError(`${p}: cannot read ZeroEval results (${(e as NodeJS.ErrnoException).code ?? String(e)})`, p);
    }
    if (st.isDirectory()) {
      const files = fs
        .readdirSync(p)
        .filter((f) => f.endsWith(".json"))
        .sort()
        .map((f) => path.join(p, f));
      if (files.length === 0) throw new InputError(`${p}: no ZeroEval result files (*.json) in this folder`, p);
      out.push(...files);
    } else out.push(p);
  }
  return [...new Set(out.map((f) => path.resolve(f)))];
}

/** The model of a result file: its name without `.json`. */
export function zeroEvalModelName(file: string): string {
  return path.basename(file).replace(/\.json$/i, "");
}

interface RawItem {
  index: number;
  id: string;
  question: string;
  gold: string;
  reply: string;
  input: string;
  dataset?: string;
}

function readResultFile(file: string): RawItem[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new InputError(`${file}: cannot read ZeroEval results (${(e as NodeJS.ErrnoException).code ?? String(e)})`, file);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${file}: not valid JSON (${(e as Error).message})`, file);
  }
  if (!Array.isArray(data)) {
    throw new InputError(
      `${file}: expected a JSON list of items (a ZeroEval result file), got ${data === null ? "null" : typeof data}`,
      file,
    );
  }
  if (data.length === 0) throw new InputError(`${file}: the list of items is empty`, file);
  const seen = new Map<string, number>();
  return data.map((raw, index): RawItem => {
    const at = `${file}: item [${index}]`;
    if (raw === null || typeof raw !== "object" || Array.isArray(raw))
      throw new InputError(`${at}: expected an object`, file, `[${index}]`);
    const r = raw as Record<string, unknown>;
    if (!((typeof r.id === "string" && r.id !== "") || (typeof r.id === "number" && Number.isFinite(r.id)))) {
      throw new InputError(`${at}: field "id" is missing or not a non-empty string or number`, file, `[${index}].id`);
    }
    const id = String(r.id);
    const where = `${file}: item "${id}" ([${index}])`;
    const prev = seen.get(id);
    if (prev !== undefined) throw new InputError(`${where}: duplicate id (also item [${prev}])`, file, `[${index}].id`);
    seen.set(id, index);
    const question = typeof r.question === "string" ? r.question : r.problem;
    if (typeof question !== "string" || question.trim() === "") {
      throw new InputError(`${where}: no question (field "question" or "problem" must be a non-empty string)`, file, `[${index}].question`);
    }
    if (typeof r.answer !== "string" && !(typeof r.answer === "number" && Number.isFinite(r.answer))) {
      throw new InputError(`${where}: field "answer" (the gold answer) is missing or not a string or number`, file, `[${index}].answer`);
    }
    if (!Array.isArray(r.output) || typeof r.output[0] !== "string") {
      const got = Array.isArray(r.output)
        ? r.output.length === 0
          ? "an empty list"
          : `a list whose first element is ${r.output[0] === null ? "null" : typeof r.output[0]}`
        : r.output === undefined
          ? "nothing"
          : typeof r.output;
      throw new InputError(
        `${where}: field "output" must be a list whose first element is the reply (a string); got ${got}`,
        file,
        `[${index}].output`,
      );
    }
    let input: string;
    if (typeof r.model_input === "string" && r.model_input !== "n/a") input = r.model_input;
    else if (Array.isArray(r.chat_history) && r.chat_history.length > 0 && r.chat_history.every((t) => typeof t === "string"))
      input = (r.chat_history as string[]).join("\n\n");
    else {
      throw new InputError(
        `${where}: no prompt to count input tokens on ("model_input" is "n/a" or missing and "chat_history" is not a list of strings)`,
        file,
        `[${index}].chat_history`,
      );
    }
    return {
      index,
      id,
      question,
      gold: zeroEvalGold(r.answer),
      reply: r.output[0],
      input,
      ...(typeof r.dataset === "string" && r.dataset !== "" ? { dataset: r.dataset } : {}),
    };
  });
}

/**
 * Reads, joins and grades ZeroEval result files. Items keep the order of the first model's file;
 * every other file must hold exactly the same ids with the same question and gold answer.
 */
export function importZeroEval(o: ZeroEvalImportOptions): ZeroEvalImport {
  if (o.files.length === 0) throw new InputError("import zeroeval: no result files");
  const tokenizer = o.tokenizer ?? "cl100k_base";
  const byModel = new Map<string, string>();
  for (const f of o.files) {
    const m = zeroEvalModelName(f);
    const other = byModel.get(m);
    if (other !== undefined) throw new InputError(`${f}: model "${m}" appears twice (also ${other})`, f);
    byModel.set(m, f);
  }
  let models = [...byModel.keys()];
  if (o.models !== undefined) {
    const unknown = o.models.filter((m) => !byModel.has(m));
    if (unknown.length > 0)
      throw new InputError(
        `--models: no result file for ${unknown.map((m) => `"${m}"`).join(", ")} (files of: ${models.join(", ")})`,
        undefined,
        "models",
      );
    models = [...new Set(o.models)];
  }
  if (models.length === 0) throw new InputError("--models: no model selected");

  const ref = byModel.get(models[0]!)!;
  const refItems = readResultFile(ref);
  const items: ImportedItem[] = refItems.map((r) => ({
    id: r.id,
    prompt: r.question,
    answer: r.gold,
    type: o.type ?? r.dataset ?? path.basename(path.dirname(path.resolve(ref))),
    models: {},
  }));
  const index = new Map(items.map((it, i) => [it.id, i]));
  const summaries: ZeroEvalModelSummary[] = [];
  for (const model of models) {
    const file = byModel.get(model)!;
    const raw = file === ref ? refItems : readResultFile(file);
    const s: ZeroEvalModelSummary = {
      model,
      file,
      items: 0,
      correct: 0,
      accuracy: 0,
      noAnswer: 0,
      meanTokensIn: 0,
      meanTokensOut: 0,
      sources: { json: 0, regex: 0, boxed: 0, none: 0 },
    };
    const covered = new Set<string>();
    for (const r of raw) {
      const where = `${file}: item "${r.id}" ([${r.index}])`;
      const k = index.get(r.id);
      if (k === undefined)
        throw new InputError(`${where}: not an item of ${ref} (every model must answer the same items)`, file, `[${r.index}].id`);
      const it = items[k]!;
      if (r.gold !== it.answer)
        throw new InputError(`${where}: gold answer "${r.gold}" differs from "${it.answer}" in ${ref}`, file, `[${r.index}].answer`);
      if (r.question !== it.prompt)
        throw new InputError(`${where}: the question differs from the one in ${ref}`, file, `[${r.index}].question`);
      covered.add(r.id);
      const g = gradeZeroEval(r.reply, r.gold, model);
      const tokensIn = countTokens(r.input, tokenizer);
      const tokensOut = countTokens(r.reply, tokenizer);
      it.models[model] = { text: r.reply, answer: g.answer ?? null, correct: g.correct, tokensIn, tokensOut };
      s.items++;
      if (g.correct) s.correct++;
      if (g.answer === undefined) s.noAnswer++;
      s.sources[g.source]++;
      s.meanTokensIn += tokensIn;
      s.meanTokensOut += tokensOut;
    }
    const missing = items.find((it) => !covered.has(it.id));
    if (missing !== undefined)
      throw new InputError(`${file}: no item "${missing.id}" (${ref} has it; every model must answer the same items)`, file, "id");
    s.accuracy = (100 * s.correct) / s.items;
    s.meanTokensIn /= s.items;
    s.meanTokensOut /= s.items;
    summaries.push(s);
  }
  return { items, models: summaries };
}

/**
 * Writes recorded-output items as JSONL (gzip when the name ends in `.gz`) atomically: a temp file in
 * the same folder, fsync, rename; a failed write leaves whatever was at `file` untouched.
 */
export function writeRecordedJsonl(file: string, items: readonly ImportedItem[]): number {
  const text = items.map((it) => JSON.stringify(it)).join("\n") + "\n";
  const data = file.toLowerCase().endsWith(".gz") ? zlib.gzipSync(text, { level: 9 }) : Buffer.from(text, "utf8");
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  try {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const fd = fs.openSync(tmp, "w");
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new OsError("write", file, e, "--out");
  }
  return data.byteLength;
}

/** The per-model table `maestro import zeroeval` prints (accuracy and no-answer rate in %, as ZeroEval's). */
export function zeroEvalSummaryTable(models: readonly ZeroEvalModelSummary[]): string {
  const w = Math.max(5, ...models.map((m) => m.model.length));
  const head = `${"model".padEnd(w)}  ${"items".padStart(5)}  ${"acc %".padStart(6)}  ${"no answer %".padStart(11)}  ${"tokens in".padStart(9)}  ${"tokens out".padStart(10)}`;
  const rows = models.map(
    (m) =>
      `${m.model.padEnd(w)}  ${String(m.items).padStart(5)}  ${m.accuracy.toFixed(2).padStart(6)}  ${((100 * m.noAnswer) / m.items).toFixed(2).padStart(11)}  ${m.meanTokensIn.toFixed(1).padStart(9)}  ${m.meanTokensOut.toFixed(1).padStart(10)}`,
  );
  return [head, ...rows].join("\n");
}
