import { createRequire } from "node:module";

/**
 * Token counts of texts whose usage was not recorded (recorded answers priced as
 * tokens × price). Counted with gpt-tokenizer: pure JavaScript (nothing to build or download), exact
 * tiktoken counts for OpenAI's encodings (checked equal to tiktoken and js-tiktoken on all 3,957 GSM8K
 * texts), and the fastest of the three on Node 20. cl100k_base is GPT-4's / GPT-3.5's encoding,
 * o200k_base GPT-4o's. Other families (Mixtral's SentencePiece) count about 20–30 % more tokens on
 * the same text; docs/routing.md says so where it reports $.
 */
export const tokenizerNames = ["cl100k_base", "o200k_base"] as const;
export type TokenizerName = (typeof tokenizerNames)[number];

// special-token strings in recorded text are counted as plain text, never rejected
const asText = { disallowedSpecial: new Set<string>() };

type Counter = (text: string, o: typeof asText) => number;
const requireCjs = createRequire(import.meta.url);
const counters: Partial<Record<TokenizerName, Counter>> = {};
/**
 * The encoding's counter, loaded on first use: an encoding's BPE table costs ~40 MiB and ~0.1 s to load,
 * which every run would otherwise pay at start-up (only runs on recorded outputs count tokens).
 */
function counter(encoding: TokenizerName): Counter {
  return (counters[encoding] ??= (requireCjs(`gpt-tokenizer/encoding/${encoding}`) as { countTokens: Counter }).countTokens);
}

const memo = { cl100k_base: new Map<string, number>(), o200k_base: new Map<string, number>() };
const MEMO_LIMIT = 200_000;

/** Token count of `text` (memoised: recorded tables are loaded by several parts of one process). */
export function countTokens(text: string, encoding: TokenizerName = "cl100k_base"): number {
  if (text === "") return 0;
  const m = memo[encoding];
  let n = m.get(text);
  if (n === undefined) {
    n = counter(encoding)(text, asText);
    if (m.size >= MEMO_LIMIT) m.clear();
    m.set(text, n);
  }
  return n;
}
