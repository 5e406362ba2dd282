/**
 * Baselines for cost–quality curves over a pool of N models on recorded answers (pure functions: no tfjs,
 * no files). Everything is evaluated on the `test` split; whatever is learned or chosen (the cost order of
 * the pool, the strong and the most accurate model, the agreement rule family's frontier, the router's
 * weights and L2) uses `train` and `val` only.
 *
 * The baselines are those of the LLM-routing and cascade literature: single models, agreement cascades
 * (FrugalGPT, Chen et al. 2023; "model cascades with self-consistency", Yue et al. 2024), majority vote,
 * a RouteLLM-style router that sees only the question (Ong et al., ICLR 2025), random routing and the
 * per-item oracle.
 */
import { InputError } from "../core/errors.js";
import { hashedNgrams } from "../core/text.js";
import { promptFeatures } from "../tasks/answer-features.js";
import { frontier, type CostAxis, type PoolPoint } from "./metrics-pool.js";

export type { CostAxis, PoolPoint } from "./metrics-pool.js";

/** One split's items: every model's recorded result on every item. */
export interface PoolItems {
  /** The pool, any order (the same models in every split). */
  models: string[];
  /** [item][model]: was the model's answer right. */
  correct: boolean[][];
  /** [item][model]: $ of that call. */
  cost: number[][];
  /** [item][model]: normalised answer key; equal keys agree; null = no answer (agrees with nothing). */
  answer: (string | null)[][];
  /** Per item: the question. */
  prompt: string[];
  /** Per item: the task type. */
  type: string[];
}

export interface PoolSplits {
  train: PoolItems;
  val: PoolItems;
  test: PoolItems;
}

/** How a baseline is drawn: one point per model, one marked point, or a curve of operating points. */
export type PoolBaselineKind = "single" | "point" | "curve";

export interface PoolBaseline {
  name: string;
  /** What the baseline does, in words. */
  label: string;
  kind: PoolBaselineKind;
  points: PoolPoint[];
}

export interface PoolBaselineOptions {
  /** The cost axis the agreement rules' frontier (on val) and the router's cost penalty use. */
  axis: CostAxis;
  /** How many of the cheapest models (by mean train $) the agreement rules draw from. Default 5. */
  cheapModels?: number;
  /** Hash buckets of the router's word 1-2-gram features. Default 64. */
  routerBuckets?: number;
  /** Most operating points of the router's curve (values of μ). Default 200. */
  routerPoints?: number;
}

/** Facts of the pool learned on the training items. */
export interface PoolFacts {
  models: string[];
  /** Model indices, cheapest first by mean train $ per call (ties: pool order). */
  order: number[];
  /** rank[m]: position of model m in `order` (higher = more expensive). */
  rank: number[];
  meanCost: number[];
  trainAccuracy: number[];
  /** The most expensive model by mean train $ (RouteLLM's "strong" model). */
  strong: number;
  /** The most accurate model on train (ties: the cheaper). */
  best: number;
  cheapest: number;
}

// ---------------------------------------------------------------------------------------------------------
// input checks

function fail(split: string, field: string, msg: string): never {
  throw new InputError(`pool ${split} split: ${field}: ${msg}`, undefined, `${split}.${field}`);
}

/** Checks one split's table: sizes, types, finite non-negative costs. */
export function checkPoolItems(s: PoolItems, split: string): void {
  if (!Array.isArray(s.models) || s.models.length === 0) fail(split, "models", "expected a non-empty list of model names");
  const seen = new Set<string>();
  s.models.forEach((m, j) => {
    if (typeof m !== "string" || m === "") fail(split, `models[${j}]`, `expected a model name, got ${JSON.stringify(m)}`);
    if (seen.has(m)) fail(split, `models[${j}]`, `${m} appears twice`);
    seen.add(m);
  });
  const n = s.prompt?.length;
  if (!Array.isArray(s.prompt)) fail(split, "prompt", "expected a list of questions");
  for (const f of ["correct", "cost", "answer", "type"] as const) {
    if (!Array.isArray(s[f])) fail(split, f, "expected a list with one entry per item");
    if (s[f].length !== n) fail(split, f, `has ${s[f].length} items, prompt has ${n}`);
  }
  const k = s.models.length;
  for (let i = 0; i < n; i++) {
    if (typeof s.prompt[i] !== "string") fail(split, `prompt[${i}]`, "expected a string");
    if (typeof s.type[i] !== "string") fail(split, `type[${i}]`, "expected a string");
    for (const f of ["correct", "cost", "answer"] as const) {
      const row = s[f][i];
      if (!Array.isArray(row) || row.length !== k)
        fail(split, `${f}[${i}]`, `expected one entry per model (${k}), got ${Array.isArray(row) ? row.length : typeof row}`);
    }
    for (let m = 0; m < k; m++) {
      const c = s.cost[i]![m];
      if (typeof c !== "number" || !Number.isFinite(c) || c < 0)
        fail(split, `cost[${i}][${m}]`, `expected a finite $ ≥ 0 (${s.models[m]}), got ${String(c)}`);
      if (typeof s.correct[i]![m] !== "boolean")
        fail(split, `correct[${i}][${m}]`, `expected true or false (${s.models[m]}), got ${String(s.correct[i]![m])}`);
      const a = s.answer[i]![m];
      if (a !== null && typeof a !== "string")
        fail(split, `answer[${i}][${m}]`, `expected a string or null (${s.models[m]}), got ${String(a)}`);
    }
  }
}

/** The split with its columns in the order of `models` (the same set of models, any order). */
function aligned(s: PoolItems, models: readonly string[], split: string): PoolItems {
  if (s.models.length === models.length && s.models.every((m, j) => m === models[j])) return s;
  const idx = models.map((m) => s.models.indexOf(m));
  const missing = models.filter((_, j) => idx[j]! < 0);
  const extra = s.models.filter((m) => !models.includes(m));
  if (missing.length > 0 || extra.length > 0) {
    fail(
      split,
      "models",
      `expected the training split's pool (${models.join(", ")})${missing.length ? `; missing ${missing.join(", ")}` : ""}${extra.length ? `; not in train: ${extra.join(", ")}` : ""}`,
    );
  }
  const pick = <T>(rows: T[][]) => rows.map((r) => idx.map((j) => r[j]!));
  return { ...s, models: [...models], correct: pick(s.correct), cost: pick(s.cost), answer: pick(s.answer) };
}

/** Checks the three splits and puts val and test in the training split's model order. */
export function checkPoolSplits(s: PoolSplits): PoolSplits {
  for (const split of ["train", "val", "test"] as const) {
    if (!s[split]) throw new InputError(`pool: the ${split} split is missing`, undefined, split);
    checkPoolItems(s[split], split);
  }
  if (s.train.models.length < 2) fail("train", "models", `a pool needs at least two models, got ${s.train.models.length}`);
  for (const split of ["train", "val", "test"] as const) {
    if (s[split].prompt.length === 0)
      fail(split, "prompt", "the split has no items (train: cost order and router; val: rule and L2 choice; test: every figure)");
  }
  return { train: s.train, val: aligned(s.val, s.train.models, "val"), test: aligned(s.test, s.train.models, "test") };
}

// ---------------------------------------------------------------------------------------------------------
// facts of the pool

const meanOf = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

function column<T>(rows: readonly T[][], m: number): T[] {
  return rows.map((r) => r[m]!);
}

/** Cost order, strong, best and cheapest model, from the training items. */
export function poolFacts(train: PoolItems): PoolFacts {
  const k = train.models.length;
  const meanCost = Array.from({ length: k }, (_, m) => meanOf(column(train.cost, m)));
  const trainAccuracy = Array.from({ length: k }, (_, m) => meanOf(column(train.correct, m).map(Number)));
  const order = Array.from({ length: k }, (_, m) => m).sort((a, b) => meanCost[a]! - meanCost[b]! || a - b);
  const rank = new Array<number>(k);
  order.forEach((m, r) => (rank[m] = r));
  let best = order[0]!;
  for (const m of order) if (trainAccuracy[m]! > trainAccuracy[best]!) best = m;
  return { models: [...train.models], order, rank, meanCost, trainAccuracy, strong: order[k - 1]!, best, cheapest: order[0]! };
}

// ---------------------------------------------------------------------------------------------------------
// per-item outcomes

/** Per-item answer groups: group[i][m] = id of model m's answer among item i's answers (−1: no answer). */
function answerGroups(s: PoolItems): Int32Array[] {
  return s.answer.map((row) => {
    const ids = new Map<string, number>();
    const g = new Int32Array(row.length);
    row.forEach((a, m) => {
      if (a === null) g[m] = -1;
      else {
        if (!ids.has(a)) ids.set(a, ids.size);
        g[m] = ids.get(a)!;
      }
    });
    return g;
  });
}

/** Running sums of a policy's outcomes over items; `point()` divides by the item count. */
class Tally {
  correct = 0;
  cost = 0;
  strong = 0;
  calls = 0;
  n = 0;
  add(correct: boolean, cost: number, strong: boolean, calls: number): void {
    this.correct += correct ? 1 : 0;
    this.cost += cost;
    this.strong += strong ? 1 : 0;
    this.calls += calls;
    this.n++;
  }
  point(param?: number | string): PoolPoint {
    const n = Math.max(1, this.n);
    return {
      cost: this.cost / n,
      strongShare: this.strong / n,
      accuracy: this.correct / n,
      calls: this.calls / n,
      ...(param !== undefined ? { param } : {}),
    };
  }
}

/**
 * The answer of the largest group of agreeing answers among `called` models (ties: the group holding the
 * most expensive model by mean train $): the index of that group's most expensive member. With no answer
 * at all, the most expensive called model (its missing answer counts as wrong).
 */
function largestGroup(g: Int32Array, called: readonly number[], rank: readonly number[]): number {
  const size = new Map<number, number>();
  const top = new Map<number, number>();
  for (const m of called) {
    const id = g[m]!;
    if (id < 0) continue;
    size.set(id, (size.get(id) ?? 0) + 1);
    const t = top.get(id);
    if (t === undefined || rank[m]! > rank[t]!) top.set(id, m);
  }
  let pick = -1;
  let pickSize = 0;
  for (const [id, sz] of size) {
    const m = top.get(id)!;
    if (sz > pickSize || (sz === pickSize && rank[m]! > rank[pick]!)) {
      pick = m;
      pickSize = sz;
    }
  }
  if (pick >= 0) return pick;
  let last = called[0]!;
  for (const m of called) if (rank[m]! > rank[last]!) last = m;
  return last;
}

/**
 * Calls `seq` in order until `k` answers agree: the number of models called and the agreed answer's model
 * (−1 if k never agreed). With `giveUp`, stops as soon as the models left cannot make k agree.
 */
function runSequence(
  g: Int32Array,
  seq: readonly number[],
  k: number,
  giveUp: boolean,
  counts: Int32Array,
): { called: number; agreed: number } {
  counts.fill(0);
  let most = 0;
  for (let j = 0; j < seq.length; j++) {
    const m = seq[j]!;
    const id = g[m]!;
    if (id >= 0) {
      const c = ++counts[id]!;
      if (c >= k) return { called: j + 1, agreed: m };
      if (c > most) most = c;
    }
    if (giveUp && most + (seq.length - j - 1) < k) return { called: j + 1, agreed: -1 };
  }
  return { called: seq.length, agreed: -1 };
}

// ---------------------------------------------------------------------------------------------------------
// the baselines

/** Every model alone: a point each. */
export function singleModels(test: PoolItems, f: PoolFacts): PoolBaseline[] {
  return f.order.map((m) => {
    const t = new Tally();
    for (let i = 0; i < test.prompt.length; i++) t.add(test.correct[i]![m]!, test.cost[i]![m]!, m === f.strong, 1);
    return {
      name: `single:${f.models[m]}`,
      label: `every item to ${f.models[m]}`,
      kind: "single" as const,
      points: [t.point(f.models[m])],
    };
  });
}

/**
 * Cheapest-first agreement cascade over the whole pool: call the models in order of mean train $ and stop
 * as soon as `k` answers agree, answering the agreed one; when the whole pool has answered without `k`
 * agreeing, the largest group's answer (ties: the group with the most expensive model).
 */
export function cascade(test: PoolItems, f: PoolFacts, k: number): PoolBaseline {
  const g = answerGroups(test);
  const counts = new Int32Array(f.models.length);
  const t = new Tally();
  for (let i = 0; i < test.prompt.length; i++) {
    const r = runSequence(g[i]!, f.order, k, false, counts);
    const called = f.order.slice(0, r.called);
    const ans = r.agreed >= 0 ? r.agreed : largestGroup(g[i]!, called, f.rank);
    t.add(
      test.correct[i]![ans]!,
      called.reduce((a, m) => a + test.cost[i]![m]!, 0),
      called.includes(f.strong),
      called.length,
    );
  }
  return {
    name: `cascade-k${k}`,
    label: `cheapest-first cascade over the pool, stop when ${k} answers agree (else the largest group)`,
    kind: "point",
    points: [t.point(k)],
  };
}

/** Majority vote of the whole pool: the largest group of agreeing answers (ties: the most expensive model's group). */
export function majorityAll(test: PoolItems, f: PoolFacts): PoolBaseline {
  const g = answerGroups(test);
  const t = new Tally();
  for (let i = 0; i < test.prompt.length; i++) {
    const ans = largestGroup(g[i]!, f.order, f.rank);
    t.add(
      test.correct[i]![ans]!,
      test.cost[i]!.reduce((a, b) => a + b, 0),
      true,
      f.models.length,
    );
  }
  return {
    name: "majority-all",
    label: `majority vote of all ${f.models.length} models (ties: the most expensive model's answer)`,
    kind: "point",
    points: [t.point()],
  };
}

/** Per item the model that is right at the lowest $ on that item (none right: the cheapest on that item, wrong). */
export function oracle(test: PoolItems, f: PoolFacts): PoolBaseline {
  const t = new Tally();
  for (let i = 0; i < test.prompt.length; i++) {
    let pick = -1;
    let cheapest = -1;
    for (const m of f.order) {
      const c = test.cost[i]![m]!;
      if (cheapest < 0 || c < test.cost[i]![cheapest]!) cheapest = m;
      if (test.correct[i]![m] && (pick < 0 || c < test.cost[i]![pick]!)) pick = m;
    }
    const m = pick >= 0 ? pick : cheapest;
    t.add(pick >= 0, test.cost[i]![m]!, m === f.strong, 1);
  }
  return { name: "oracle", label: "per-item oracle: the cheapest model that is right on the item", kind: "point", points: [t.point()] };
}

/**
 * Random routing, as exact expectations: a share p of the items (p = 0, 0.1, …, 1) to the most accurate
 * model on train, the rest to the cheapest; and each item to a uniformly random model (one point).
 */
export function randomRouting(test: PoolItems, f: PoolFacts): PoolBaseline[] {
  const k = f.models.length;
  const single = Array.from({ length: k }, (_, m) => {
    const t = new Tally();
    for (let i = 0; i < test.prompt.length; i++) t.add(test.correct[i]![m]!, test.cost[i]![m]!, m === f.strong, 1);
    return t.point();
  });
  const mix = (a: PoolPoint, b: PoolPoint, p: number): PoolPoint => ({
    cost: (1 - p) * a.cost + p * b.cost,
    strongShare: (1 - p) * a.strongShare + p * b.strongShare,
    accuracy: (1 - p) * a.accuracy + p * b.accuracy,
    calls: 1,
    param: p,
  });
  const lo = single[f.cheapest]!;
  const hi = single[f.best]!;
  const line = Array.from({ length: 11 }, (_, j) => mix(lo, hi, j / 10));
  const avg = (key: "cost" | "strongShare" | "accuracy") => meanOf(single.map((p) => p[key]));
  return [
    {
      name: "random",
      label: `a random share p of items to ${f.models[f.best]} (most accurate on train), the rest to ${f.models[f.cheapest]} (cheapest); expectation`,
      kind: "curve",
      points: line,
    },
    {
      name: "random-uniform",
      label: "each item to a uniformly random model of the pool; expectation",
      kind: "point",
      points: [{ cost: avg("cost"), strongShare: avg("strongShare"), accuracy: avg("accuracy"), calls: 1 }],
    },
  ];
}

// ---------------------------------------------------------------------------------------------------------
// the agreement-rule family

/** A hand-written agreement rule: ask `seq` in order, stop when `k` agree, else escalate to `fallback`. */
export interface AgreementRule {
  seq: readonly number[];
  k: number;
  /** −1: none (a single model alone). */
  fallback: number;
  /** fallback: answer with the fallback's answer; vote: the largest group of every answer seen, the fallback's included. */
  answer: "fallback" | "vote";
}

/** A rule's name, e.g. `flash>mini k2 → gpt-4o (vote)`. */
export function ruleName(r: AgreementRule, models: readonly string[]): string {
  const seq = r.seq.map((m) => models[m]).join(">");
  if (r.fallback < 0) return `${seq} alone`;
  return `${seq} k${r.k} → ${models[r.fallback]} (${r.answer})`;
}

/**
 * The family: ordered subsets (every order) of size 1–3 of the `cheap` cheapest models (by mean train $);
 * size 1 = that model alone; larger subsets stop when k ∈ {2, 3} (k ≤ size) answers agree and escalate to a
 * fallback — each of the two most accurate models on train — as soon as k can no longer be reached, answering
 * with the fallback's answer or with the largest group including it (two variants).
 */
export function agreementRuleFamily(f: PoolFacts, cheap: number): AgreementRule[] {
  const pool = f.order.slice(0, Math.max(1, Math.min(cheap, f.models.length)));
  const fallbacks = f.order
    .map((m) => m)
    .sort((a, b) => f.trainAccuracy[b]! - f.trainAccuracy[a]! || f.rank[a]! - f.rank[b]!)
    .slice(0, 2);
  const seqs: number[][] = [];
  const grow = (seq: number[]) => {
    if (seq.length > 0) seqs.push(seq);
    if (seq.length === 3) return;
    for (const m of pool) if (!seq.includes(m)) grow([...seq, m]);
  };
  grow([]);
  const out: AgreementRule[] = [];
  for (const seq of seqs) {
    if (seq.length === 1) {
      out.push({ seq, k: 1, fallback: -1, answer: "fallback" });
      continue;
    }
    for (const k of [2, 3]) {
      if (k > seq.length) continue;
      for (const fb of fallbacks) for (const answer of ["fallback", "vote"] as const) out.push({ seq, k, fallback: fb, answer });
    }
  }
  return out;
}

/** A rule's operating point on a split (its answer groups precomputed). */
export function evaluateRule(r: AgreementRule, s: PoolItems, groups: readonly Int32Array[], f: PoolFacts): PoolPoint {
  const counts = new Int32Array(f.models.length);
  const t = new Tally();
  for (let i = 0; i < s.prompt.length; i++) {
    const g = groups[i]!;
    const cost = s.cost[i]!;
    const run = runSequence(g, r.seq, r.k, true, counts);
    const called = r.seq.slice(0, run.called);
    let ans = run.agreed;
    if (ans < 0) {
      if (r.fallback < 0) ans = called[0]!;
      else {
        if (!called.includes(r.fallback)) called.push(r.fallback);
        ans = r.answer === "fallback" ? r.fallback : largestGroup(g, called, f.rank);
      }
    }
    let c = 0;
    for (const m of called) c += cost[m]!;
    t.add(s.correct[i]![ans]!, c, called.includes(f.strong), called.length);
  }
  return t.point(ruleName(r, f.models));
}

/**
 * The agreement-rule family evaluated on `val`; the rules on val's frontier (accuracy vs the axis)
 * evaluated on `test`, as one curve (each point's `param` is its rule), in order of the rule's val x.
 */
export function agreementRules(
  val: PoolItems,
  test: PoolItems,
  f: PoolFacts,
  axis: CostAxis,
  cheap = 5,
): PoolBaseline & { rules: number; chosen: string[] } {
  const rules = agreementRuleFamily(f, cheap);
  const gv = answerGroups(val);
  const onVal = rules.map((r) => evaluateRule(r, val, gv, f));
  // of rules equal on the axis, the frontier keeps the first: list the cheaper in $, then in calls, first
  const front = frontier(
    [...onVal].sort((p, q) => p.cost - q.cost || p.calls - q.calls),
    axis,
  );
  const byName = new Map(rules.map((r, j) => [onVal[j]!.param as string, r]));
  const gt = answerGroups(test);
  const chosen = front.map((p) => p.point.param as string);
  return {
    name: "agreement-rules",
    label: `the val frontier of ${rules.length} agreement rules over the ${Math.min(cheap, f.models.length)} cheapest models (ask in order, stop when k agree, else a fallback)`,
    kind: "curve",
    points: chosen.map((name) => evaluateRule(byName.get(name)!, test, gt, f)),
    rules: rules.length,
    chosen,
  };
}

// ---------------------------------------------------------------------------------------------------------
// the prompt router

/** Feature rows of a split's questions: standardised length and number count, task-type one-hot, hashed 1-2-grams, bias. */
function routerFeatures(s: PoolItems, types: readonly string[], buckets: number, norm: { mu: number[]; sd: number[] }): Float64Array[] {
  const d = 2 + types.length + buckets + 1;
  return s.prompt.map((p, i) => {
    const x = new Float64Array(d);
    const pf = promptFeatures(p);
    for (let j = 0; j < 2; j++) x[j] = (pf[j]! - norm.mu[j]!) / norm.sd[j]!;
    const ty = types.indexOf(s.type[i]!);
    if (ty >= 0) x[2 + ty] = 1;
    x.set(hashedNgrams(p, buckets), 2 + types.length);
    x[d - 1] = 1;
    return x;
  });
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

function dot(w: Float64Array, x: Float64Array): number {
  let s = 0;
  for (let j = 0; j < w.length; j++) s += w[j]! * x[j]!;
  return s;
}

/** Largest eigenvalue of XᵀX/n by power iteration (a deterministic start; 30 rounds are plenty for a step size). */
function gramNorm(X: readonly Float64Array[]): number {
  const d = X[0]!.length;
  let v = new Float64Array(d).fill(1 / Math.sqrt(d));
  let lam = 0;
  for (let it = 0; it < 30; it++) {
    const u = new Float64Array(d);
    for (const x of X) {
      const a = dot(x, v);
      for (let j = 0; j < d; j++) u[j]! += a * x[j]!;
    }
    let norm = 0;
    for (let j = 0; j < d; j++) norm += u[j]! * u[j]!;
    norm = Math.sqrt(norm);
    if (norm === 0) return 0;
    lam = norm / X.length;
    for (let j = 0; j < d; j++) u[j]! /= norm;
    v = u;
  }
  return lam;
}

/**
 * L2-regularised logistic regression by Nesterov-accelerated gradient descent (deterministic): minimises
 * mean log-loss + (l2/2)·‖w‖² (the bias, the last weight, is not penalised), from `start` (default zero
 * weights). Step 1/L with L = 1.05·λmax(XᵀX/n)/4 + l2, the loss's gradient Lipschitz constant (with a margin
 * for the power iteration's estimate).
 */
export function fitLogistic(
  X: readonly Float64Array[],
  y: readonly number[],
  l2: number,
  o: { iterations?: number; start?: Float64Array; gram?: number } = {},
): Float64Array {
  const d = X[0]!.length;
  const n = X.length;
  const step = 1 / ((1.05 * (o.gram ?? gramNorm(X))) / 4 + l2);
  let w = o.start ? Float64Array.from(o.start) : new Float64Array(d);
  let prev = Float64Array.from(w);
  const grad = new Float64Array(d);
  const v = new Float64Array(d);
  for (let t = 1; t <= (o.iterations ?? 100); t++) {
    const beta = (t - 1) / (t + 2);
    for (let j = 0; j < d; j++) v[j] = w[j]! + beta * (w[j]! - prev[j]!);
    grad.fill(0);
    for (let i = 0; i < n; i++) {
      const x = X[i]!;
      const r = (sigmoid(dot(v, x)) - y[i]!) / n;
      for (let j = 0; j < d; j++) grad[j]! += r * x[j]!;
    }
    for (let j = 0; j < d - 1; j++) grad[j]! += l2 * v[j]!;
    const next = prev;
    for (let j = 0; j < d; j++) next[j] = v[j]! - step * grad[j]!;
    prev = w;
    w = next;
  }
  return w;
}

function logLoss(w: Float64Array, X: readonly Float64Array[], y: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < X.length; i++) {
    const p = Math.min(1 - 1e-12, Math.max(1e-12, sigmoid(dot(w, X[i]!))));
    s -= y[i]! ? Math.log(p) : Math.log(1 - p);
  }
  return s / Math.max(1, X.length);
}

/** The L2 strengths tried for each model's router (the one with the lowest val log-loss is kept). */
export const ROUTER_L2 = [1e-4, 1e-3, 1e-2, 1e-1, 1] as const;

/**
 * Per model, P(correct | question) from a logistic regression on question features, fitted on train with
 * the L2 strength chosen on val (lowest val log-loss). Returns P for every item of `s` and the chosen L2s.
 */
export function routerProbabilities(train: PoolItems, val: PoolItems, s: PoolItems, buckets = 64): { p: number[][]; l2: number[] } {
  const types = [...new Set(train.type)].sort();
  const raw = train.prompt.map((p) => promptFeatures(p));
  const mu = [0, 1].map((j) => meanOf(raw.map((r) => r[j]!)));
  const sd = [0, 1].map((j) => Math.sqrt(meanOf(raw.map((r) => (r[j]! - mu[j]!) ** 2))) || 1);
  const norm = { mu, sd };
  const Xt = routerFeatures(train, types, buckets, norm);
  const Xv = routerFeatures(val, types, buckets, norm);
  const Xs = s === val ? Xv : routerFeatures(s, types, buckets, norm);
  const k = train.models.length;
  const gram = gramNorm(Xt);
  const p: number[][] = s.prompt.map(() => new Array<number>(k).fill(0));
  const l2s: number[] = [];
  for (let m = 0; m < k; m++) {
    const yt = column(train.correct, m).map(Number);
    const yv = column(val.correct, m).map(Number);
    let best: { w: Float64Array; loss: number; l2: number } | undefined;
    // the L2 path from strong to weak, each fit starting from the previous one's weights
    let start: Float64Array | undefined;
    for (const l2 of [...ROUTER_L2].reverse()) {
      const w = fitLogistic(Xt, yt, l2, { gram, ...(start ? { start } : {}) });
      start = w;
      const loss = logLoss(w, Xv, yv);
      if (!best || loss < best.loss - 1e-12) best = { w, loss, l2 };
    }
    l2s.push(best!.l2);
    Xs.forEach((x, i) => (p[i]![m] = sigmoid(dot(best!.w, x))));
  }
  return { p, l2: l2s };
}

/**
 * The route of one item at penalty μ: argmax_m P_m − μ·c_m (ties: the lower c, then the cheaper model by
 * mean train $).
 */
function route(P: readonly number[], c: readonly number[], tie: readonly number[], mu: number): number {
  let pick = 0;
  let bestScore = -Infinity;
  for (let m = 0; m < P.length; m++) {
    const s = P[m]! - mu * c[m]!;
    if (s > bestScore + 1e-15 || (Math.abs(s - bestScore) <= 1e-15 && (c[m]! < c[pick]! || (c[m] === c[pick] && tie[m]! < tie[pick]!)))) {
      pick = m;
      bestScore = s;
    }
  }
  return pick;
}

/** The μ ≥ 0 at which an item's route changes (the breakpoints of the upper envelope of the lines P_m − μ·c_m). */
function breakpoints(P: readonly number[], c: readonly number[], tie: readonly number[]): number[] {
  const out: number[] = [];
  let cur = route(P, c, tie, 0);
  let mu = 0;
  for (;;) {
    let next = -1;
    let at = Infinity;
    for (let m = 0; m < P.length; m++) {
      if (c[m]! >= c[cur]!) continue;
      const t = Math.max(mu, (P[cur]! - P[m]!) / (c[cur]! - c[m]!));
      if (t < at - 1e-15 || (Math.abs(t - at) <= 1e-15 && next >= 0 && c[m]! < c[next]!)) {
        at = t;
        next = m;
      }
    }
    if (next < 0) return out;
    out.push(at);
    mu = at;
    cur = next;
  }
}

/**
 * RouteLLM-style router over all N models that sees only the question: each test item goes to
 * argmax_m P_m − μ·c_m, with c_m the model's mean train $ per call (axis dollars) or 1 for the strong model
 * and 0 for the others (axis strong-calls), for μ from 0 (most likely right) up to where every item goes to
 * the cheapest model; the μ values are spread over the items' route-change points (at most `points` of them).
 */
export function promptRouter(
  s: PoolSplits,
  f: PoolFacts,
  axis: CostAxis,
  o: { buckets?: number; points?: number } = {},
): PoolBaseline & { l2: number[] } {
  const { p, l2 } = routerProbabilities(s.train, s.val, s.test, o.buckets ?? 64);
  const c = f.meanCost.map((x, m) => (axis === "dollars" ? x : m === f.strong ? 1 : 0));
  const tie = f.rank;
  const all: number[] = [];
  for (const P of p) all.push(...breakpoints(P, c, tie));
  all.sort((a, b) => a - b);
  const limit = Math.max(2, o.points ?? 200);
  const mus = [0];
  if (all.length > 0) {
    const take = Math.min(all.length, limit - 1);
    for (let j = 0; j < take; j++) mus.push(all[take === 1 ? all.length - 1 : Math.round((j * (all.length - 1)) / (take - 1))]!);
  }
  const uniq = [...new Set(mus)];
  const test = s.test;
  const points = uniq.map((mu) => {
    const t = new Tally();
    p.forEach((P, i) => {
      const m = route(P, c, tie, mu);
      t.add(test.correct[i]![m]!, test.cost[i]![m]!, m === f.strong, 1);
    });
    return t.point(mu);
  });
  return {
    name: "prompt-router",
    label: `per-model logistic regression P(correct | question features), route to argmax P − μ·${axis === "dollars" ? "$" : "[strong]"}, μ swept`,
    kind: "curve",
    points,
    l2,
  };
}

// ---------------------------------------------------------------------------------------------------------

/**
 * Every baseline on the test split: single models, cheapest-first agreement cascades (k = 2, 3), the
 * agreement-rule family's val frontier, majority vote of the pool, the prompt router, random routing (a
 * line and a uniform point) and the per-item oracle. Bad input (ragged tables, a model missing from a
 * split, a negative cost, an empty split) throws an InputError naming the split, the field and the item.
 */
export function poolBaselines(s: PoolSplits, o: PoolBaselineOptions): PoolBaseline[] {
  if (o.axis !== "dollars" && o.axis !== "strong-calls")
    throw new InputError(`pool baselines: axis ${String(o.axis)}: expected dollars or strong-calls`, undefined, "axis");
  const splits = checkPoolSplits(s);
  const f = poolFacts(splits.train);
  const rules = agreementRules(splits.val, splits.test, f, o.axis, o.cheapModels ?? 5);
  const router = promptRouter(splits, f, o.axis, { buckets: o.routerBuckets ?? 64, points: o.routerPoints ?? 200 });
  return [
    ...singleModels(splits.test, f),
    cascade(splits.test, f, 2),
    cascade(splits.test, f, 3),
    { name: rules.name, label: rules.label, kind: rules.kind, points: rules.points },
    majorityAll(splits.test, f),
    { name: router.name, label: router.label, kind: router.kind, points: router.points },
    ...randomRouting(splits.test, f),
    oracle(splits.test, f),
  ];
}
