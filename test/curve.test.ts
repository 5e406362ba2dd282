import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CostKnob, nonIncreasing } from "../src/algos/knob.js";
import { combineCurves, curveRun, type CurveResult } from "../src/analysis/curve.js";
import { loadSweep } from "../src/sweep/spec.js";
import { apgr, at, cpt, curveMetrics, minMargin, orderByScore, orderCurve, savedAtStrong, type CurvePoint } from "../src/analysis/metrics-routing.js";
import { loadConfig } from "../src/config/load.js";
import { InputError } from "../src/core/errors.js";
import { Rng } from "../src/core/rng.js";
import { train } from "../src/run/train.js";
import { serveRun } from "../src/serve/server.js";
import { loadOrchestrator } from "../src/serve/orchestrate.js";
import { recordedSplits } from "../src/config/recorded.js";
import { removeTmpDirs, repoRoot, tmpDir } from "./helpers.js";

afterAll(removeTmpDirs);

/** The curve of an escalation order on a table of (weak correct, strong correct) items, unit costs. */
function curveOf(order: number[], weak: boolean[], strong: boolean[]): CurvePoint[] {
  const one = weak.map(() => 1);
  return orderCurve(order, weak, strong, one, one.map(() => 10));
}

describe("RouteLLM's metrics, against hand-computed values", () => {
  // the worked example: items a..d, (weak, strong) = (no, yes) (no, yes) (yes, yes) (no, no);
  // escalation order by router score a, c, b, d
  const weak = [false, false, true, false];
  const strong = [true, true, true, false];
  const pts = curveOf([0, 2, 1, 3], weak, strong);

  it("curve on the per-item grid", () => {
    expect(pts.map((p) => p.x)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(pts.map((p) => p.accuracy)).toEqual([0.25, 0.5, 0.5, 0.75, 0.75]);
    expect(pts.map((p) => p.cost)).toEqual([1, 3.25, 5.5, 7.75, 10]);
  });

  it("APGR = (trapezoid area − w) / (s − w) = (0.5625 − 0.25) / 0.5 = 0.625", () => {
    expect(apgr(pts, 0.25, 0.75)).toBeCloseTo(0.625, 12);
  });

  it("CPT(p) is the first crossing of w + p(s − w) on the piecewise-linear curve", () => {
    expect(cpt(pts, 0.25, 0.75, 0.2)).toBeCloseTo(0.1, 12);
    expect(cpt(pts, 0.25, 0.75, 0.5)).toBeCloseTo(0.25, 12); // exact hit counts (np.interp would say 0.5, the plateau's right end)
    expect(cpt(pts, 0.25, 0.75, 0.8)).toBeCloseTo(0.65, 12);
  });

  it("oracle ordering a, b, c, d: APGR 0.75; random mix expectation: APGR 0.5, CPT(p) = p", () => {
    expect(apgr(curveOf([0, 1, 2, 3], weak, strong), 0.25, 0.75)).toBeCloseTo(0.75, 12);
    const line = [0, 0.5, 1].map((x) => ({ x, accuracy: 0.25 + 0.5 * x, cost: 0 }));
    expect(apgr(line, 0.25, 0.75)).toBeCloseTo(0.5, 12);
    expect(cpt(line, 0.25, 0.75, 0.8)).toBeCloseTo(0.8, 12);
  });

  it("a non-monotone curve: APGR 0.625, CPT(50%) 0.125", () => {
    // (weak, strong) = (no, yes) (yes, yes) (yes, no) (no, yes), scores 0.9, 0.6, 0.4, 0.2
    const w2 = [false, true, true, false];
    const s2 = [true, true, false, true];
    const p2 = curveOf(orderByScore([0.9, 0.6, 0.4, 0.2]), w2, s2);
    expect(p2.map((p) => p.accuracy)).toEqual([0.5, 0.75, 0.75, 0.5, 0.75]);
    expect(apgr(p2, 0.5, 0.75)).toBeCloseTo(0.625, 12);
    expect(cpt(p2, 0.5, 0.75, 0.5)).toBeCloseTo(0.125, 12);
  });

  it("APGR normalises by the covered x span (RouteLLM's trapezoids of w and s on the same grid)", () => {
    const part = [
      { x: 0.2, accuracy: 0.5, cost: 0 },
      { x: 0.6, accuracy: 0.7, cost: 0 },
    ];
    // area 0.4 · 0.6 = 0.24; (0.24 − 0.25·0.4) / ((0.75 − 0.25)·0.4) = 0.7
    expect(apgr(part, 0.25, 0.75)).toBeCloseTo(0.7, 12);
  });

  it("null where undefined: the strong model no better than the weak, a target never reached", () => {
    expect(apgr(pts, 0.6, 0.55)).toBeNull();
    expect(cpt(pts, 0.6, 0.55, 0.5)).toBeNull();
    expect(cpt(pts, 0.25, 0.95, 0.9)).toBeNull();
    expect(savedAtStrong(pts, 0.9, 10)).toBeNull();
  });

  it("$ saved at equal accuracy, values at a share, margins between curves", () => {
    // accuracy 0.75 is first reached at x = 0.75, $ 7.75 of always-strong's 10
    expect(savedAtStrong(pts, 0.75, 10)).toBeCloseTo(0.225, 12);
    expect(at(pts, 0.125)).toEqual({ accuracy: 0.375, cost: 2.125 });
    expect(at(pts, 1.5)).toBeNull();
    const line = [0, 1].map((x) => ({ x, accuracy: 0.25 + 0.5 * x, cost: 0 }));
    // touches the random line at x = 0, 0.5 and 1, above it elsewhere
    expect(minMargin(pts, line).margin).toBeCloseTo(0, 12);
    // the non-monotone curve dips below its random line (0.5 → 0.75) at x = 0.75: 0.5 vs 0.6875
    const p2 = curveOf(orderByScore([0.9, 0.6, 0.4, 0.2]), [false, true, true, false], [true, true, false, true]);
    const m = minMargin(p2, [0, 1].map((x) => ({ x, accuracy: 0.5 + 0.25 * x, cost: 0 })));
    expect(m.margin).toBeCloseTo(-0.1875, 12);
    expect(m.x).toBe(0.75);
    expect(curveMetrics(pts, 0.25, 0.75, 10).bestAccuracy).toBe(0.75);
  });
});

describe("the cost knob", () => {
  it("isotonic projection keeps multipliers non-increasing in the budget", () => {
    expect(nonIncreasing([3, 1, 2, 0], [1, 1, 1, 1])).toEqual([3, 1.5, 1.5, 0]);
    expect(nonIncreasing([1, 2, 3], [1, 1, 2])).toEqual([2.25, 2.25, 2.25]);
  });

  it("budget: a bin whose episodes overspend raises its λ; λ(b) interpolates between bin centres; state round-trips", () => {
    const k = new CostKnob({ name: "budget", min: 0, max: 1, costUnit: 2, scale: "linear", bins: 2, lambdaLr: 1, lambdaMax: 5 });
    // bin 0 (b ≈ 0.2) spends 0.8 units on average: over by 0.6; bin 1 (b ≈ 0.8) spends 0.4 units: under
    k.update([
      { knob: 0.2, cost: 1.6 },
      { knob: 0.8, cost: 0.8 },
    ]);
    expect(k.lambdas[0]).toBeCloseTo(0.6, 12);
    expect(k.lambdas[1]).toBe(0);
    expect(k.lambdaOf(0.5)).toBeCloseTo(0.3, 12);
    expect(k.penaltyOf(0.25)).toBeCloseTo(0.3, 12);
    const k2 = new CostKnob(k.o);
    k2.restore(k.state());
    expect(k2.lambdas).toEqual(k.lambdas);
  });

  it("log scale: draws and positions cover every decade evenly", () => {
    const k = new CostKnob({ name: "lambda", min: 0.01, max: 1, costUnit: 1, scale: "log", bins: 1, lambdaLr: 1, lambdaMax: 1 });
    expect(k.valueAt(0.5)).toBeCloseTo(0.1, 12);
    expect(k.position(0.1)).toBeCloseTo(0.5, 12);
    const rng = new Rng(3);
    const draws = Array.from({ length: 2000 }, () => k.draw(0, rng).value);
    expect(draws.filter((v) => v < 0.1).length / 2000).toBeGreaterThan(0.45);
    expect(draws.filter((v) => v < 0.1).length / 2000).toBeLessThan(0.55);
    expect(draws.every((v) => v >= 0.01 && v <= 1)).toBe(true);
  });
});

/**
 * A tiny table where the answer is known: the weak model (cost 1) is right exactly when its answer states
 * `#### n`; the strong model (cost 10) is right on every item without such an answer and on half of the
 * others. Escalating an item without a final answer pays 2 (failure −1 → success +1) for 1 cost unit;
 * escalating any other item loses 1 on average. So the best cascade calls the weak model and escalates
 * exactly the items without a final answer while λ < 2 (in cost units of the strong call), none beyond.
 */
function knownTable(dir: string): string {
  const f = path.join(dir, "known.jsonl");
  const rows = [];
  for (let i = 0; i < 60; i++) {
    const ok = i % 2 === 0;
    rows.push(
      JSON.stringify({
        id: `k${i}`,
        prompt: `Question ${i}: how many?`,
        models: {
          weak: { text: ok ? `Counting gives ${i}.\n#### ${i}` : `Maybe ${i}, maybe more; hard to say.`, correct: ok, cost: 1 },
          strong: { text: `It is ${i}.`, correct: !ok || i % 4 === 0, cost: 10 },
        },
      }),
    );
  }
  fs.writeFileSync(f, rows.join("\n") + "\n");
  return f;
}

describe("a budget-conditioned policy on a table where the answer is known", () => {
  const dir = tmpDir("known");
  const data = knownTable(dir);
  const cfg = path.join(dir, "known.yaml");
  fs.writeFileSync(
    cfg,
    [
      "name: known",
      "agents:",
      "  - {kind: recorded, model: '*', extract: {mode: regex, pattern: '####\\s*(\\d+)'}}",
      "  - terminator",
      "tasks: {source: recorded, file: known.jsonl, split: {train: 0.5, val: 0.2, test: 0.3}}",
      "env: {maxSteps: 3, shape: cascade}",
      "encoder: {name: answers}",
      // escalating pays 2 reward for 1 cost unit: the boundary λ = 2 sits mid-range on the log scale
      "knob: {name: lambda, min: 0.2, max: 20}",
      "policy: {hidden: [32, 32], activation: tanh}",
      "algo: {name: ppo, lr: 0.001, entropyCoef: 0.1, epochs: 10, minibatches: 4}",
      "train: {updates: 100, episodesPerUpdate: 64, checkpointEvery: 100}",
      "log: {plot: false, episodeSample: 0}",
    ].join("\n"),
  );
  const runDir = path.join(dir, "run");

  it("traces a curve monotone in the knob: all no-answer items escalated at small λ, none at the largest", { timeout: 120_000 }, async () => {
    expect(fs.existsSync(data)).toBe(true);
    const summary = await train({ config: loadConfig(cfg), runDir });
    expect(summary.status).toBe("completed");
    const r = await curveRun(runDir, { points: 9 });
    const swept = r.points.filter((p) => !p.anchor).sort((a, b) => a.knob! - b.knob!);
    for (let i = 1; i < swept.length; i++) {
      expect(swept[i]!.x, `x at λ ${swept[i]!.knob}`).toBeLessThanOrEqual(swept[i - 1]!.x + 1e-12);
      expect(swept[i]!.cost).toBeLessThanOrEqual(swept[i - 1]!.cost + 1e-12);
    }
    const test = recordedSplits(loadConfig(cfg)).test;
    const noAnswer = test.filter((i) => !i.models.weak!.correct).length / test.length;
    const w = 1 - noAnswer;
    const s = test.filter((i) => i.models.strong!.correct).length / test.length;
    // small λ: exactly the items without a final answer go to the strong model, and all are then right
    expect(swept[0]!.x).toBeCloseTo(noAnswer, 12);
    expect(swept[0]!.accuracy).toBe(1);
    // the largest λ: nothing is escalated
    expect(swept[swept.length - 1]!.x).toBe(0);
    expect(swept[swept.length - 1]!.accuracy).toBeCloseTo(w, 12);
    // the curve is the oracle's: (0, w) → (share without an answer, 1) → the anchor (1, s)
    const ideal = [
      { x: 0, accuracy: w, cost: 0 },
      { x: noAnswer, accuracy: 1, cost: 0 },
      { x: 1, accuracy: s, cost: 0 },
    ];
    expect(r.apgr!).toBeCloseTo(apgr(ideal, w, s)!, 12);
    expect(r.vsRandom.margin).toBeGreaterThanOrEqual(-1e-12);
  });

  it("the orchestrator exposes the knob and refuses values it cannot use", async () => {
    const o = await loadOrchestrator(runDir);
    try {
      expect(o.knob).toEqual({ name: "lambda", min: 0.2, max: 20 });
      const item = recordedSplits(o.config).test.find((i) => !i.models.weak!.correct)!;
      const cheap = await o.solve(item, { knob: 20 });
      const rich = await o.solve(item.prompt, { knob: 0.5 });
      expect(cheap.steps.map((s) => s.agent)).toEqual(["weak", "terminator"]);
      expect(rich.steps.map((s) => s.agent)).toEqual(["weak", "strong", "terminator"]);
      expect(rich.success).toBe(true);
      await expect(o.solve(item, {})).rejects.toThrow(/budget-conditioned: give its lambda/);
      await expect(o.solve(item, { knob: 30 })).rejects.toThrow(/outside the range/);
      await expect(o.solve("not in the table", { knob: 1 })).rejects.toThrow(InputError);
    } finally {
      o.dispose();
    }
  });

  it("maestro serve takes the knob per request (model name or maestro field) and refuses a missing or out-of-range one", async () => {
    const s = await serveRun(runDir, { port: 0, logLevel: "silent" });
    try {
      const item = recordedSplits(s.orchestrator.config).test.find((i) => !i.models.weak!.correct)!;
      const ask = (body: Record<string, unknown>) =>
        fetch(`${s.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "maestro", messages: [{ role: "user", content: item.prompt }], ...body }),
        });
      const agents = async (r: Response) => {
        expect(r.status).toBe(200);
        const j = (await r.json()) as { maestro: { steps: { agent: string }[]; knob: { name: string; value: number } } };
        return { agents: j.maestro.steps.map((x) => x.agent), knob: j.maestro.knob };
      };
      // the same answers as the orchestrator at those knob values (previous test): escalate when λ is small
      expect(await agents(await ask({ model: "maestro:lambda=0.5" }))).toEqual({ agents: ["weak", "strong", "terminator"], knob: { name: "lambda", value: 0.5 } });
      expect((await agents(await ask({ maestro: { lambda: 20 } }))).agents).toEqual(["weak", "terminator"]);
      for (const [body, pattern] of [
        [{}, /budget-conditioned: give its lambda in \[0\.2, 20\]/],
        [{ model: "maestro:lambda=30" }, /out of range: .*\[0\.2, 20\]/],
        [{ maestro: { budget: 1 } }, /conditioned on lambda, not budget/],
      ] as const) {
        const r = await ask(body);
        expect(r.status).toBe(400);
        expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(pattern);
      }
    } finally {
      await s.close();
    }
  });
});

describe("a λ sweep of separately trained policies as one curve", () => {
  const part = (runDir: string, x: number, accuracy: number): CurveResult =>
    ({
      runDir,
      checkpointUpdate: 1,
      split: "test",
      items: 4,
      shape: "cascade",
      weak: { agent: "w", accuracy: 0.25, cost: 1 },
      strong: { agent: "s", accuracy: 0.75, cost: 10 },
      points: [
        { x, accuracy, cost: 1 + 10 * x },
        { x: 0, accuracy: 0.25, cost: 1, anchor: true },
        { x: 1, accuracy: 0.75, cost: 11, anchor: true },
      ],
      operating: [{ x: 0.5, accuracy: null, cost: null }],
      trainedFor: "strong-calls",
      tolerance: 0.005,
      below: [],
      vsRandom: { margin: 0, x: 0 },
      baselines: [{ name: "random", label: "", points: [0, 1].map((x) => ({ x, accuracy: 0.25 + 0.5 * x, cost: 1 + 9 * x })) }],
      bestRule: "",
      warnings: [],
      apgr: null,
      cpt20: null,
      cpt50: null,
      cpt80: null,
      savedAtStrong: null,
      bestAccuracy: accuracy,
      bestCost: 0,
    }) as unknown as CurveResult;

  it("joins the runs' points, adds the end anchors once and recomputes the metrics", () => {
    const c = combineCurves([part("a", 0.25, 0.5), part("b", 0.75, 0.75)]);
    expect(c.points.map((p) => p.x).sort()).toEqual([0, 0.25, 0.75, 1]);
    // the curve 0.25 → 0.5 (x = 0.25) → 0.75 (x = 0.75) → 0.75: area 0.5625 − 0.25 over 0.5
    expect(c.apgr).toBeCloseTo((0.25 * 0.375 + 0.5 * 0.625 + 0.25 * 0.75 - 0.25) / 0.5, 12);
    expect(c.operating[0]!.accuracy).toBeCloseTo(0.625, 12);
    expect(c.vsRandom.margin).toBeGreaterThanOrEqual(0);
    expect(c.below).toEqual([]);
    expect(c.dollars.apgrDollars).not.toBeNull();
  });

  it("flags the joined curve where it falls below the random mix on the trained-for axis", () => {
    // the point (0.5, 0.4) is under the random line's 0.5 there
    const c = combineCurves([part("a", 0.5, 0.4), part("b", 0.75, 0.75)]);
    expect(c.below).toEqual([{ baseline: "random", x: 0.5, learned: 0.4, baselineAccuracy: 0.5, margin: expect.closeTo(0.1, 12) }]);
    expect(c.warnings).toEqual([expect.stringMatching(/falls below random on the strong-calls axis it was trained for \(by up to 0\.1000 accuracy\)/)]);
  });

  it("refuses runs on different items, and budget-conditioned runs", () => {
    const other = { ...part("b", 0.5, 0.5), items: 5 };
    expect(() => combineCurves([part("a", 0.25, 0.5), other])).toThrow(/not evaluated on the same items/);
    const knob = { ...part("b", 0.5, 0.5), knob: { name: "lambda", min: 0, max: 1, costUnit: 1 } } as CurveResult;
    expect(() => combineCurves([part("a", 0.25, 0.5), knob])).toThrow(InputError);
  });

  it("configs/sweeps/gsm8k-lambda.yaml: 7 fixed-λ cascades without a knob, same data and split as gsm8k-cascade", () => {
    const sw = loadSweep(path.join(repoRoot, "configs/sweeps/gsm8k-lambda.yaml"));
    expect(sw.trials).toHaveLength(7);
    for (const t of sw.trials) {
      expect(t.config.knob ?? undefined).toBeUndefined();
      expect(t.config.reward.costPenalty).toBeGreaterThan(0);
      expect(t.config.tasks).toEqual(loadConfig(path.join(repoRoot, "configs/gsm8k-cascade.yaml")).tasks);
    }
  });
});
