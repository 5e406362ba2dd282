/**
 * A calculator tool agent for maestro's built-in arithmetic word problems (`tasks.source: arithmetic`),
 * written as a `kind: module` agent — the pattern for any agent of your own: a tool, a retrieval step,
 * a call into your own service.
 *
 * `calculator` reads the problem sentence by sentence, turns each into one operation of a small
 * operation table, computes it (money rounded to the cent after each change, as a till does) and shows
 * its work; its cost is `params.costPerOperation` per operation. `guesser` is the cheap alternative: it
 * answers the first amount the problem mentions — asynchronously, as a call to a service would.
 *
 * In your own project, import the types from the package: `import type { ModuleAgentInput } from "maestro-orchestra"`.
 */
import type { ModuleAgentInput, ModuleAgentResult } from "../../src/index.js";

const cents = (x: number) => Math.round(x * 100) / 100;
const show = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(2));

/** One operation per sentence pattern: what it does to the running value, and how it is written. */
const operations: Array<{ re: RegExp; apply(v: number, n: number): number; text(n: number): string }> = [
  { re: /(?:gives away|loses) (\d+) of them/, apply: (v, n) => v - n, text: (n) => `− ${n}` },
  { re: /(?:buys|finds) (\d+) more/, apply: (v, n) => v + n, text: (n) => `+ ${n}` },
  { re: /splits them equally into (\d+) groups/, apply: (v, n) => v / n, text: (n) => `÷ ${n}` },
  { re: /ends up with (\d+) times as many/, apply: (v, n) => v * n, text: (n) => `× ${n}` },
  { re: /discounted by (\d+)%/, apply: (v, n) => cents(v * (1 - n / 100)), text: (n) => `− ${n}%` },
  { re: /goes up by (\d+)%/, apply: (v, n) => cents(v * (1 + n / 100)), text: (n) => `+ ${n}%` },
  { re: /a fee of (\d+) dollars/, apply: (v, n) => cents(v + n), text: (n) => `+ ${n}` },
  { re: /buys (\d+) of them/, apply: (v, n) => cents(v * n), text: (n) => `× ${n}` },
];

/** The starting value of a problem: "has N", "N boxes … with M in each box" or "costs N dollars". */
function start(sentence: string): number | undefined {
  const boxes = sentence.match(/buys (\d+) boxes of [\w ]+? with (\d+) in each box/);
  if (boxes) return Number(boxes[1]) * Number(boxes[2]);
  const m = sentence.match(/has (\d+) [a-z]+/) ?? sentence.match(/costs (\d+) dollars/);
  return m ? Number(m[1]) : undefined;
}

export function calculator(input: ModuleAgentInput): ModuleAgentResult {
  const perOp = Number(input.params.costPerOperation ?? 0.01);
  const sentences = input.task.prompt.split(/(?<=[.?])\s+/);
  let value: number | undefined;
  const work: string[] = [];
  for (const s of sentences) {
    if (value === undefined) {
      value = start(s);
      if (value !== undefined) work.push(`start: ${show(value)}`);
      continue;
    }
    for (const op of operations) {
      const m = s.match(op.re);
      if (!m) continue;
      const n = Number(m[1]);
      const next = op.apply(value, n);
      work.push(`${show(value)} ${op.text(n)} = ${show(next)}`);
      value = next;
      break;
    }
  }
  if (value === undefined) return { content: "calculator: no problem I can read", cost: perOp };
  const answer = show(value);
  return { answer, content: `${work.join("\n")}\nANSWER: ${answer}`, cost: perOp * Math.max(1, work.length) };
}

export async function guesser(input: ModuleAgentInput): Promise<ModuleAgentResult> {
  // stands in for a call to a cheap remote service
  const first = await Promise.resolve(input.task.prompt.match(/\d+(?:\.\d+)?/)?.[0]);
  return first === undefined ? { content: "no idea", cost: 0.001 } : { answer: first, content: `ANSWER: ${first}`, cost: 0.001 };
}
