#!/usr/bin/env node
// Throughput of maestro's hot paths on the current backend, each figure the median of --reps repetitions in
// this one process after a warm-up:
//   - rollout env-steps/s on --config (default configs/sim-budget.yaml) at batch sizes 1, 16, 256, 1024
//     (episodes in lockstep, one policy forward per step for the whole batch),
//   - samples/s of one update of a PPO-family trainer (--ppo-algo, default ppo-lagrangian) on a batch of
//     --ppo-episodes episodes of that config,
//   - updates/s of REINFORCE on the DOA MVP (10 episodes: rollout + update),
//   - peak RSS.
// Usage: npm run build && node scripts/bench-throughput.mjs [--config FILE] [--reps 5]
import "./lib/help.mjs"; // --help prints the comment above; bad options print it too
import path from "node:path";
import { parseArgs } from "node:util";

const root = path.resolve(import.meta.dirname, "..");
const { values } = parseArgs({
  options: {
    config: { type: "string", default: path.join(root, "configs", "sim-budget.yaml") },
    reps: { type: "string", default: "5" },
    "ppo-algo": { type: "string", default: "ppo-lagrangian" },
    "ppo-episodes": { type: "string", default: "512" },
  },
});
const reps = Number(values.reps);
const d = (p) => import(path.join(root, "dist", p));
const { loadConfig } = await d("config/load.js");
const { buildAgents, buildEncoder, buildEnvSpec, buildTaskSource, buildTrainer, RunRngs } = await d("run/build.js");
const { rollout } = await d("env/rollout.js");
const { selectBackend, tf } = await d("policy/backend.js");
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function setup(file, sets = []) {
  const config = loadConfig(file, { sets });
  const encoder = buildEncoder(config);
  const rngs = new RunRngs(config.seed);
  return {
    config,
    agents: buildAgents(config),
    spec: buildEnvSpec(config),
    tasks: buildTaskSource(config),
    encoder,
    rngs,
    trainer: buildTrainer(config, encoder, rngs.trainer),
  };
}

function collect(s, episodes, first = 0) {
  return rollout({
    spec: s.spec,
    agents: s.agents,
    encoder: s.encoder,
    policy: s.trainer.policy,
    tasks: s.tasks,
    episodes,
    firstEpisode: first,
    policyRng: s.rngs.policy,
    envRng: s.rngs.env,
    taskRng: s.rngs.tasks,
  });
}

async function timed(fn) {
  const t0 = performance.now();
  const out = await fn();
  return { s: (performance.now() - t0) / 1000, out };
}

const backend = await selectBackend(loadConfig(values.config).backend);
const rows = [];

// 1. rollout throughput
const sim = setup(values.config);
for (const b of [1, 16, 256, 1024]) {
  const minSteps = 20000; // enough steps per repetition to time reliably
  const rounds = Math.max(1, Math.ceil(minSteps / (b * sim.config.env.maxSteps * 0.5)));
  const run = async () => {
    let steps = 0;
    for (let i = 0; i < rounds; i++) steps += (await collect(sim, b, i * b)).envSteps;
    return steps;
  };
  await run();
  const rates = [];
  for (let r = 0; r < reps; r++) {
    const { s, out } = await timed(run);
    rates.push(out / s);
  }
  rows.push([`rollout, batch ${b}`, `${Math.round(median(rates)).toLocaleString("en-US")} env-steps/s`]);
}

// 2. one PPO-family update
const ppo = setup(values.config, [`algo.name=${values["ppo-algo"]}`]);
const episodes = Number(values["ppo-episodes"]);
const batch = await collect(ppo, episodes);
await ppo.trainer.update(batch);
const before = tf.memory().numTensors;
const ups = [];
for (let r = 0; r < reps; r++) ups.push((await timed(() => ppo.trainer.update(batch))).s);
const leaked = tf.memory().numTensors - before;
const epochs = ppo.config.algo.ppo?.epochs ?? 1;
rows.push([
  `${values["ppo-algo"]} update (${batch.rows} samples, ${epochs} epochs)`,
  `${Math.round(batch.rows / median(ups)).toLocaleString("en-US")} samples/s (${(median(ups) * 1000).toFixed(0)} ms per update)`,
]);

// 3. REINFORCE on the DOA MVP
const mvp = setup(path.join(root, "configs", "doa-mvp.yaml"));
let u = 0;
const step = async () => {
  const b = await collect(mvp, 10, 10 * u++);
  await mvp.trainer.update(b);
};
for (let i = 0; i < 5; i++) await step();
const per = [];
for (let r = 0; r < reps; r++) {
  const { s } = await timed(async () => {
    for (let i = 0; i < 50; i++) await step();
  });
  per.push(50 / s);
}
rows.push(["REINFORCE on the DOA MVP (10 episodes + update)", `${median(per).toFixed(0)} updates/s`]);
rows.push(["peak RSS", `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`]);
rows.push(["tensors left alive by the timed updates", String(leaked)]);

console.log(`backend: ${backend}; config: ${path.relative(process.cwd(), values.config)}; medians of ${reps} repetitions after a warm-up`);
console.log("| what | figure |\n|---|---|");
for (const [a, b] of rows) console.log(`| ${a} | ${b} |`);
for (const s of [sim, ppo, mvp]) s.trainer.dispose();
