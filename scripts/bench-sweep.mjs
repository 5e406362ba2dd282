#!/usr/bin/env node
// Sweep throughput: the same sweep of 8 short trials (DOA MVP, 50 updates × 10 episodes, one seed each)
// run with 1 local worker and with 2 (or --workers N), each in a fresh folder; prints wall times and the
// speed-up measured in this one run. Also `train --seeds 2` with 1 vs 2 child processes.
// Usage: node scripts/bench-sweep.mjs [--workers N]   (build first: npx tsc -p tsconfig.build.json)
import "./lib/help.mjs"; // --help prints the comment above; bad options print it too
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = path.join(root, "dist", "cli.js");
if (!fs.existsSync(cli)) {
  console.error("dist/cli.js missing: run npx tsc -p tsconfig.build.json first");
  process.exit(1);
}
const wi = process.argv.indexOf("--workers");
const workers = wi > 0 ? Number(process.argv[wi + 1]) : 2;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-bench-sweep-"));
const sweepFile = path.join(tmp, "bench.yaml");
fs.writeFileSync(
  sweepFile,
  `name: bench
base: ${path.join(root, "configs", "doa-mvp.yaml")}
seeds: 1
fixed: { log.plot: false }
parameters:
  reward.costPenalty: { values: [0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0] }
`,
);

function timed(args) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8" });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) {
    console.error(r.stdout, r.stderr);
    process.exit(1);
  }
  return s;
}

console.log(`machine: ${os.availableParallelism()} cores, node ${process.version}`);
const one = timed(["sweep", sweepFile, "--runs-dir", path.join(tmp, "w1"), "--workers", "1", "--quiet"]);
const many = timed(["sweep", sweepFile, "--runs-dir", path.join(tmp, `w${workers}`), "--workers", String(workers), "--quiet"]);
console.log(
  `sweep, 8 trials × 1 seed:  1 worker ${one.toFixed(2)} s   ${workers} workers ${many.toFixed(2)} s   speed-up ${(one / many).toFixed(2)}×`,
);
const s1 = timed([
  "train",
  "configs/doa-mvp.yaml",
  "--seeds",
  String(workers),
  "--workers",
  "1",
  "--run-dir",
  path.join(tmp, "s1"),
  "--quiet",
  "--set",
  "log.plot=false",
]);
const s2 = timed([
  "train",
  "configs/doa-mvp.yaml",
  "--seeds",
  String(workers),
  "--workers",
  String(workers),
  "--run-dir",
  path.join(tmp, "s2"),
  "--quiet",
  "--set",
  "log.plot=false",
]);
console.log(
  `train --seeds ${workers}:        1 process ${s1.toFixed(2)} s   ${workers} processes ${s2.toFixed(2)} s   speed-up ${(s1 / s2).toFixed(2)}×`,
);
// a heavier seed job (PPO-Lagrangian on the simulated CMDP, ~5 s of training per seed), where process
// start-up no longer dominates
const heavy = ["train", "configs/sim-budget.yaml", "--seeds", String(workers), "--run-dir"];
const heavyOpts = ["--quiet", "--set", "log.plot=false", "--set", "train.updates=80"];
const h1 = timed([...heavy, path.join(tmp, "h1"), "--workers", "1", ...heavyOpts]);
const h2 = timed([...heavy, path.join(tmp, "h2"), "--workers", String(workers), ...heavyOpts]);
console.log(
  `train sim-budget --seeds ${workers}: 1 process ${h1.toFixed(2)} s   ${workers} processes ${h2.toFixed(2)} s   speed-up ${(h1 / h2).toFixed(2)}×`,
);
fs.rmSync(tmp, { recursive: true, force: true });
