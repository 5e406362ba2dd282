import fs from "node:fs";
import path from "node:path";
import type { PoolItems } from "../src/analysis/pool-baselines.js";
import { repoRoot } from "./helpers.js";

/** The shared ZeroEval GSM8K outputs (see its README): absent on machines without the shared data. */
export const zeroevalGsm = path.join(repoRoot, "..", "shared", "data", "zeroeval", "gsm");

/** The data README's 8-model pool and its list prices ($ per million tokens, input / output). */
export const POOL8: Record<string, [number, number]> = {
  "gemini-1.5-flash": [0.075, 0.3],
  "deepseek-v2.5-0908": [0.14, 0.28],
  "Meta-Llama-3.1-8B-Instruct": [0.18, 0.18],
  "gpt-4o-mini-2024-07-18": [0.15, 0.6],
  "claude-3-haiku-20240307": [0.25, 1.25],
  "Meta-Llama-3.1-70B-Instruct": [0.88, 0.88],
  "gpt-4o-2024-08-06": [2.5, 10],
  "claude-3-5-sonnet-20241022": [3, 15],
};

/** Control characters inside a JSON text escaped, as Python's json.loads(strict=False) accepts them raw. */
function lenient(s: string): string {
  let out = "";
  for (const c of s) {
    const code = c.charCodeAt(0);
    out += code >= 0x20 ? c : c === "\n" ? "\\n" : c === "\t" ? "\\t" : c === "\r" ? "\\r" : " ";
  }
  return out;
}

/** The first complete JSON object of a reply (balanced braces outside strings that parse). */
function firstJsonObject(s: string): Record<string, unknown> | null {
  for (let st = s.indexOf("{"); st >= 0; st = s.indexOf("{", st + 1)) {
    let depth = 0;
    let inStr = false;
    let esc = false;
    for (let i = st; i < s.length; i++) {
      const c = s[i];
      if (inStr) {
        if (esc) esc = false;
        else if (c === "\\") esc = true;
        else if (c === '"') inStr = false;
      } else if (c === '"') inStr = true;
      else if (c === "{") depth++;
      else if (c === "}" && --depth === 0) {
        try {
          const o: unknown = JSON.parse(lenient(s.slice(st, i + 1)));
          if (o && typeof o === "object" && !Array.isArray(o)) return o as Record<string, unknown>;
        } catch {
          // not JSON: try the next opening brace
        }
        break;
      }
    }
  }
  return null;
}

/** ZeroEval's answer of a reply: the first JSON object's "answer", else `"answer": …` by regex, else (Llama-3.1) a trailing \boxed{…}. */
export function zeroevalAnswer(reply: string, model: string): string | null {
  const o = firstJsonObject(reply);
  if (o && o.answer !== undefined && o.answer !== null) return String(o.answer);
  const m = /"answer"\s*:\s*"([^"]*)"/.exec(reply) ?? /"answer"\s*:\s*([^\n,}]*)/.exec(reply);
  if (m) return m[1]!;
  if (model.includes("Llama-3.1")) {
    const b = /\\boxed\{([^}]*)\}\s*$/.exec(reply);
    if (b) return b[1]!;
  }
  return null;
}

/** The first number of an answer (`$` and `,` stripped, a fraction a/b evaluated); null if none. */
export function firstNumber(s: string): number | null {
  const t = s.replace(/[$,]/g, "");
  const f = /^\s*(-?\d+(?:\.\d+)?)\s*\/\s*(-?\d+(?:\.\d+)?)\s*$/.exec(t);
  if (f) return Number(f[1]) / Number(f[2]);
  const m = /-?\d+(?:\.\d+)?/.exec(t);
  return m ? Number(m[0]) : null;
}

interface ZeroEvalRow {
  id: string;
  question: string;
  answer: string;
  chat_history: string[];
  output: string[];
}

/**
 * The data README's 8-model pool on all 1,319 GSM8K items as one PoolItems table: graded as ZeroEval grades,
 * answer key = the first number, $ = (prompt + question characters / 4) × input price + (reply characters
 * / 4) × output price (the data README's reference figures count tokens this way).
 */
export function loadPool8(): PoolItems {
  const models = Object.keys(POOL8);
  const rows = models.map((m) => JSON.parse(fs.readFileSync(path.join(zeroevalGsm, `${m}.json`), "utf8")) as ZeroEvalRow[]);
  const n = rows[0]!.length;
  const out: PoolItems = { models, correct: [], cost: [], answer: [], prompt: [], type: [] };
  for (let i = 0; i < n; i++) {
    const gold = firstNumber(rows[0]![i]!.answer.replace(/^#\s*/, ""))!;
    const correct: boolean[] = [];
    const cost: number[] = [];
    const answer: (string | null)[] = [];
    models.forEach((m, j) => {
      const r = rows[j]![i]!;
      if (r.id !== rows[0]![i]!.id) throw new Error(`${m}.json: item ${i} is ${r.id}, expected ${rows[0]![i]!.id}`);
      const reply = r.output[0] ?? "";
      const a = zeroevalAnswer(reply, m);
      const v = a === null ? null : firstNumber(a);
      answer.push(v === null ? null : String(v));
      correct.push(v !== null && Math.abs(v - gold) < 1e-9);
      const [pin, pout] = POOL8[m]!;
      cost.push(((((r.chat_history[0] ?? "").length + r.question.length) / 4) * pin + (reply.length / 4) * pout) / 1e6);
    });
    out.correct.push(correct);
    out.cost.push(cost);
    out.answer.push(answer);
    out.prompt.push(rows[0]![i]!.question);
    out.type.push("gsm8k");
  }
  return out;
}
