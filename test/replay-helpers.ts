import fs from "node:fs";
import path from "node:path";
import { Rng } from "../src/core/rng.js";

/** The models of {@link writeReplayTable}, cheapest first, with their prices per million tokens. */
export const replayModels = {
  "acme/small-1": { inputPricePerM: 0.2, outputPricePerM: 0.4 },
  "acme/medium-2": { inputPricePerM: 1, outputPricePerM: 3 },
  "acme/large-3": { inputPricePerM: 10, outputPricePerM: 30 },
} as const;

/**
 * A small recorded table (maestro's JSONL) for replay tests: `n` arithmetic items × the three models of
 * {@link replayModels}, each answer with text ending in `ANSWER: <n>`, a recorded correctness flag (the
 * small model sometimes answers without the ANSWER line), and token counts recorded on even items only
 * (odd items are counted with the tokenizer). Prices, not recorded costs, so the API path can match. On
 * every 4th item the large model's recorded flag says wrong although its text has the gold answer.
 */
export function writeReplayTable(file: string, n = 12, seed = 3): string {
  const rng = new Rng(`replay:${seed}`);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = 10 + rng.int(80);
    const b = 2 + rng.int(9);
    const d = rng.next();
    const right = a * b;
    const reply = (ok: boolean, form: boolean, words: number) =>
      `${"Let me multiply step by step. ".repeat(words)}${a} times ${b} is ${ok ? right : right + 1}.${form ? `\nANSWER: ${ok ? right : right + 1}` : ""}\n`;
    // every 4th item: the recorded grader marked the large model's right-looking answer wrong (the
    // recorded flag, not the gold answer, is what tasks.judge auto counts)
    const rec = (ok: boolean, form: boolean, words: number) => ({
      text: reply(ok, form, words),
      correct: words === 4 && i % 4 === 3 ? false : ok,
      ...(i % 2 === 0 ? { tokensIn: 40 + i, tokensOut: 12 * words + i } : {}),
    });
    lines.push(
      JSON.stringify({
        id: `q${i}`,
        prompt: `Item ${i}. A crate holds ${b} rows of ${a} apples.\nHow many apples are in the crate?`,
        answer: String(right),
        models: {
          "acme/small-1": rec(d < 0.4, d < 0.4 || rng.next() < 0.3, 1),
          "acme/medium-2": rec(d < 0.7, true, 2),
          "acme/large-3": rec(d < 0.92, true, 4),
        },
      }),
    );
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

/** The fields of an OpenAI-style reply the tests read (a completion, or an error). */
export interface ChatReply {
  choices?: Array<{ message: { content: string } }>;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  error?: { message: string; type: string; code: string | null; param: string | null };
  maestro?: { steps: Array<{ agent: string; model?: string; error?: string; answer?: string }>; final_answer: string | null };
}

/** POSTs a chat completion (a raw string body is sent as it is); returns the status and the parsed body. */
export async function chat(url: string, body: unknown): Promise<{ status: number; body: ChatReply; text: string }> {
  const r = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: JSON.parse(text) as ChatReply, text };
}
