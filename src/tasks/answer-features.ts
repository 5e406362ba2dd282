/**
 * Cheap text features of a model's answer that predict whether it is wrong: whether it states
 * a final answer in the expected form, its length, what the final answer looks like, whether the
 * arithmetic it shows checks out, hedging words. Measured on RouteLLM's GSM8K answers of Mixtral
 * (notes in docs/routing.md, "How it works"); none of them is specific to one dataset, the
 * expected form of the final answer comes from the caller (the extracted `answer`).
 *
 * Plain functions of strings: computed once per recorded answer (the recorded table caches them) or once
 * per distinct LLM reply (the `answers` encoder memoises them).
 */

/** Names of the features of {@link answerFeatures}, in order (also the width of the vector). */
export const answerFeatureNames = [
  "has_final_answer",
  "log_chars",
  "log_numbers",
  "log_lines",
  "final_non_integer",
  "final_negative",
  "final_not_numeric",
  "final_differs_from_last_number",
  "text_after_final_answer",
  "log_arithmetic_checked",
  "arithmetic_wrong",
  "hedging",
  "fraction_in_last_line",
] as const;

export const ANSWER_FEATURES = answerFeatureNames.length;

/** Names of the features of {@link promptFeatures}, in order. */
export const promptFeatureNames = ["log_chars", "log_numbers"] as const;

const NUMBER = /-?\d[\d,]*(?:\.\d+)?/g;
const HEDGE =
  /\b(approximately|approx|about|assum\w*|however|cannot|can't|not possible|impossible|unclear|not enough|round\w*|estimat\w*|likely|probably|seems|might|may be|wait|actually|mistake|incorrect|re-?evaluat\w*|let's try|alternatively|note)\b/i;

/** Numbers of a text, thousands separators removed. */
export function numbersIn(text: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(NUMBER)) {
    const v = Number(m[0].replace(/,/g, ""));
    if (Number.isFinite(v)) out.push(v);
  }
  return out;
}

/** A number written as the final answer (`$1,234.50`, `-3`, `12 apples`), if the answer starts with one. */
export function numericAnswer(answer: string): number | undefined {
  const m = answer
    .trim()
    .replace(/^\$\s*/, "")
    .match(/^-?\d[\d,]*(?:\.\d+)?/);
  if (!m) return undefined;
  const v = Number(m[0].replace(/,/g, ""));
  return Number.isFinite(v) ? v : undefined;
}

/**
 * Value of an arithmetic expression of numbers, + − × ÷ * / x and parentheses; undefined for anything
 * else. A small recursive-descent parser: answers are data, never `eval`ed.
 */
export function evalArithmetic(expr: string): number | undefined {
  const src = expr
    .replace(/,(?=\d{3}\b)/g, "")
    .replace(/[×x]/g, "*")
    .replace(/÷/g, "/")
    .replace(/\$/g, "");
  let i = 0;
  const ws = () => {
    while (src[i] === " " || src[i] === "\t") i++;
  };
  const num = (): number | undefined => {
    ws();
    const m = /^\d+(?:\.\d+)?%?/.exec(src.slice(i));
    if (!m) return undefined;
    i += m[0].length;
    return m[0].endsWith("%") ? Number(m[0].slice(0, -1)) / 100 : Number(m[0]);
  };
  const factor = (): number | undefined => {
    ws();
    if (src[i] === "-") {
      i++;
      const v = factor();
      return v === undefined ? undefined : -v;
    }
    if (src[i] === "(") {
      i++;
      const v = sum();
      ws();
      if (v === undefined || src[i] !== ")") return undefined;
      i++;
      return v;
    }
    return num();
  };
  const product = (): number | undefined => {
    let v = factor();
    for (;;) {
      ws();
      const op = src[i];
      if (v === undefined || (op !== "*" && op !== "/")) return v;
      i++;
      const r = factor();
      if (r === undefined) return undefined;
      v = op === "*" ? v * r : v / r;
    }
  };
  const sum = (): number | undefined => {
    let v = product();
    for (;;) {
      ws();
      const op = src[i];
      if (v === undefined || (op !== "+" && op !== "-")) return v;
      i++;
      const r = product();
      if (r === undefined) return undefined;
      v = op === "+" ? v + r : v - r;
    }
  };
  const v = sum();
  ws();
  return i === src.length && v !== undefined && Number.isFinite(v) ? v : undefined;
}

// written so that every space has one place to go: adjacent optional \s* (e.g. around an absent bracket)
// made a long chain like `1 + 2 - 3 + ...` without `=` backtrack exponentially
const OPERAND = String.raw`(?:[$(]\s*)?-?\d[\d,]*(?:\.\d+)?%?(?:\s*\))?`;
/**
 * `a op b (op c…) = value` standing alone: not glued to a word or number, not preceded by an operator
 * (`x * 3/4 = 9` is not checked as `3/4 = 9`) and not followed by more arithmetic (in `a = 10 + 68/2 = 10 + 34 = 44` only
 * `10 + 34 = 44` is a statement). `%` signs are dropped (`50% - 25% = 25%`).
 */
const PLAIN_STATEMENT = new RegExp(
  String.raw`(?<![\w.,$]|[)*/+×÷%-]\s*)((?:${OPERAND}\s*[-+*/×x÷]\s*)+${OPERAND})\s*=\s*\$?\s*(-?\d[\d,]*(?:\.\d+)?)(?![\d,]*\d)(?!\.\d)(?!\s*[-+*/×x÷(]\s*[\d($])`,
  "g",
);

/**
 * Arithmetic the answer shows: calculator annotations `<<expr=value>>` (GSM8K style) and plain
 * statements `a op b (op c…) = value` on one line. Returns how many could be checked and how many are wrong
 * (a value that is the result rounded to the decimals it shows counts as right).
 */
export function arithmeticChecks(text: string): { checked: number; wrong: number } {
  let checked = 0;
  let wrong = 0;
  const check = (expr: string, value: string) => {
    const lhs = evalArithmetic(expr.trim());
    const rhs = numericAnswer(value.trim());
    if (lhs === undefined || rhs === undefined) return;
    // an expression without an operator (`x = 5`) checks nothing
    if (!/\d\s*[-+*/×x÷]\s*[-$(]?\s*\d/.test(expr.replace(/,(?=\d{3}\b)/g, ""))) return;
    checked++;
    // right when the value is the result rounded to the decimals it shows (`10 * 2/3 = 6.67`, `73 / 8 = 9`)
    const decimals = value.trim().match(/\.(\d+)/)?.[1]?.length ?? 0;
    if (!(Math.abs(lhs - rhs) < 0.5 * 10 ** -decimals + 1e-9 * Math.max(1, Math.abs(lhs)))) wrong++;
  };
  for (const m of text.matchAll(/<<([^=<>]+)=([^<>]+)>>/g)) check(m[1]!, m[2]!);
  const plain = text.replace(/<<[^<>]*>>/g, " ");
  for (const m of plain.matchAll(PLAIN_STATEMENT)) check(m[1]!.replace(/%/g, ""), m[2]!);
  return { checked, wrong };
}

/**
 * The feature vector of one answer (width `ANSWER_FEATURES`, values roughly in [0, 1.5]).
 * `answer` is the final answer extracted in the expected form (undefined when the text states none).
 */
export function answerFeatures(text: string, answer: string | undefined): Float32Array {
  const f = new Float32Array(ANSWER_FEATURES);
  const t = text.trim();
  const nums = numbersIn(t);
  const lines = t === "" ? 0 : t.split(/\n+/).length;
  f[0] = answer !== undefined ? 1 : 0;
  f[1] = Math.log1p(t.length) / 8;
  f[2] = Math.log1p(nums.length) / 4;
  f[3] = Math.log1p(lines) / 4;
  if (answer !== undefined) {
    const v = numericAnswer(answer);
    if (v === undefined) f[6] = 1;
    else {
      f[4] = Number.isInteger(v) ? 0 : 1;
      f[5] = v < 0 ? 1 : 0;
      const last = nums[nums.length - 1];
      f[7] = last !== undefined && Math.abs(last - v) > 1e-9 * Math.max(1, Math.abs(v)) ? 1 : 0;
    }
    const at = t.lastIndexOf(answer.trim());
    f[8] = at >= 0 && t.slice(at + answer.trim().length).replace(/[\s.*)\]}]+/g, "").length > 0 ? 1 : 0;
  }
  const a = arithmeticChecks(t);
  f[9] = Math.log1p(a.checked) / 3;
  f[10] = Math.min(a.wrong, 3) / 3;
  f[11] = HEDGE.test(t) ? 1 : 0;
  const lastLine = t.split("\n").pop() ?? "";
  f[12] = /\d+\s*\/\s*\d+/.test(lastLine) ? 1 : 0;
  return f;
}

/** Features of a task prompt: log length and log count of numbers (what a router sees besides n-grams). */
export function promptFeatures(prompt: string): Float32Array {
  return Float32Array.of(Math.log1p(prompt.length) / 8, Math.log1p(numbersIn(prompt).length) / 4);
}
