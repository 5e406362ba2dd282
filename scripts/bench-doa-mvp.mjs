#!/usr/bin/env node
// Times the DOA MVP training (configs/doa-mvp.yaml: 50 updates × 10 episodes) as a whole process, start-up
// included, and shows where the time goes; also compares batched rollouts (one policy call per step for
// all episodes) with one policy call per episode-step, in the same process.
// Usage: node scripts/bench-doa-mvp.mjs [--reps 7]   (run `npm run build` first)
import "./lib/help.mjs"; // --help prints the comment above; bad options print it too
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { reps: { type: "string", default: "7" } } });
const reps = Number(values.reps);
const root = path.resolve(import.meta.dirname, "..");
const cli = path.join(root, "dist", "bin", "maestro.js"); // the `maestro` bin
const cfg = path.join(root, "configs", "doa-mvp.yaml");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-bench-"));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function timeProcess(args) {
  const t = [];
  for (let i = 0; i <= reps; i++) {
    const dir = path.join(tmp, `r${Math.random().toString(36).slice(2)}`);
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [cli, ...args, "--run-dir", dir, "--quiet"], { encoding: "utf8" });
    const dt = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(r.stderr);
    if (i > 0) t.push(dt); // the first is a warm-up (disk cache)
  }
  return median(t);
}

const startup = (() => {
  const t = [];
  for (let i = 0; i <= reps; i++) {
    const t0 = performance.now();
    spawnSync(process.execPath, [
      "-e",
      `import(${JSON.stringify(path.join(root, "dist", "policy", "backend.js"))}).then(m => m.selectBackend("auto"))`,
    ]);
    if (i > 0) t.push((performance.now() - t0) / 1000);
  }
  return median(t);
})();
const full = timeProcess(["train", cfg]);
const noPlot = timeProcess(["train", cfg, "--set", "log.plot=false"]);
const noPlotNoCk = timeProcess(["train", cfg, "--set", "log.plot=false", "--set", "train.checkpointEvery=1000"]);

// In-process: batched vs per-episode policy calls on the same work (500 episodes of the MVP).
const { loadConfig } = await import(path.join(root, "dist", "index.js"));
const { buildAgents, buildEncoder, buildEnvSpec, buildTaskSource, buildTrainer, RunRngs } = await import(
  path.join(root, "dist", "run", "build.js")
);
const { rollout } = await import(path.join(root, "dist", "env", "rollout.js"));
const { selectBackend } = await import(path.join(root, "dist", "policy", "backend.js"));
const backend = await selectBackend("auto");
const config = loadConfig(cfg);
const agents = buildAgents(config);
const spec = buildEnvSpec(config);
const tasks = buildTaskSource(config);
const encoder = buildEncoder(config);
const trainer = buildTrainer(config, encoder);
const rngs = new RunRngs(0);
async function collect(batchSize) {
  const t0 = performance.now();
  let steps = 0;
  for (let e = 0; e < 500; e += batchSize) {
    const b = await rollout({
      spec,
      agents,
      encoder,
      policy: trainer.policy,
      tasks,
      episodes: batchSize,
      firstEpisode: e,
      policyRng: rngs.policy,
      envRng: rngs.env,
      taskRng: rngs.tasks,
    });
    steps += b.envSteps;
  }
  return { s: (performance.now() - t0) / 1000, steps };
}
await collect(10);
const perEp = [],
  batched = [];
for (let i = 0; i < reps; i++) {
  perEp.push((await collect(1)).s);
  batched.push((await collect(10)).s);
}
trainer.dispose();

console.log(`backend: ${backend}; ${reps} repetitions after a warm-up, medians; ${os.cpus().length} cores`);
console.log(`| what | seconds |`);
console.log(`|---|---|`);
console.log(`| node start-up + tfjs import + backend init | ${startup.toFixed(3)} |`);
console.log(`| \`maestro train configs/doa-mvp.yaml\` (whole process: 500 episodes, 50 updates, checkpoints, plot) | ${full.toFixed(3)} |`);
console.log(`| same, \`--set log.plot=false\` | ${noPlot.toFixed(3)} |`);
console.log(`| same, no plot and one checkpoint at the end | ${noPlotNoCk.toFixed(3)} |`);
console.log(`| rollout of the 500 MVP episodes, one policy call per episode-step | ${median(perEp).toFixed(3)} |`);
console.log(`| rollout of the 500 MVP episodes, batched 10 episodes per policy call | ${median(batched).toFixed(3)} |`);
console.log(`batched / per-episode speed-up: ${(median(perEp) / median(batched)).toFixed(2)}x`);
console.log(`plotting share of the whole process: ${(((full - noPlot) / full) * 100).toFixed(0)}%`);
fs.rmSync(tmp, { recursive: true, force: true });
