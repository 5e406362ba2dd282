#!/usr/bin/env node
// Speed of a recorded-output experiment, phase by phase, measured in one process:
//   1. load     — the config: the CSV parsed (csv-parse), the gold file joined, every recorded answer's
//                 tokens counted (gpt-tokenizer) and text features computed, once per item;
//   2. train    — the config's full training run (rollouts + PPO updates);
//   3. curve    — `maestro curve`: the knob sweep on the test split and every baseline.
// Then the ratio that shows why text features are computed once per item: encoding a batch of states
// with the precomputed features vs recomputing them from the answer texts each time.
//
// A config over three or more models (configs/gsm8k-pool.yaml) gets the N-model curve and its baselines,
// and the line of training spend.
//
//   npm run build && node scripts/bench-recorded.mjs [configs/gsm8k-cascade.yaml | configs/gsm8k-pool.yaml]
import "./lib/help.mjs"; // --help prints the comment above; bad options print it too
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const d = (p) => import(path.join(root, "dist", p));
const { loadConfig } = await d("config/load.js");
const { train } = await d("run/train.js");
const { curveRun } = await d("analysis/curve.js");
const { poolCurveRun } = await d("analysis/pool-curve.js");
const { buildAgents, buildEncoder } = await d("run/build.js");
const { recordedSplits } = await d("config/recorded.js");
const { answerFeatures } = await d("tasks/answer-features.js");
const { selectBackend } = await d("policy/backend.js");

const file = path.resolve(process.argv[2] ?? path.join(root, "configs/gsm8k-cascade.yaml"));
const time = async (f) => {
  const t0 = performance.now();
  const v = await f();
  return [v, (performance.now() - t0) / 1000];
};

const backend = await selectBackend("auto");
const [config, tLoad] = await time(() => {
  const c = loadConfig(file);
  buildAgents(c); // the recorded agents precompute every item's output
  return c;
});
const runDir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-bench-recorded-"));
const [summary, tTrain] = await time(() => train({ config, runDir: path.join(runDir, "run") }));
const pool = config.agents.filter((a) => a.kind === "recorded").length >= 3;
const [curve, tCurve] = await time(() => (pool ? poolCurveRun : curveRun)(path.join(runDir, "run"), { points: 21 }));

// features once per item vs per encode
const agents = buildAgents(config);
const encoder = buildEncoder(config);
const items = recordedSplits(config).train.slice(0, 256);
const states = items.map((task) => {
  const out = agents[0].act({ task, history: [], step: 0, maxSteps: config.env.maxSteps, costSpent: 0 }, { rng: undefined, episode: 0 });
  return {
    task,
    history: [{ agent: agents[0].name, agentIndex: 0, output: out }],
    step: 1,
    maxSteps: config.env.maxSteps,
    costSpent: out.cost,
    knob: config.knob ? 0.5 : undefined,
  };
});
const buf = new Float32Array(states.length * encoder.dim);
const reps = 50;
const [, tCached] = await time(() => {
  for (let r = 0; r < reps; r++) encoder.encodeInto(states, buf);
});
const [, tRecompute] = await time(() => {
  for (let r = 0; r < reps; r++) for (const s of states) answerFeatures(s.history[0].output.content, s.history[0].output.answer);
});

fs.rmSync(runDir, { recursive: true, force: true });
console.log(`config: ${path.relative(root, file)} (backend ${backend}, ${os.cpus().length} cores)`);
console.log(`load (parse, tokens, features, agents):  ${tLoad.toFixed(2)} s`);
console.log(
  `train (${summary.updates} updates, ${summary.episodes} episodes): ${tTrain.toFixed(2)} s  (${(summary.episodes / tTrain).toFixed(0)} episodes/s)`,
);
console.log(
  `curve (${(pool ? curve.learned : curve.points).length} points on ${curve.items} test items + baselines): ${tCurve.toFixed(2)} s`,
);
if (summary.trainingSpend) {
  const sp = summary.trainingSpend;
  console.log(
    `training spend (response cache on): $${sp.usd.toFixed(4)} = ${(100 * sp.share).toFixed(1)}% of the full training table ($${sp.tableUsd.toFixed(4)})`,
  );
}
console.log(`total: ${(tLoad + tTrain + tCurve).toFixed(2)} s`);
console.log(
  `encoding ${states.length} states with precomputed answer features: ${((1000 * tCached) / reps).toFixed(2)} ms per batch; ` +
    `recomputing the features from the texts alone: ${((1000 * tRecompute) / reps).toFixed(2)} ms per batch ` +
    `(${(tRecompute / tCached).toFixed(1)}× the whole cached encode)`,
);
