#!/usr/bin/env node
// What TensorBoard event files cost a run: `maestro train configs/doa-mvp.yaml` as a whole process with
// log.tensorboard on (the default) and off, run alternately in one go: wall time, CPU time (user + system)
// and peak memory (max RSS) of each process, medians over the repetitions, and the ratios on / off.
//   node scripts/bench-tensorboard.mjs [--reps 9] [--config configs/doa-mvp.yaml] [--set key=value ...]
// (run `npm run build` first). Each process is started by a small Python wrapper that reads the child's
// peak RSS and CPU time from getrusage(RUSAGE_CHILDREN) (scripts/lib/measure.mjs, shared with
// scripts/bench-startup-vs-doa.mjs).
import "./lib/help.mjs"; // --help prints the comment above; bad options print it too
import { measureProcess } from "./lib/measure.mjs";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

const usage = `usage: node scripts/bench-tensorboard.mjs [--reps N] [--config FILE] [--set key=value ...] [--python PYTHON]
Trains FILE (default configs/doa-mvp.yaml) alternately with log.tensorboard=true and =false, N times each
(default 9), and prints the medians of wall time, CPU time and peak RSS of each, and the ratios on / off.`;

let values;
try {
  ({ values } = parseArgs({
    options: {
      reps: { type: "string", default: "9" },
      config: { type: "string", default: "configs/doa-mvp.yaml" },
      set: { type: "string", multiple: true, default: [] },
      python: { type: "string", default: "python3" },
      help: { type: "boolean", short: "h", default: false },
    },
  }));
} catch (e) {
  console.error(`${e.message}\n${usage}`);
  process.exit(2);
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const reps = Number(values.reps);
if (!Number.isInteger(reps) || reps < 1) {
  console.error(`--reps ${values.reps}: expected a positive integer\n${usage}`);
  process.exit(2);
}
const root = path.resolve(import.meta.dirname, "..");
const cli = path.join(root, "dist", "bin", "maestro.js");
if (!fs.existsSync(cli)) {
  console.error("dist/bin/maestro.js missing: run `npm run build` first");
  process.exit(2);
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-bench-tb-"));

function run(tensorboard) {
  const dir = path.join(tmp, `run-${Math.random().toString(36).slice(2)}`);
  const sets = [...values.set, `log.tensorboard=${tensorboard}`].flatMap((s) => ["--set", s]);
  let m;
  try {
    m = measureProcess(values.python, root, [process.execPath, cli, "train", values.config, "--run-dir", dir, "--quiet", ...sets]);
  } catch (e) {
    throw new Error(`maestro train (log.tensorboard=${tensorboard}) failed:\n${e.message}`);
  }
  if (fs.existsSync(path.join(dir, "tb")) !== tensorboard)
    throw new Error(`log.tensorboard=${tensorboard}: tb/ ${tensorboard ? "missing" : "written"}`);
  fs.rmSync(dir, { recursive: true, force: true });
  return m;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const on = [];
const off = [];
run(true); // warm the file cache
for (let i = 0; i < reps; i++) {
  // alternate the order so drift in machine load hits both sides alike
  if (i % 2) {
    off.push(run(false));
    on.push(run(true));
  } else {
    on.push(run(true));
    off.push(run(false));
  }
}
fs.rmSync(tmp, { recursive: true, force: true });
const m = (xs, k) => median(xs.map((x) => x[k]));
console.log(
  `maestro train ${values.config}${values.set.length ? ` --set ${values.set.join(" --set ")}` : ""}: medians of ${reps} runs each, alternated; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`,
);
console.log("| log.tensorboard | wall s | CPU s | peak RSS MiB |");
console.log("|---|---:|---:|---:|");
console.log(`| true | ${m(on, "wall").toFixed(3)} | ${m(on, "cpu").toFixed(3)} | ${m(on, "rss").toFixed(1)} |`);
console.log(`| false | ${m(off, "wall").toFixed(3)} | ${m(off, "cpu").toFixed(3)} | ${m(off, "rss").toFixed(1)} |`);
console.log(
  `| ratio true / false | ${(m(on, "wall") / m(off, "wall")).toFixed(3)} | ${(m(on, "cpu") / m(off, "cpu")).toFixed(3)} | ${(m(on, "rss") / m(off, "rss")).toFixed(3)} |`,
);
