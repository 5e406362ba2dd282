import { Rng } from "../core/rng.js";
import type { Task } from "../core/types.js";

/**
 * A seeded generator of multi-step arithmetic word problems (checkable tasks with no download), and
 * the parser that reads such a problem back (the simulated LLM server uses it to know the answer).
 * Three task types:
 * - `addsub`: a count changed by 2–4 purchases / gifts / losses;
 * - `muldiv`: boxes × items per box, shared equally, multiplied;
 * - `percent`: a price with percentage discounts / mark-ups, a fee, and a quantity.
 */

export const arithmeticTypes = ["addsub", "muldiv", "percent"] as const;
export type ArithmeticType = (typeof arithmeticTypes)[number];

const names = [
  "Ava",
  "Ben",
  "Chloe",
  "Dev",
  "Elena",
  "Farid",
  "Grace",
  "Hiro",
  "Ines",
  "Jonas",
  "Kemi",
  "Liam",
  "Mila",
  "Noah",
  "Omar",
  "Priya",
];
const items = ["apples", "marbles", "stickers", "pencils", "cards", "shells", "stamps", "beads"];
const goods = ["lamp", "jacket", "backpack", "kettle", "chair", "bicycle helmet", "board game", "desk fan"];

/** Round to cents (percent problems), so answers print exactly. */
const cents = (x: number) => Math.round(x * 100) / 100;

export function formatNumber(x: number): string {
  return Number.isInteger(x) ? String(x) : String(cents(x));
}

export interface GeneratedProblem {
  prompt: string;
  answer: number;
  type: ArithmeticType;
  steps: number;
}

/** One problem of `type` with `steps` operations after the opening sentence. */
export function generateProblem(rng: Rng, type: ArithmeticType, steps: number): GeneratedProblem {
  const name = names[rng.int(names.length)]!;
  const s: string[] = [];
  let v: number;
  if (type === "addsub") {
    const item = items[rng.int(items.length)]!;
    v = 10 + rng.int(40);
    s.push(`${name} has ${v} ${item}.`);
    for (let i = 0; i < steps; i++) {
      const n = 2 + rng.int(15);
      if (v - n >= 0 && rng.next() < 0.5) {
        v -= n;
        s.push(rng.next() < 0.5 ? `Then ${name} gives away ${n} of them.` : `Then ${name} loses ${n} of them.`);
      } else {
        v += n;
        s.push(rng.next() < 0.5 ? `Then ${name} buys ${n} more.` : `Then ${name} finds ${n} more.`);
      }
    }
    s.push(`How many ${item} does ${name} have now?`);
  } else if (type === "muldiv") {
    const item = items[rng.int(items.length)]!;
    const boxes = 2 + rng.int(8);
    const per = 2 + rng.int(10);
    v = boxes * per;
    s.push(`${name} buys ${boxes} boxes of ${item} with ${per} in each box.`);
    for (let i = 0; i < steps; i++) {
      const divisors = [2, 3, 4, 5, 6].filter((d) => v % d === 0 && v / d >= 2);
      if (divisors.length > 0 && rng.next() < 0.5) {
        const d = divisors[rng.int(divisors.length)]!;
        v /= d;
        s.push(`Then ${name} splits them equally into ${d} groups and keeps one group.`);
      } else if (v <= 400) {
        const m = 2 + rng.int(3);
        v *= m;
        s.push(`Then ${name} ends up with ${m} times as many.`);
      } else {
        const n = 2 + rng.int(10);
        v += n;
        s.push(`Then ${name} buys ${n} more.`);
      }
    }
    s.push(`How many ${item} does ${name} have now?`);
  } else {
    const good = goods[rng.int(goods.length)]!;
    v = 20 * (1 + rng.int(15));
    s.push(`A ${good} costs ${v} dollars.`);
    for (let i = 0; i < steps; i++) {
      const r = rng.next();
      if (r < 0.4) {
        const p = 5 * (1 + rng.int(8));
        v = cents(v * (1 - p / 100));
        s.push(`Then the price is discounted by ${p}%.`);
      } else if (r < 0.7) {
        const p = 5 * (1 + rng.int(6));
        v = cents(v * (1 + p / 100));
        s.push(`Then the price goes up by ${p}%.`);
      } else {
        const n = 1 + rng.int(12);
        v = cents(v + n);
        s.push(`Then a fee of ${n} dollars is added.`);
      }
    }
    const q = 1 + rng.int(4);
    v = cents(v * q);
    s.push(`${name} buys ${q} of them. How many dollars does ${name} pay in total?`);
  }
  return { prompt: s.join(" "), answer: v, type, steps };
}

export interface ArithmeticOptions {
  seed: number | string;
  count: number;
  types: readonly ArithmeticType[];
  minSteps: number;
  maxSteps: number;
  /** Prefix of task ids. */
  idPrefix?: string;
}

/** `count` problems with types cycling through `types` (balanced) and seeded step counts. */
export function generateArithmeticTasks(o: ArithmeticOptions): Task[] {
  const rng = new Rng(`${o.seed}:arithmetic`);
  const out: Task[] = [];
  for (let i = 0; i < o.count; i++) {
    const type = o.types[i % o.types.length]!;
    const steps = o.minSteps + rng.int(o.maxSteps - o.minSteps + 1);
    const p = generateProblem(rng, type, steps);
    out.push({ id: `${o.idPrefix ?? "arith"}-${i}`, prompt: p.prompt, answer: formatNumber(p.answer), type });
  }
  return out;
}

export interface ParsedProblem {
  type: ArithmeticType;
  answer: number;
  /** Intermediate values after each sentence (the "work" a solver would show). */
  trace: number[];
}

/**
 * Reads a problem of the generator back from free text (e.g. a chat prompt that contains it) and
 * computes its answer. Returns undefined when no problem is found.
 */
export function parseArithmeticProblem(text: string): ParsedProblem | undefined {
  let m: RegExpMatchArray | null;
  let type: ArithmeticType;
  let v: number;
  let rest: string;
  if ((m = text.match(/(\w+) buys (\d+) boxes of [\w ]+? with (\d+) in each box\.([\s\S]*)/))) {
    type = "muldiv";
    v = Number(m[2]) * Number(m[3]);
    rest = m[4]!;
  } else if ((m = text.match(/A [\w ]+? costs (\d+) dollars\.([\s\S]*)/))) {
    type = "percent";
    v = Number(m[1]);
    rest = m[2]!;
  } else if ((m = text.match(/(\w+) has (\d+) [a-z]+\.([\s\S]*)/))) {
    type = "addsub";
    v = Number(m[2]);
    rest = m[3]!;
  } else return undefined;
  const trace = [v];
  const ops =
    /Then (?:\w+ (?:gives away|loses) (\d+) of them|\w+ (?:buys|finds) (\d+) more|\w+ splits them equally into (\d+) groups and keeps one group|\w+ ends up with (\d+) times as many|the price is discounted by (\d+)%|the price goes up by (\d+)%|a fee of (\d+) dollars is added)\.|\w+ buys (\d+) of them\.|(\?)/g;
  for (const o of rest.matchAll(ops)) {
    if (o[9]) break;
    if (o[1]) v -= Number(o[1]);
    else if (o[2]) v += Number(o[2]);
    else if (o[3]) v /= Number(o[3]);
    else if (o[4]) v *= Number(o[4]);
    else if (o[5]) v = cents(v * (1 - Number(o[5]) / 100));
    else if (o[6]) v = cents(v * (1 + Number(o[6]) / 100));
    else if (o[7]) v = cents(v + Number(o[7]));
    else if (o[8]) v = cents(v * Number(o[8]));
    trace.push(v);
  }
  return { type, answer: v, trace };
}
