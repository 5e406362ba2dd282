/**
 * ZeroEval's grading rule for math answers, reimplemented from WildEval/ZeroEval
 * `src/evaluation/math_eval.py` (`eval_model`, `santize_math_answers`) and the helpers it calls in
 * `src/evaluation/eval_utils.py` (`extract_first_complete_json`, `extract_values_from_json`,
 * `model_specific_extraction`), https://github.com/WildEval/ZeroEval (Apache-2.0). One implementation,
 * used by the ZeroEval importer, the `json-answer` extract mode of agents and the `zeroeval` evaluator,
 * so a live agent extracts and is judged exactly as the imported recordings were graded.
 *
 * Extraction of a reply:
 * 1. the first complete `{…}` of the reply (braces counted naively, as the source does; newlines removed
 *    before parsing); if it parses and has an `answer` key, its value (Python's `str()` of it);
 *    if the first balanced span does not parse, there is no JSON object (the source stops there too);
 * 2. else `"answer": "…"`, then `"answer": value` (no quotes on the value), then `answer: value`
 *    (no quotes on the key) found by regular expression;
 * 3. else, for models whose name contains `Llama-3.1`, `\boxed{…}` when "boxed" is in the last 30
 *    characters of the reply;
 * 4. else no answer (graded wrong).
 * Comparison: `#` removed from the gold; both sides lose `$` and `,`, are trimmed, and a side with a `/`
 * is evaluated as a Python arithmetic expression when it is one (`3/4` → `0.75`); the first number
 * (`-?\d+(\.\d+)?`) of each side is compared as floats. No number on either side = wrong.
 */

/** Where the answer of a reply came from. */
export type ZeroEvalSource = "json" | "regex" | "boxed" | "none";

export interface ZeroEvalExtraction {
  /** The extracted answer as graded (Python's `str()` of the JSON value or the matched text); undefined = none. */
  answer: string | undefined;
  source: ZeroEvalSource;
}

/**
 * The first complete JSON object of `s`: the span from the first `{` to the `}` that closes it (braces
 * inside strings count, as in the source). Undefined when there is none or that span does not parse.
 */
export function firstCompleteJson(s: string): unknown {
  let depth = 0;
  let start = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 123 /* { */) {
      if (start < 0) start = i;
      depth++;
    } else if (c === 125 /* } */ && depth > 0) {
      depth--;
      if (depth === 0) {
        try {
          return JSON.parse(s.slice(start, i + 1).replaceAll("\n", ""));
        } catch {
          return undefined;
        }
      }
    }
  }
  return undefined;
}

/** Python's `repr` of a float (shortest round-trip digits; exponent form below 1e-4 and from 1e16). */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  // toExponential() without digits gives the shortest round-trip digits, as Python's repr uses
  const [mant, ex] = Math.abs(x).toExponential().split("e") as [string, string];
  const e10 = Number(ex);
  const sign = x < 0 ? "-" : "";
  if (e10 < -4 || e10 >= 16) return `${sign}${mant}e${e10 < 0 ? "-" : "+"}${String(Math.abs(e10)).padStart(2, "0")}`;
  const d = mant.replace(".", "");
  if (e10 < 0) return `${sign}0.${"0".repeat(-e10 - 1)}${d}`;
  const int = d.padEnd(e10 + 1, "0").slice(0, e10 + 1);
  return `${sign}${int}.${d.slice(e10 + 1) || "0"}`;
}

/** Python's `repr` of a string, close enough for grading (digits are what the comparison reads). */
function pyStrRepr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  const body = s.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll("\r", "\\r").replaceAll("\t", "\\t");
  return q + (q === "'" ? body.replaceAll("'", "\\'") : body) + q;
}

/**
 * Python's `str()` of a value `json.loads` returned. An integral number prints as an int (`18.0` in the
 * JSON prints `18` here, `18.0` in Python: the same first number); others as Python's float repr.
 */
export function pyStr(v: unknown, nested = false): string {
  if (v === null) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "number") return Number.isInteger(v) ? BigInt(v).toString() : pyFloatRepr(v);
  if (typeof v === "string") return nested ? pyStrRepr(v) : v;
  if (Array.isArray(v)) return `[${v.map((x) => pyStr(x, true)).join(", ")}]`;
  if (typeof v === "object") {
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${pyStrRepr(k)}: ${pyStr(x, true)}`)
      .join(", ")}}`;
  }
  return String(v);
}

/** `extract_values_from_json(reply, allow_no_quotes=True)["answer"]`: the regular-expression fallback. */
function answerByRegex(s: string): string | undefined {
  const m = /"answer"\s*:\s*"([^"]*?)"/.exec(s) ?? /"answer"\s*:\s*"(.*?)"/s.exec(s);
  if (m) return m[1];
  const u = /"answer"\s*:\s*([^,\s]*)/.exec(s) ?? /answer\s*:\s*([^,\s]*)/.exec(s);
  return u ? u[1] : undefined;
}

/** `model_specific_extraction`: Llama-3.1 models often end with `$\boxed{36}$` instead of the JSON. */
function boxedAnswer(model: string | undefined, s: string): string | undefined {
  if (model === undefined || !model.includes("Llama-3.1")) return undefined;
  // the last 30 characters (code points, as Python slices)
  const tail = s.length <= 30 ? s : Array.from(s.slice(-60)).slice(-30).join("");
  if (!tail.includes("boxed")) return undefined;
  // Python's \w on str is [\p{L}\p{N}_]
  const m = /\\boxed\{([\p{L}\p{N}_]+)\}/u.exec(s);
  return m?.[1] || undefined;
}

/** ZeroEval's answer of a reply; `model` enables the model-specific rule (Llama-3.1's `\boxed{}`). */
export function extractZeroEval(reply: string, model?: string): ZeroEvalExtraction {
  const json = firstCompleteJson(reply);
  if (json !== null && typeof json === "object" && !Array.isArray(json) && Object.hasOwn(json, "answer")) {
    return { answer: pyStr((json as Record<string, unknown>).answer), source: "json" };
  }
  const r = answerByRegex(reply);
  if (r !== undefined) return { answer: r, source: "regex" };
  const b = boxedAnswer(model, reply);
  if (b !== undefined) return { answer: b, source: "boxed" };
  return { answer: undefined, source: "none" };
}

// ---- the comparison ----

type PyNum = { v: number; int: boolean };

/**
 * Python's `eval` restricted to arithmetic on number literals (+ - * / // % ** and parentheses), which
 * is all `santize_math_answers` can turn into a float; anything else (names, calls, units, dates with a
 * leading zero) is a syntax or type error in Python and undefined here: the text is then kept as is.
 */
export function evalArithmetic(src: string): number | undefined {
  const toks: Array<{ t: "num"; n: PyNum } | { t: "op"; s: string }> = [];
  const re =
    /\s*(?:((?:\d(?:_?\d)*)?\.\d(?:_?\d)*(?:[eE][+-]?\d(?:_?\d)*)?|\d(?:_?\d)*\.?(?:[eE][+-]?\d(?:_?\d)*)?)|(\*\*|\/\/|[-+*/%()]))/y;
  let i = 0;
  const s = src.replace(/\s+$/, "");
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) return undefined;
    i = re.lastIndex;
    if (m[1] !== undefined) {
      const lit = m[1].replaceAll("_", "");
      const isInt = /^\d+$/.test(lit);
      // Python 3 rejects decimal integers with leading zeros (`08`), except zero itself
      if (isInt && /^0\d/.test(lit) && !/^0+$/.test(lit)) return undefined;
      toks.push({ t: "num", n: { v: Number(lit), int: isInt } });
    } else toks.push({ t: "op", s: m[2]! });
  }
  let p = 0;
  const peek = () => toks[p];
  const isOp = (s: string) => {
    const t = toks[p];
    return t !== undefined && t.t === "op" && t.s === s;
  };
  const fail = (): never => {
    throw new Error("syntax");
  };
  const num = (v: number, int: boolean): PyNum => {
    if (!Number.isFinite(v)) fail();
    return { v, int };
  };
  const binary = (op: string, a: PyNum, b: PyNum): PyNum => {
    const int = a.int && b.int;
    switch (op) {
      case "+":
        return num(a.v + b.v, int);
      case "-":
        return num(a.v - b.v, int);
      case "*":
        return num(a.v * b.v, int);
      case "/":
        if (b.v === 0) fail();
        return num(a.v / b.v, false);
      case "//":
        if (b.v === 0) fail();
        return num(Math.floor(a.v / b.v), int);
      case "%": {
        if (b.v === 0) fail();
        const r = a.v % b.v;
        return num(r !== 0 && r < 0 !== b.v < 0 ? r + b.v : r, int);
      }
      default: {
        // "**": an int to a negative int power is a float; 0 to a negative power is ZeroDivisionError
        if (a.v === 0 && b.v < 0) fail();
        const v = a.v ** b.v;
        if (Number.isNaN(v)) fail(); // negative base, fractional power: complex in Python
        return num(v, int && b.v >= 0);
      }
    }
  };
  // expr := term (('+'|'-') term)*; term := factor (('*'|'/'|'//'|'%') factor)*;
  // factor := ('+'|'-') factor | power; power := atom ['**' factor]; atom := number | '(' expr ')'
  const atom = (): PyNum => {
    const t = peek();
    if (t === undefined) return fail();
    if (t.t === "num") {
      p++;
      return t.n;
    }
    if (t.s === "(") {
      p++;
      const v = expr();
      if (!isOp(")")) fail();
      p++;
      return v;
    }
    return fail();
  };
  const power = (): PyNum => {
    const a = atom();
    if (isOp("**")) {
      p++;
      return binary("**", a, factor());
    }
    return a;
  };
  const factor = (): PyNum => {
    if (isOp("-")) {
      p++;
      const v = factor();
      return { v: -v.v, int: v.int };
    }
    if (isOp("+")) {
      p++;
      return factor();
    }
    return power();
  };
  const term = (): PyNum => {
    let a = factor();
    for (;;) {
      const t = peek();
      if (t?.t === "op" && (t.s === "*" || t.s === "/" || t.s === "//" || t.s === "%")) {
        p++;
        a = binary(t.s, a, factor());
      } else return a;
    }
  };
  const expr = (): PyNum => {
    let a = term();
    for (;;) {
      const t = peek();
      if (t?.t === "op" && (t.s === "+" || t.s === "-")) {
        p++;
        a = binary(t.s, a, term());
      } else return a;
    }
  };
  try {
    if (toks.length === 0) return undefined;
    const v = expr();
    if (p !== toks.length) return undefined;
    return v.v;
  } catch {
    return undefined;
  }
}

/** `santize_math_answers`: drop `$` and `,`, trim, and evaluate a fraction (`3/4` → `0.75`). */
export function sanitizeMathAnswer(answer: string): string {
  const a = answer.replaceAll("$", "").trim().replaceAll(",", "");
  if (!a.includes("/")) return a;
  const v = evalArithmetic(a);
  return v === undefined ? a : pyFloatRepr(v);
}

/** Value of a decimal digit of any script (Python's \d and float() accept them all). */
function asciiDigits(s: string): string {
  return s.replace(/\p{Nd}/gu, (d) => {
    let c = d.codePointAt(0)!;
    if (c >= 48 && c <= 57) return d;
    // Unicode decimal digits come in runs of ten starting at zero
    let start = c;
    while (/\p{Nd}/u.test(String.fromCodePoint(start - 1))) start--;
    c = (c - start) % 10;
    return String(c);
  });
}

/** The first number of a sanitised answer, as Python's `float()` reads it; undefined when there is none. */
export function firstNumber(s: string): number | undefined {
  const m = /-?\p{Nd}+(?:\.\p{Nd}+)?/u.exec(s);
  return m ? Number(asciiDigits(m[0])) : undefined;
}

/** The gold answer as ZeroEval reads it: `#` removed, trimmed (GSM8K's `# 18` → `18`). */
export function zeroEvalGold(gold: string | number): string {
  return String(gold).replaceAll("#", "").trim();
}

/** ZeroEval's comparison: the first numbers of the sanitised answer and gold are equal as floats. */
export function zeroEvalMatch(answer: string, gold: string | number): boolean {
  const a = firstNumber(sanitizeMathAnswer(answer));
  const b = firstNumber(sanitizeMathAnswer(zeroEvalGold(gold)));
  return a !== undefined && b !== undefined && a === b;
}

/** Grades one reply: its extracted answer and whether it matches the gold. */
export function gradeZeroEval(reply: string, gold: string | number, model?: string): ZeroEvalExtraction & { correct: boolean } {
  const x = extractZeroEval(reply, model);
  return { ...x, correct: x.answer !== undefined && zeroEvalMatch(x.answer, gold) };
}
