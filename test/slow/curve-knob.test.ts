import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { apgr } from "../../src/analysis/metrics-routing.js";
import { curveRun } from "../../src/analysis/curve.js";
import { loadConfig } from "../../src/config/load.js";
import { recordedSplits } from "../../src/config/recorded.js";
import { InputError } from "../../src/core/errors.js";
import { train } from "../../src/run/train.js";
import { loadOrchestrator } from "../../src/serve/orchestrate.js";
import { serveRun } from "../../src/serve/server.js";
import { removeTmpDirs, tmpDir } from "../helpers.js";

afterAll(removeTmpDirs);

// A budget-conditioned policy trained to convergence (100 updates) on a table whose best cascade is known:
// the curve it traces over the knob, and the knob through orchestrate and serve (test/curve.test.ts has
// the knob's and the routing metrics' unit tests).
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

  it(
    "traces a curve monotone in the knob: all no-answer items escalated at small λ, none at the largest",
    { timeout: 120_000 },
    async () => {
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
    },
  );

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
      expect(await agents(await ask({ model: "maestro:lambda=0.5" }))).toEqual({
        agents: ["weak", "strong", "terminator"],
        knob: { name: "lambda", value: 0.5 },
      });
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
