#!/usr/bin/env node
// `maestro train configs/doa-mvp.yaml` (plots on) as a whole process, side by side with the DOA
// framework's Python MVP (examples/run_mvp_training.py: the same 50 updates × 10 episodes of Echo +
// Terminator, REINFORCE, torch), run alternately in one go: wall time and peak memory (max RSS) of each
// process, medians over the repetitions, and the ratios maestro / DOA.
//
// The DOA code is not part of maestro: give a checkout of the DOA framework's repository
// (AsyncFuncAI/dynamic-orchestrator-agent) and a Python that has torch and numpy:
//   node scripts/bench-startup-vs-doa.mjs --doa /path/to/dynamic-orchestrator-agent --python /path/to/venv/bin/python [--reps 7]
// (run `npm run build` first). Each process is started by a small Python wrapper that reads the child's
// peak RSS from getrusage(RUSAGE_CHILDREN), so both sides are measured the same way.
// Without the DOA code (or torch), compare two builds of maestro instead, alternating in the same way:
//   node scripts/bench-startup-vs-doa.mjs --baseline /path/to/other/dist/bin/maestro.js [--reps 9]
// (e.g. a copy of dist/bin made before a change; it must sit two levels below a package root with
// node_modules, as dist/bin does). --doa and --baseline together measure all three.
import "./lib/help.mjs"; // --help prints the comment above; bad options print it too
import { measureProcess } from "./lib/measure.mjs";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    doa: { type: "string", default: process.env.DOA_DIR },
    python: { type: "string", default: process.env.DOA_PYTHON ?? "python3" },
    reps: { type: "string", default: "7" },
    baseline: { type: "string" },
    args: { type: "string", multiple: true, default: [] },
  },
});
const root = path.resolve(import.meta.dirname, "..");
const cli = path.join(root, "dist", "bin", "maestro.js"); // the `maestro` bin
if (!fs.existsSync(cli)) throw new Error("dist/bin/maestro.js missing: run `npm run build` first");
if (values.doa && !fs.existsSync(path.join(values.doa, "examples", "run_mvp_training.py"))) {
  console.error(
    `--doa ${values.doa}: not a checkout of the DOA framework (no examples/run_mvp_training.py); see the comment at the top of this script`,
  );
  process.exit(2);
}
if (!values.doa && !values.baseline) {
  console.error(
    "give --doa DIR (a checkout of the DOA framework) and/or --baseline FILE (another build's dist/bin/maestro.js); see --help",
  );
  process.exit(2);
}
if (values.baseline && !fs.existsSync(values.baseline)) {
  console.error(`--baseline ${values.baseline}: no such file`);
  process.exit(2);
}
const reps = Number(values.reps);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-vs-doa-"));

// runs argv, returns wall seconds, peak RSS (MiB) and CPU seconds (user + system) of that child alone
const measure = (cwd, argv) => measureProcess(values.python, cwd, argv);
const maestroRun = (bin) => () => {
  const dir = path.join(tmp, `run-${Math.random().toString(36).slice(2)}`);
  const m = measure(root, [
    process.execPath,
    bin,
    "train",
    "configs/doa-mvp.yaml",
    "--run-dir",
    dir,
    "--quiet",
    "--set",
    "log.plot=true",
    ...values.args,
  ]);
  if (!fs.existsSync(path.join(dir, "plots", "structure.png"))) throw new Error(`the maestro run of ${bin} wrote no plots`);
  fs.rmSync(dir, { recursive: true, force: true });
  return m;
};
const sides = [["maestro", maestroRun(cli)]];
if (values.baseline) sides.push(["baseline", maestroRun(path.resolve(values.baseline))]);
if (values.doa) sides.push(["doa", () => measure(values.doa, [values.python, "examples/run_mvp_training.py"])]);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const loadBefore = os.loadavg()[0].toFixed(1); // the machine's 1-minute load average as the measurement starts
for (const [, f] of sides) f(); // warm-ups (disk cache)
const runs = Object.fromEntries(sides.map(([k]) => [k, []]));
for (let i = 0; i < reps; i++) {
  // rotate the order so that no side always runs first
  for (let j = 0; j < sides.length; j++) {
    const [k, f] = sides[(i + j) % sides.length];
    runs[k].push(f());
  }
}
fs.rmSync(tmp, { recursive: true, force: true });

const row = (k) => ({
  wall: median(runs[k].map((r) => r.wall)),
  rss: median(runs[k].map((r) => r.rss)),
  cpu: median(runs[k].map((r) => r.cpu)),
});
const names = {
  maestro: "`maestro train configs/doa-mvp.yaml` (plots on)",
  baseline: `baseline: \`${values.baseline}\` (plots on)`,
  doa: "DOA Python MVP (`python examples/run_mvp_training.py`)",
};
const load = os.loadavg()[0].toFixed(1);
console.log(
  `${reps} rotating runs each after a warm-up, medians; ${os.cpus().length} cores, load average ${loadBefore} at the start, ${load} at the end`,
);
console.log("| process | wall s | peak RSS MiB | CPU s (user + sys) |");
console.log("|---|---:|---:|---:|");
for (const [k] of sides) {
  const r = row(k);
  console.log(`| ${names[k]} | ${r.wall.toFixed(2)} | ${r.rss.toFixed(0)} | ${r.cpu.toFixed(2)} |`);
}
const m = row("maestro");
for (const k of ["doa", "baseline"].filter((x) => runs[x])) {
  const d = row(k);
  console.log(
    `| ratio maestro / ${k} | ${(m.wall / d.wall).toFixed(2)}× | ${(m.rss / d.rss).toFixed(2)}× | ${(m.cpu / d.cpu).toFixed(2)}× |`,
  );
}
for (const k of ["doa", "baseline"].filter((x) => runs[x])) {
  const pair = runs.maestro.map((r, i) => r.wall / runs[k][i].wall);
  console.log(
    `wall ratio maestro / ${k} per pair: median ${median(pair).toFixed(2)}×, range ${Math.min(...pair).toFixed(2)}–${Math.max(...pair).toFixed(2)}×`,
  );
}
