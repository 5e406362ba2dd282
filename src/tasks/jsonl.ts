import fs from "node:fs";
import { InputError } from "../core/errors.js";
import { Rng } from "../core/rng.js";
import { decodeUtf8 } from "../core/text.js";
import type { Task } from "../core/types.js";

/** Which JSON fields of a dataset line hold a task's id, prompt, answer and type. */
export interface FieldMap {
  id: string;
  prompt: string;
  answer: string;
  type: string;
}

export const defaultFieldMap: FieldMap = { id: "id", prompt: "prompt", answer: "answer", type: "type" };

function scalar(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return undefined;
}

/**
 * Reads a JSON-lines dataset (`{id, prompt, answer, type?}` per line; field names mapped by
 * `fields`). Blank lines are skipped; a malformed line is an {@link InputError} naming the file and
 * line number. A missing id becomes `<line number>`.
 */
export function loadJsonlTasks(file: string, fields: FieldMap = defaultFieldMap, o: { requireAnswer?: boolean } = {}): Task[] {
  const requireAnswer = o.requireAnswer ?? true;
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new InputError(`${file}: cannot read dataset (${(e as NodeJS.ErrnoException).code ?? String(e)})`, file);
  }
  // invalid UTF-8 is refused with file:line (not turned into U+FFFD); a BOM is dropped
  const text = decodeUtf8(bytes, file);
  const tasks: Task[] = [];
  const ids = new Set<string>();
  text.split("\n").forEach((line, i) => {
    const where = `${file}:${i + 1}`;
    if (line.trim() === "") return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      throw new InputError(`${where}: malformed JSON line (${(e as Error).message})`, file, `line ${i + 1}`);
    }
    if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
      throw new InputError(`${where}: expected a JSON object per line`, file, `line ${i + 1}`);
    }
    const rec = obj as Record<string, unknown>;
    const prompt = scalar(rec[fields.prompt]);
    if (prompt === undefined || prompt === "") {
      throw new InputError(`${where}: field "${fields.prompt}" (the prompt) is missing or not a string`, file, `line ${i + 1}`);
    }
    const answer = scalar(rec[fields.answer]);
    if (answer === undefined && (requireAnswer || rec[fields.answer] !== undefined)) {
      throw new InputError(`${where}: field "${fields.answer}" (the answer) is missing or not a string/number`, file, `line ${i + 1}`);
    }
    const id = rec[fields.id] === undefined ? String(i + 1) : scalar(rec[fields.id]);
    if (id === undefined) throw new InputError(`${where}: field "${fields.id}" (the id) must be a string or number`, file, `line ${i + 1}`);
    if (ids.has(id)) throw new InputError(`${where}: duplicate task id "${id}"`, file, `line ${i + 1}`);
    ids.add(id);
    const type = rec[fields.type] === undefined ? undefined : scalar(rec[fields.type]);
    tasks.push({ id, prompt, ...(answer !== undefined ? { answer } : {}), ...(type !== undefined ? { type } : {}) });
  });
  if (tasks.length === 0) throw new InputError(`${file}: the dataset has no tasks`, file);
  return tasks;
}

/**
 * Train/eval split: a seeded shuffle, the last `round(fraction·n)` tasks (at least 1) held out.
 * `evalFraction: 0` holds nothing out: evaluation then uses the training tasks (as for inline tasks).
 */
export function splitTasks(
  tasks: readonly Task[],
  evalFraction: number,
  seed: number | string,
  where = "tasks.evalFraction",
): { train: Task[]; eval: Task[] } {
  if (evalFraction === 0) return { train: [...tasks], eval: [...tasks] };
  if (tasks.length < 2) {
    throw new InputError(
      `${where}: a dataset of ${tasks.length} task cannot be split; add tasks or set evalFraction: 0`,
      undefined,
      "tasks.evalFraction",
    );
  }
  const order = new Rng(`${seed}:split`).permutation(tasks.length);
  const nEval = Math.min(tasks.length - 1, Math.max(1, Math.round(evalFraction * tasks.length)));
  const shuffled = order.map((i) => tasks[i]!);
  return { train: shuffled.slice(0, tasks.length - nEval), eval: shuffled.slice(tasks.length - nEval) };
}
