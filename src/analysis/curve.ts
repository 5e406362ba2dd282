/**
 * Cost–quality curves of a trained orchestrator on recorded outputs, judged as LLM-routing
 * users expect (RouteLLM's APGR and CPT, src/analysis/metrics-routing.ts) and side by side with the
 * baselines: always-weak, always-strong, random mix (mean of 10 seeds), the per-item oracle and the best
 * of simple hand-written rules (chosen on the validation split). Every figure is on the test split unless
 * the result says `split: "val"`.
 *
 * Two cost axes: the share of items whose episode called the strong model (the most expensive agent by
 * mean $ on the training items: RouteLLM's count, x of APGR and CPT), and $ = mean money per item (every call
 * counted, the weak model's too: `meta.usd` of the calls, whatever cost the policy was trained for), where the
 * N-model path's $-axis metrics apply (APGR$, src/analysis/metrics-pool.ts). Accuracy = the share judged
 * correct (the last model's answer, under the run's judge rule). The run's `tasks.costAxis` names the axis it
 * was trained for: the best hand rule is chosen on that axis, and every point where the learned curve falls
 * below a baseline on it is flagged.
 */
import type { Agent } from "../agents/agent.js";
import { RecordedAgent } from "../agents/recorded.js";
import { InputError } from "../core/errors.js";
import { Rng } from "../core/rng.js";
import { rollout, type RolloutBatch } from "../env/rollout.js";
import type { CostKnob } from "../algos/knob.js";
import { buildAgents, buildEnvSpec } from "../run/build.js";
import { loadTrainedRun, type TrainedRun } from "../run/trained.js";
import { recordedSplits } from "../config/recorded.js";
import type { Config } from "../config/schema.js";
import type { RecordedItem } from "../tasks/recorded.js";
import { ListTaskSource } from "../tasks/source.js";
import { ANSWER_FEATURES } from "../tasks/answer-features.js";
import { promptFeatures } from "../tasks/answer-features.js";
import {
  checkTolerance,
  DEFAULT_TOLERANCE,
  dollarMetrics,
  flagBelow,
  meanAccuracyOver,
  type AxisPoint,
  type BelowFlag,
  type CostAxis,
  type DollarMetrics,
} from "./metrics-pool.js";
import { at, curveMetrics, meanCurve, minMargin, orderByScore, orderCurve, type CurveMetrics, type CurvePoint } from "./metrics-routing.js";

export interface Baseline extends CurveMetrics {
  name: string;
  /** What the baseline does, in words. */
  label: string;
  points: CurvePoint[];
  /** $-axis figures (APGR$, accuracy at the more accurate model's $, ...) against always-weak and that model. */
  dollars: DollarMetrics;
}

export interface OperatingPoint {
  x: number;
  accuracy: number | null;
  cost: number | null;
}

export interface CurveResult extends CurveMetrics {
  runDir: string;
  checkpointUpdate: number;
  split: "test" | "val";
  items: number;
  shape: string;
  weak: { agent: string; accuracy: number; cost: number };
  strong: { agent: string; accuracy: number; cost: number };
  knob?: { name: "lambda" | "budget"; min: number; max: number; costUnit: number };
  /** The cost the policy was trained for (tasks.costAxis): the axis the best rule is chosen and the flags are raised on. */
  trainedFor: CostAxis;
  /** The learned policy's curve (knob sweep, greedy), anchors included. */
  points: CurvePoint[];
  /** Accuracy and $ at fixed shares of strong calls (the operating points of the GSM8K cascade table in docs/benchmarks.md). */
  operating: OperatingPoint[];
  /** $-axis figures of the learned curve (anchors included), as each baseline's `dollars`. */
  dollars: DollarMetrics;
  /** Smallest margin of the learned curve over the random-mix curve on the strong-calls axis (≥ 0: at or above it everywhere). */
  vsRandom: { margin: number; x: number };
  baselines: Baseline[];
  /** Name of the hand rule that scored best on the validation split on the trained-for axis (shown as `best-rule`). */
  bestRule: string;
  /** Every hand rule's validation score: APGR (strong-calls) or APGR$ (dollars); where undefined, the mean accuracy over the axis. */
  ruleScores: Array<{ name: string; measure: "APGR" | "APGR$" | "mean accuracy" | "mean accuracy over $"; score: number }>;
  /** Points where the learned curve is below a baseline (not the oracle) on the trained-for axis by more than `tolerance`. */
  below: BelowFlag[];
  tolerance: number;
  warnings: string[];
}

export interface CurveOptions {
  /** Knob values of the sweep (evenly spaced over the knob's range), before gap filling. Default 21. */
  points?: number;
  /** Evaluate on the validation split instead of the test split (for tuning). */
  split?: "test" | "val";
  /** Operating points: shares of strong calls at which accuracy and $ are reported. */
  operatingShares?: number[];
  /** Accuracy margin under which a baseline above the learned curve is not flagged (default 0.005). */
  tolerance?: number;
}

/** Per-item facts of the weak and strong models on a list of items. */
interface ItemTable {
  weakCorrect: boolean[];
  strongCorrect: boolean[];
  weakCost: number[];
  strongCost: number[];
  weakFeatures: Float32Array[];
  weakHasText: boolean;
  prompt: Float32Array[];
  types: string[];
}

function itemTable(items: readonly RecordedItem[], weak: RecordedAgent, strong: RecordedAgent): ItemTable {
  const t: ItemTable = {
    weakCorrect: [],
    strongCorrect: [],
    weakCost: [],
    strongCost: [],
    weakFeatures: [],
    weakHasText: false,
    prompt: [],
    types: [],
  };
  for (const it of items) {
    const w = weak.outputFor(it.id)!;
    const s = strong.outputFor(it.id)!;
    t.weakCorrect.push(w.meta?.correct === true);
    t.strongCorrect.push(s.meta?.correct === true);
    // money, whatever cost the policy was trained for (tasks.costAxis: strong-calls counts calls instead)
    t.weakCost.push(usd(w));
    t.strongCost.push(usd(s));
    t.weakFeatures.push((w.meta?.features as Float32Array | undefined) ?? new Float32Array(ANSWER_FEATURES));
    if (it.models[weak.o.model]?.text !== undefined) t.weakHasText = true;
    t.prompt.push(promptFeatures(it.prompt));
    t.types.push(it.type);
  }
  return t;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const usd = (o: { cost: number; meta?: Record<string, unknown> }) => (o.meta?.usd as number | undefined) ?? o.cost;

/** A pair curve's points on the axes of src/analysis/metrics-pool.ts (x = the strong-call share, cost = $). */
export const onAxes = (ps: readonly CurvePoint[]): AxisPoint[] => ps.map((p) => ({ cost: p.cost, strongShare: p.x, accuracy: p.accuracy }));

/** The pair's two single-model points on the axes: always-weak, and the more accurate of the two models (ties: the weak one). */
function pairPoints(
  weak: { accuracy: number; cost: number },
  strong: { accuracy: number; cost: number },
): { cheapest: AxisPoint; best: AxisPoint } {
  const cheapest = { cost: weak.cost, strongShare: 0, accuracy: weak.accuracy };
  return { cheapest, best: strong.accuracy > weak.accuracy ? { cost: strong.cost, strongShare: 1, accuracy: strong.accuracy } : cheapest };
}

/** $-axis figures of a pair curve: the N-model path's dollarMetrics against always-weak and the more accurate model. */
export function pairDollars(
  points: readonly CurvePoint[],
  weak: { accuracy: number; cost: number },
  strong: { accuracy: number; cost: number },
): DollarMetrics {
  const { cheapest, best } = pairPoints(weak, strong);
  return dollarMetrics(onAxes(points), cheapest, best);
}

/** A hand-written escalation rule: a score per item (higher = escalate earlier). */
interface Rule {
  name: string;
  label: string;
  /** cascade: the rule reads the weak model's answer, so the weak model is always paid. */
  cascade: boolean;
  score(t: ItemTable, i: number): number;
}

/** Warning signs in a weak answer (indices of src/tasks/answer-features.ts). */
function warns(f: Float32Array): boolean {
  return f[0] === 0 || f[4]! > 0 || f[7]! > 0 || f[8]! > 0 || f[10]! > 0 || f[11]! > 0;
}

function rules(t: ItemTable, train: ItemTable): Rule[] {
  const out: Rule[] = [];
  if (t.weakHasText) {
    out.push(
      {
        name: "no-final-answer",
        label: "escalate when the weak answer states no final answer in the expected form, then longest answers first",
        cascade: true,
        score: (x, i) => (x.weakFeatures[i]![0] === 0 ? 10 : 0) + x.weakFeatures[i]![1]!,
      },
      {
        name: "warning-signs",
        label:
          "escalate weak answers with a warning sign (no final answer, wrong arithmetic, non-integer or inconsistent final answer, text after it, hedging), then longest first",
        cascade: true,
        score: (x, i) => (warns(x.weakFeatures[i]!) ? 10 : 0) + x.weakFeatures[i]![1]!,
      },
      { name: "longest-answer", label: "escalate the longest weak answers first", cascade: true, score: (x, i) => x.weakFeatures[i]![1]! },
    );
  }
  out.push(
    {
      name: "longest-prompt",
      label: "route the longest prompts to the strong model first",
      cascade: false,
      score: (x, i) => x.prompt[i]![0]!,
    },
    {
      name: "most-numbers",
      label: "route the prompts with the most numbers first",
      cascade: false,
      score: (x, i) => x.prompt[i]![1]! + 0.01 * x.prompt[i]![0]!,
    },
  );
  const types = [...new Set(train.types)];
  if (types.length > 1) {
    // the strong model's advantage per task type, measured on the TRAINING items
    const adv = new Map<string, number>();
    for (const ty of types) {
      const idx = train.types.map((x, i) => (x === ty ? i : -1)).filter((i) => i >= 0);
      adv.set(ty, mean(idx.map((i) => (train.strongCorrect[i] ? 1 : 0) - (train.weakCorrect[i] ? 1 : 0))));
    }
    out.push({
      name: "by-type",
      label: "route task types in order of the strong model's advantage on the training items, longest prompts first within a type",
      cascade: false,
      score: (x, i) => 10 * (adv.get(x.types[i]!) ?? 0) + x.prompt[i]![0]!,
    });
  }
  return out;
}

function ruleCurve(r: Rule, t: ItemTable): CurvePoint[] {
  const n = t.weakCorrect.length;
  const order = orderByScore(Array.from({ length: n }, (_, i) => r.score(t, i)));
  const escalated = r.cascade ? t.weakCost.map((w, i) => w + t.strongCost[i]!) : t.strongCost;
  return orderCurve(order, t.weakCorrect, t.strongCorrect, t.weakCost, escalated);
}

/**
 * A hand rule's score on the items it is chosen on, on an axis: strong-calls, RouteLLM's APGR; dollars, APGR$
 * (src/analysis/metrics-pool.ts). Where the measure is undefined (the strong model not more accurate), the
 * rule's mean accuracy over the axis: over its per-item grid, or over $ from always-weak's to always-strong's.
 */
function ruleScore(pts: readonly CurvePoint[], t: ItemTable, axis: CostAxis): Omit<CurveResult["ruleScores"][number], "name"> {
  const weak = { accuracy: mean(t.weakCorrect.map(Number)), cost: mean(t.weakCost) };
  const strong = { accuracy: mean(t.strongCorrect.map(Number)), cost: mean(t.strongCost) };
  if (axis === "strong-calls") {
    const a = curveMetrics(pts, weak.accuracy, strong.accuracy, strong.cost).apgr;
    return a !== null ? { measure: "APGR", score: a } : { measure: "mean accuracy", score: mean(pts.map((p) => p.accuracy)) };
  }
  const d = pairDollars(pts, weak, strong).apgrDollars;
  if (d !== null) return { measure: "APGR$", score: d };
  // every rule over the same $ range, always-weak's to always-strong's (the frontier stays flat past its last point)
  const { cheapest } = pairPoints(weak, strong);
  return {
    measure: "mean accuracy over $",
    score: strong.cost > weak.cost ? meanAccuracyOver(onAxes(pts), cheapest, strong.cost) : weak.accuracy,
  };
}

/**
 * Baselines on items `t`: the hand rules are scored on `val` (on `train` if the validation split is empty)
 * on the trained-for axis, and the best one is drawn on `t`; `train` also gives the type rule its order.
 */
function baselines(
  t: ItemTable,
  val: ItemTable,
  train: ItemTable,
  axis: CostAxis,
): { baselines: Baseline[]; bestRule: string; ruleScores: CurveResult["ruleScores"] } {
  const n = t.weakCorrect.length;
  const w = mean(t.weakCorrect.map(Number));
  const s = mean(t.strongCorrect.map(Number));
  const cw = mean(t.weakCost);
  const cs = mean(t.strongCost);
  const make = (name: string, label: string, points: CurvePoint[]): Baseline => ({
    name,
    label,
    points,
    ...curveMetrics(points, w, s, cs),
    dollars: pairDollars(points, { accuracy: w, cost: cw }, { accuracy: s, cost: cs }),
  });
  const out: Baseline[] = [
    make("always-weak", "every item to the weak (cheapest) model", [{ x: 0, accuracy: w, cost: cw }]),
    make("always-strong", "every item to the strong (most expensive) model", [{ x: 1, accuracy: s, cost: cs }]),
  ];
  const random: CurvePoint[][] = [];
  for (let seed = 0; seed < 10; seed++)
    random.push(orderCurve(new Rng(`random-mix:${seed}`).permutation(n), t.weakCorrect, t.strongCorrect, t.weakCost, t.strongCost));
  out.push(make("random", "a random share of items to the strong model (mean of 10 seeds)", meanCurve(random)));
  // per-item oracle: items where only the strong model is right first, then ties, then those where only the weak
  // one is; within each group the cheapest extra $ first (on the strong-calls axis every order within a group
  // gives the same curve; on the $ axis this is the fractional knapsack's order, the ceiling of any router)
  const gain = Array.from({ length: n }, (_, i) => (t.strongCorrect[i] ? 1 : 0) - (t.weakCorrect[i] ? 1 : 0));
  const extra = t.strongCost.map((c, i) => c - t.weakCost[i]!);
  const oracleOrder = Array.from({ length: n }, (_, i) => i).sort((a, b) => gain[b]! - gain[a]! || extra[a]! - extra[b]! || a - b);
  out.push(
    make(
      "oracle",
      "per-item oracle: the strong model exactly where it alone is right first (cheapest first)",
      orderCurve(oracleOrder, t.weakCorrect, t.strongCorrect, t.weakCost, t.strongCost),
    ),
  );
  // the best hand rule, chosen on the validation split on the trained-for axis
  const rs = rules(t, train);
  const chooseOn = val.weakCorrect.length > 0 ? val : train;
  let best = rs[0]!;
  let bestScore = -Infinity;
  const ruleScores: CurveResult["ruleScores"] = [];
  for (const r of rs) {
    const sc = ruleScore(ruleCurve(r, chooseOn), chooseOn, axis);
    ruleScores.push({ name: r.name, ...sc });
    if (sc.score > bestScore + 1e-12) {
      bestScore = sc.score;
      best = r;
    }
  }
  out.push(make("best-rule", `best hand rule on validation, ${axis} axis (${best.name}): ${best.label}`, ruleCurve(best, t)));
  return { baselines: out, bestRule: best.name, ruleScores };
}

/**
 * The learned curve judged on both axes against the baselines: its $-axis figures, and every point where it is
 * below a baseline (not the oracle) on the trained-for axis by more than `tol`, with the warning line.
 */
function judge(
  points: readonly CurvePoint[],
  bs: readonly Baseline[],
  weak: { accuracy: number; cost: number },
  strong: { accuracy: number; cost: number },
  axis: CostAxis,
  tol: number,
) {
  const flags = flagBelow(
    onAxes(points),
    bs.map((b) => ({ name: b.name, points: onAxes(b.points) })),
    axis,
    tol,
  );
  return { dollars: pairDollars(points, weak, strong), ...flags };
}

/**
 * The weak (cheapest) and strong (most expensive) recorded agents of the pool, by mean $ per call on the
 * training items (as tasks.costAxis: strong-calls picks its strong model), else on `items`.
 */
function weakStrong(
  agents: readonly Agent[],
  train: readonly RecordedItem[],
  items: readonly RecordedItem[],
): { weak: RecordedAgent; strong: RecordedAgent } {
  const rec = agents.filter((a): a is RecordedAgent => a instanceof RecordedAgent);
  if (rec.length < 2) throw new InputError(`maestro curve: needs at least two recorded agents (models); the pool has ${rec.length}`);
  const on = train.length > 0 ? train : items;
  const sortedByCost = [...rec].sort((a, b) => a.meanUsd(on) - b.meanUsd(on));
  return { weak: sortedByCost[0]!, strong: sortedByCost[sortedByCost.length - 1]! };
}

interface Evaluator {
  (knob: number | undefined): Promise<CurvePoint>;
}

/**
 * One greedy episode per item with the run's policy at a fixed knob value (no knob: the policy as trained),
 * with fixed streams, so every point of a curve sees the same episodes. Pool curves reuse it.
 */
export function greedyEpisodes(
  run: TrainedRun,
  agents: Agent[],
  items: RecordedItem[],
  recordOutputs = false,
): (knob: number | undefined) => Promise<RolloutBatch> {
  const spec = buildEnvSpec(run.config);
  const tasks = new ListTaskSource(items, "cycle");
  return (knob) =>
    rollout({
      spec,
      agents,
      encoder: run.encoder,
      policy: run.trainer.policy,
      tasks,
      episodes: items.length,
      firstEpisode: 0,
      policyRng: new Rng("curve-policy"),
      envRng: new Rng("curve-env"),
      taskRng: new Rng("curve-tasks"),
      greedy: true,
      recordOutputs,
      ...(run.knob && knob !== undefined ? { knob: run.knob.fixed(knob) } : {}),
      ...(run.actionMask ? { actionMask: run.actionMask } : {}),
    });
}

function policyEvaluator(run: TrainedRun, agents: Agent[], items: RecordedItem[], strongName: string): Evaluator {
  const episodes = greedyEpisodes(run, agents, items, true);
  return async (knob) => {
    const eps = (await episodes(knob)).episodes;
    return {
      x: mean(eps.map((e) => (e.agents.includes(strongName) ? 1 : 0))),
      accuracy: mean(eps.map((e) => (e.success ? 1 : 0))),
      // money per item, every call counted (e.cost is what the policy was trained for)
      cost: mean(eps.map((e) => (e.outputs ?? []).reduce((a, o) => a + usd(o), 0))),
      ...(knob !== undefined ? { knob } : {}),
    };
  };
}

/**
 * Sweeps the knob over `n` values evenly spaced on its scale, then fills the largest gaps in x by bisecting the knob
 * (at most n more evaluations, while a gap exceeds 1/n). Returns the points in knob order.
 */
export async function sweepKnob(evaluate: Evaluator, knob: CostKnob, n: number): Promise<CurvePoint[]> {
  const { min, max } = knob.o;
  const pts: CurvePoint[] = [];
  for (let i = 0; i < n; i++) pts.push(await evaluate(knob.valueAt(n === 1 ? 0 : i / (n - 1))));
  for (let extra = 0; extra < n; extra++) {
    pts.sort((a, b) => a.knob! - b.knob!);
    let gap = 0;
    let at = -1;
    for (let i = 1; i < pts.length; i++) {
      const g = Math.abs(pts[i]!.x - pts[i - 1]!.x);
      if (g > gap && pts[i]!.knob! - pts[i - 1]!.knob! > 1e-9 * Math.max(1, max - min)) {
        gap = g;
        at = i;
      }
    }
    if (at < 0 || gap <= 1 / n) break;
    pts.push(await evaluate(knob.valueAt((knob.position(pts[at - 1]!.knob!) + knob.position(pts[at]!.knob!)) / 2)));
  }
  return pts.sort((a, b) => a.knob! - b.knob!);
}

/**
 * What both curves (a weak/strong pair, a pool of N models) read from a run and the options, checked: the
 * number of knob values, the flag tolerance, the trained-for axis, the split and its items.
 */
export function curveInputs(runDir: string, c: Config, o: { points?: number; split?: "test" | "val"; tolerance?: number }) {
  if (c.tasks.source !== "recorded") {
    throw new InputError(
      `${runDir}: maestro curve needs a run on recorded outputs (tasks.source: recorded); this one has tasks.source ${c.tasks.source}`,
      runDir,
      "tasks.source",
    );
  }
  const n = o.points ?? 21;
  if (!Number.isInteger(n) || n < 2) throw new InputError(`--points ${n}: expected an integer ≥ 2`);
  const tol = checkTolerance(o.tolerance ?? DEFAULT_TOLERANCE);
  const axis: CostAxis = c.tasks.costAxis;
  const split = o.split ?? "test";
  const splits = recordedSplits(c);
  const items = split === "test" ? splits.test : splits.val;
  if (items.length === 0) {
    throw new InputError(`${runDir}: the ${split === "test" ? "test" : "validation"} split is empty (tasks.split)`, runDir, "tasks.split");
  }
  return { n, tol, axis, split, splits, items };
}

/**
 * The cost–quality curve of a run on recorded outputs: the policy's operating points (a knob sweep for a
 * budget-conditioned policy, one greedy point otherwise) with the curve's end points added as anchors
 * (always-weak at x = 0, always escalating at x = 1: any policy can be mixed with them), the metrics, and
 * the baselines on the same items.
 */
export async function curveRun(runDir: string, o: CurveOptions = {}): Promise<CurveResult> {
  const run = await loadTrainedRun(runDir);
  try {
    const c = run.config;
    const { n, tol, axis, split, splits, items } = curveInputs(runDir, c, o);
    const agents = buildAgents(c, { llm: run.llm });
    const { weak, strong } = weakStrong(agents, splits.train, items);
    const t = itemTable(items, weak, strong);
    const val = itemTable(splits.val, weak, strong);
    const train = itemTable(splits.train, weak, strong);
    const w = mean(t.weakCorrect.map(Number));
    const s = mean(t.strongCorrect.map(Number));
    const cw = mean(t.weakCost);
    const cs = mean(t.strongCost);
    const warnings: string[] = [];
    if (s - w < 0.005) {
      warnings.push(
        `the strong model (${strong.name}, accuracy ${s.toFixed(3)}) is not more accurate than the weak one (${weak.name}, ${w.toFixed(3)}) on these items: APGR and CPT are undefined (null); compare accuracy and $`,
      );
    }
    const evaluate = policyEvaluator(run, agents, items, strong.name);
    const knob = run.knob;
    const raw = knob ? await sweepKnob(evaluate, knob, n) : [await evaluate(undefined)];
    const points = [...raw];
    const escalateAll = c.env.shape === "cascade" ? mean(t.weakCost.map((x, i) => x + t.strongCost[i]!)) : cs;
    if (!points.some((p) => p.x <= 1e-12)) points.push({ x: 0, accuracy: w, cost: cw, anchor: true });
    if (!points.some((p) => p.x >= 1 - 1e-12)) points.push({ x: 1, accuracy: s, cost: escalateAll, anchor: true });
    const { baselines: bs, bestRule, ruleScores } = baselines(t, val, train, axis);
    const random = bs.find((b) => b.name === "random")!;
    const shares = o.operatingShares ?? [0.2, 0.5];
    const judged = judge(points, bs, { accuracy: w, cost: cw }, { accuracy: s, cost: cs }, axis, tol);
    if (judged.warning) warnings.push(judged.warning);
    return {
      runDir,
      checkpointUpdate: run.checkpointUpdate,
      split,
      items: items.length,
      shape: c.env.shape,
      weak: { agent: weak.name, accuracy: w, cost: cw },
      strong: { agent: strong.name, accuracy: s, cost: cs },
      ...(knob ? { knob: { name: knob.o.name, min: knob.o.min, max: knob.o.max, costUnit: knob.o.costUnit } } : {}),
      trainedFor: axis,
      points,
      ...curveMetrics(points, w, s, cs),
      operating: shares.map((x) => ({ x, accuracy: at(points, x)?.accuracy ?? null, cost: at(points, x)?.cost ?? null })),
      dollars: judged.dollars,
      vsRandom: minMargin(points, random.points),
      baselines: bs,
      bestRule,
      ruleScores,
      below: judged.below,
      tolerance: tol,
      warnings,
    };
  } finally {
    run.trainer.dispose();
  }
}

/** Accuracy and $ of a baseline at fixed shares (single-point baselines: their own point). */
export function operatingOf(b: { points: CurvePoint[] }, shares: readonly number[]): OperatingPoint[] {
  if (b.points.length === 1) return shares.map(() => ({ x: b.points[0]!.x, accuracy: b.points[0]!.accuracy, cost: b.points[0]!.cost }));
  return shares.map((x) => ({ x, accuracy: at(b.points, x)?.accuracy ?? null, cost: at(b.points, x)?.cost ?? null }));
}

/**
 * One curve from several runs of policies that are not budget-conditioned (e.g. separately trained
 * policies of a λ sweep), evaluated on the same items: their greedy points together, with the end
 * anchors, the metrics recomputed, and the first run's baselines (the same items give the same ones).
 */
export function combineCurves(parts: readonly CurveResult[]): CurveResult {
  const first = parts[0]!;
  for (const p of parts) {
    if (p.knob)
      throw new InputError(`${p.runDir}: a budget-conditioned run traces its own curve; give it alone to maestro curve`, p.runDir, "knob");
    if (p.trainedFor !== first.trainedFor) {
      throw new InputError(
        `${p.runDir}: trained for ${p.trainedFor}, ${first.runDir} for ${first.trainedFor} (tasks.costAxis); curves can only be joined on one axis`,
        p.runDir,
        "tasks.costAxis",
      );
    }
    if (
      p.items !== first.items ||
      p.split !== first.split ||
      p.weak.accuracy !== first.weak.accuracy ||
      p.strong.accuracy !== first.strong.accuracy ||
      p.strong.cost !== first.strong.cost
    ) {
      throw new InputError(
        `${p.runDir}: not evaluated on the same items as ${first.runDir} (different data, split or seed); curves can only be joined on one split`,
        p.runDir,
      );
    }
  }
  const w = first.weak.accuracy;
  const s = first.strong.accuracy;
  const points: CurvePoint[] = parts.flatMap((p) => p.points.filter((q) => !q.anchor));
  for (const anchor of first.points.filter((q) => q.anchor)) if (!points.some((q) => Math.abs(q.x - anchor.x) < 1e-12)) points.push(anchor);
  const random = first.baselines.find((b) => b.name === "random")!;
  const judged = judge(points, first.baselines, first.weak, first.strong, first.trainedFor, first.tolerance);
  // the first run's own flags give way to the joined curve's
  const own = flagBelow(
    onAxes(first.points),
    first.baselines.map((b) => ({ name: b.name, points: onAxes(b.points) })),
    first.trainedFor,
    first.tolerance,
  ).warning;
  return {
    ...first,
    runDir: parts.map((p) => p.runDir).join(", "),
    points,
    ...curveMetrics(points, w, s, first.strong.cost),
    operating: first.operating.map((op) => ({
      x: op.x,
      accuracy: at(points, op.x)?.accuracy ?? null,
      cost: at(points, op.x)?.cost ?? null,
    })),
    dollars: judged.dollars,
    vsRandom: minMargin(points, random.points),
    below: judged.below,
    warnings: [...first.warnings.filter((x) => x !== own), ...(judged.warning ? [judged.warning] : [])],
  };
}
