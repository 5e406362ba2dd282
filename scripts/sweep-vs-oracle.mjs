#!/usr/bin/env node
// A sweep over a simulated config next to the exact optimum of every trial: runs (or resumes) the sweep
// like `maestro sweep`, then solves the LP oracle (`maestro oracle`) of each trial's resolved config and
// prints one Markdown row per trial — the budget-sweep table of docs/benchmarks.md.
//
//   npm run build && node scripts/sweep-vs-oracle.mjs [configs/sweeps/sim-budget.yaml] [--runs-dir runs] [--workers 2]
//
// Completed runs in <runs-dir>/<sweep>/ are reused, so a second call only prints.
import "./lib/help.mjs"; // --help prints the comment above; bad options print it too
import path from "node:path";
import { parseArgs } from "node:util";
import { loadSweep, runSweepLocal, solveOracle } from "../dist/index.js";
import { collectSweep } from "../dist/sweep/summary.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    "runs-dir": { type: "string", default: "runs" },
    workers: { type: "string" },
  },
});
const file = positionals[0] ?? "configs/sweeps/sim-budget.yaml";
const sweep = loadSweep(file);
const t0 = performance.now();
const r = await runSweepLocal(file, {
  runsDir: values["runs-dir"],
  quiet: true,
  ...(values.workers ? { workers: Number(values.workers) } : {}),
});
const secs = (performance.now() - t0) / 1000;
const { trials } = collectSweep(r.sweepDir);
const keys = Object.keys(sweep.spec.parameters);
// trials in the sweep file's order (grid: file order, last key fastest)
const rows = [];
for (const t of sweep.trials) {
  const o = await solveOracle(t.config, file);
  const m = trials.find((x) => x.id === t.id);
  rows.push({ t, o, m });
}
const f = (v, d) => (Number.isFinite(v) ? v.toFixed(d) : "–");
const n = sweep.seeds.length;
console.log(
  `${sweep.name}: ${sweep.trials.length} trials × ${n} seeds in ${r.sweepDir} (${r.ran} runs started, ${r.skipped} reused; ${secs.toFixed(0)} s)\n`,
);
console.log(
  `| ${keys.map((k) => `\`${k}\``).join(" | ")} | success (mean of ${n} seeds, last 10% of updates) | episode cost | optimal success J_R* | λ* |`,
);
console.log(`|${keys.map(() => "---:").join("|")}|---:|---:|---:|---:|`);
for (const { t, o, m } of rows) {
  console.log(
    `| ${keys.map((k) => JSON.stringify(t.params[k])).join(" | ")} | ${f(m?.success.mean, 2)} | ${f(m?.cost.mean, 2)} | ${f(o.success, 4)} | ${f(o.lambda, 2)} |`,
  );
}
console.log(
  `\n(J_R* and λ* from the LP oracle of each trial's config, as \`maestro oracle ${path.relative(process.cwd(), sweep.baseFile)} --set ...\`)`,
);
