/**
 * Cost–quality curves of an orchestrator over a pool of three or more recorded models: accuracy against mean
 * $ per item (every call counted, the cheap ones too) and against the share of items that called the strong
 * (most expensive) model, the learned policy's knob sweep beside every baseline of
 * src/analysis/pool-baselines.ts on the same test items. Each figure is put on the axis it belongs to, the
 * axis the policy was trained for (`tasks.costAxis`) is named, and every point where the learned frontier
 * falls below a baseline's on that axis is flagged.
 */
import type { Agent } from "../agents/agent.js";
import { RecordedAgent } from "../agents/recorded.js";
import { InputError } from "../core/errors.js";
import { buildAgents } from "../run/build.js";
import { loadTrainedRun, type TrainedRun } from "../run/trained.js";
import type { RecordedItem } from "../tasks/recorded.js";
import { answerKey } from "../tasks/evaluators.js";
import { curveInputs, greedyEpisodes, sweepKnob } from "./curve.js";
import { apgr, cpt } from "./metrics-routing.js";
import { dollarMetrics, flagBelow, type BelowFlag, type CostAxis, type DollarMetrics, type PoolPoint } from "./metrics-pool.js";
import { poolBaselines, type PoolBaseline, type PoolItems } from "./pool-baselines.js";

export interface PoolCurveResult {
  kind: "pool";
  runDir: string;
  checkpointUpdate: number;
  split: "test" | "val";
  items: number;
  shape: string;
  /** The cost the policy was trained for (tasks.costAxis): the axis its figures and flags are judged on. */
  trainedFor: CostAxis;
  /** Every model of the pool on these items, cheapest first. */
  models: Array<{ agent: string; model: string; accuracy: number; cost: number }>;
  cheapest: string;
  /** The most accurate single model (ties: the cheaper). */
  best: string;
  /** The most expensive model (the "strong" model of the strong-calls axis). */
  strong: string;
  knob?: { name: "lambda" | "budget"; min: number; max: number; costUnit: number };
  /** The learned policy's operating points (greedy, knob swept). */
  learned: PoolPoint[];
  /** $ axis: accuracy at the best model's $, the share of its $ at which its accuracy is reached, the $-axis APGR. */
  dollars: DollarMetrics;
  /** strong-calls axis: RouteLLM's APGR and CPT(50%) between the cheapest and the strong model (null where undefined). */
  strongCalls: { apgr: number | null; cpt50: number | null };
  baselines: Array<PoolBaseline & { dollars: DollarMetrics }>;
  /** Points where the learned frontier is below a baseline's on the trained-for axis by more than `tolerance`. */
  below: BelowFlag[];
  tolerance: number;
  warnings: string[];
}

export interface PoolCurveOptions {
  points?: number;
  split?: "test" | "val";
  /** Accuracy margin under which a baseline above the learned curve is not flagged (default 0.005). */
  tolerance?: number;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** The recorded answering agents of a run (a pool curve needs three or more). */
export function poolAgents(agents: readonly Agent[]): RecordedAgent[] {
  return agents.filter((a): a is RecordedAgent => a instanceof RecordedAgent);
}

/** A split's facts for the baselines: per item × model correctness, $ and agreement key. */
function poolItems(items: readonly RecordedItem[], pool: readonly RecordedAgent[]): PoolItems {
  const out: PoolItems = { models: pool.map((a) => a.name), correct: [], cost: [], answer: [], prompt: [], type: [] };
  for (const it of items) {
    const outs = pool.map((a) => a.outputFor(it.id)!);
    out.correct.push(outs.map((o) => o.meta?.correct === true));
    out.cost.push(outs.map((o) => (o.meta?.usd as number | undefined) ?? o.cost));
    out.answer.push(outs.map((o) => (o.answer !== undefined && o.answer !== "" ? answerKey(o.answer) : null)));
    out.prompt.push(it.prompt);
    out.type.push(it.type);
  }
  return out;
}

function learnedEvaluator(run: TrainedRun, agents: Agent[], items: RecordedItem[], strong: string, axis: CostAxis) {
  const episodes = greedyEpisodes(run, agents, items, true);
  return async (knob: number | undefined) => {
    const batch = await episodes(knob);
    const eps = batch.episodes;
    const usd = eps.map((e) => (e.outputs ?? []).reduce((s, o) => s + ((o.meta?.usd as number | undefined) ?? o.cost), 0));
    const p: PoolPoint = {
      cost: mean(usd),
      strongShare: mean(eps.map((e) => (e.agents.includes(strong) ? 1 : 0))),
      accuracy: mean(eps.map((e) => (e.success ? 1 : 0))),
      calls: mean(eps.map((e) => (e.outputs ?? []).filter((o) => !o.terminal).length)),
      ...(knob !== undefined ? { param: knob } : {}),
    };
    // sweepKnob fills gaps along x: x is the trained-for axis
    return {
      x: axis === "dollars" ? p.cost : p.strongShare,
      accuracy: p.accuracy,
      cost: p.cost,
      ...(knob !== undefined ? { knob } : {}),
      pool: p,
    };
  };
}

/** Does this run orchestrate a pool of three or more recorded models (the N-model curve)? */
export function isPoolRun(agents: readonly Agent[]): boolean {
  return poolAgents(agents).length >= 3;
}

/** The N-model curve of a trained run on its test (or validation) split, with every baseline and flag. */
export async function poolCurveRun(runDir: string, o: PoolCurveOptions = {}): Promise<PoolCurveResult> {
  const run = await loadTrainedRun(runDir);
  try {
    const c = run.config;
    const { n, tol, axis, split, splits, items } = curveInputs(runDir, c, o);
    const agents = buildAgents(c, { llm: run.llm });
    const pool = poolAgents(agents);
    if (pool.length < 3) throw new InputError(`${runDir}: a pool curve needs three or more recorded models; this run has ${pool.length}`);
    const test = poolItems(items, pool);
    const baselines = poolBaselines({ train: poolItems(splits.train, pool), val: poolItems(splits.val, pool), test }, { axis });
    const singles = pool.map((a, m) => ({
      agent: a.name,
      model: a.o.model,
      accuracy: mean(test.correct.map((r) => (r[m] ? 1 : 0))),
      cost: mean(test.cost.map((r) => r[m]!)),
      trainCost: a.meanUsd(splits.train),
    }));
    singles.sort((a, b) => a.trainCost - b.trainCost);
    const cheapest = singles[0]!;
    const strong = singles[singles.length - 1]!;
    const best = [...singles].sort((a, b) => b.accuracy - a.accuracy || a.cost - b.cost)[0]!;
    const evaluate = learnedEvaluator(run, agents, items, strong.agent, axis);
    const knob = run.knob;
    const raw = knob ? await sweepKnob(evaluate, knob, n) : [await evaluate(undefined)];
    const learned = raw.map((p) => (p as unknown as { pool: PoolPoint }).pool);
    const pt = (s: { accuracy: number; cost: number; agent: string }): PoolPoint => ({
      cost: s.cost,
      strongShare: s.agent === strong.agent ? 1 : 0,
      accuracy: s.accuracy,
      calls: 1,
    });
    const dm = (ps: readonly PoolPoint[]) => dollarMetrics(ps, pt(cheapest), pt(best));
    // RouteLLM's axis: the curve with its end points, always-cheapest (x = 0) and always-strong (x = 1)
    const onCalls = [...learned, pt(cheapest), pt(strong)].map((p) => ({ x: p.strongShare, accuracy: p.accuracy, cost: p.cost }));
    const { below, warning } = flagBelow(learned, baselines, axis, tol);
    const warnings = warning ? [warning] : [];
    return {
      kind: "pool",
      runDir,
      checkpointUpdate: run.checkpointUpdate,
      split,
      items: items.length,
      shape: c.env.shape,
      trainedFor: axis,
      models: singles.map(({ agent, model, accuracy, cost }) => ({ agent, model, accuracy, cost })),
      cheapest: cheapest.agent,
      best: best.agent,
      strong: strong.agent,
      ...(knob ? { knob: { name: knob.o.name, min: knob.o.min, max: knob.o.max, costUnit: knob.o.costUnit } } : {}),
      learned,
      dollars: dm(learned),
      strongCalls: {
        apgr: apgr(onCalls, cheapest.accuracy, strong.accuracy),
        cpt50: cpt(onCalls, cheapest.accuracy, strong.accuracy, 0.5),
      },
      baselines: baselines.map((b) => ({ ...b, dollars: dm(b.points) })),
      below,
      tolerance: tol,
      warnings,
    };
  } finally {
    run.trainer.dispose();
  }
}
