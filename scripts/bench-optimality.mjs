#!/usr/bin/env node
/**
 * How far from optimal is each trainer? For every simulated config and trainer, trains `--seeds`
 * seeds, evaluates the final policy exactly (`eval --exact`) and compares with the LP oracle:
 * optimality ratio value/value*, cost ratio J_C/d, and episodes used. Prints a Markdown table with one
 * row per (config, trainer): by default every sim config × every constrained-capable trainer (24 rows);
 * the tables in docs/benchmarks.md each name the --configs/--trainers/--set that produced them.
 *
 *   npm run build && node scripts/bench-optimality.mjs [--seeds 5] [--configs a.yaml,b.yaml] [--trainers ppo-lagrangian,p3o,reinforce,cpo,macpo,mappo-lagrangian] [--set k=v ...] [--list]
 *
 * --list prints the rows the command would measure (config and trainer) and exits.
 */
import "./lib/help.mjs"; // --help prints the comment above; bad options print it too
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../dist/config/load.js";
import { exactEvaluateRun } from "../dist/analysis/exact.js";
import { solveOracle } from "../dist/analysis/oracle.js";
import { train } from "../dist/run/train.js";

const { values } = parseArgs({
  options: {
    seeds: { type: "string", default: "5" },
    configs: {
      type: "string",
      default: "configs/sim-budget.yaml,configs/sim-bandit.yaml,configs/sim-tiers.yaml,configs/sim-tiers-specialists.yaml",
    },
    // cpo: single-head trust region; macpo / mappo-lagrangian: one network per head; on a
    // two-head config the single-head trainers learn one categorical over the joint actions
    trainers: { type: "string", default: "ppo-lagrangian,p3o,reinforce,cpo,macpo,mappo-lagrangian" },
    set: { type: "string", multiple: true, default: [] },
    list: { type: "boolean", default: false },
  },
});
if (values.list) {
  for (const file of values.configs.split(","))
    for (const trainer of values.trainers.split(",")) console.log(`${path.basename(file)} ${trainer}`);
  process.exit(0);
}
const seeds = Number(values.seeds);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-bench-opt-"));
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
const fmt = (xs) => `${mean(xs).toFixed(3)} ± ${sd(xs).toFixed(3)}`;

const rows = [];
for (const file of values.configs.split(",")) {
  for (const trainer of values.trainers.split(",")) {
    const sets = [`algo.name=${trainer}`, ...values.set];
    const cfg0 = loadConfig(file, { sets });
    const oracle = await solveOracle(cfg0, file);
    const ratio = [];
    const costRatio = [];
    const jr = [];
    const lam = [];
    let episodes = 0;
    for (let seed = 0; seed < seeds; seed++) {
      const config = loadConfig(file, { sets, seed });
      const runDir = path.join(tmp, `${config.name}-${trainer}-${seed}`);
      const s = await train({ config, runDir });
      const x = await exactEvaluateRun(runDir);
      ratio.push(x.value / oracle.value);
      costRatio.push(oracle.budget ? x.cost / oracle.budget : NaN);
      jr.push(x.taskReturn);
      if (s.final && Number.isFinite(s.final.lambda)) lam.push(s.final.lambda);
      episodes = s.episodes;
    }
    rows.push({
      config: path.basename(file),
      trainer,
      problem: oracle.mode,
      optimum: oracle.value.toFixed(4),
      ratio: fmt(ratio),
      costRatio: fmt(costRatio),
      // the trainer's λ multiplies the cost in budget units (c/d), so it compares with λ*·d
      lambda: lam.length ? `${fmt(lam)} (λ*·d ${(oracle.lambda * oracle.budget).toFixed(3)})` : "-",
      episodes,
    });
    console.error(`${file} ${trainer}: value ratio ${fmt(ratio)}, J_C/d ${fmt(costRatio)}`);
  }
}
console.log(`| config | trainer | problem | value* | value / value* | J_C / d | final λ | episodes |`);
console.log(`|---|---|---|---|---|---|---|---|`);
for (const r of rows) {
  console.log(`| ${r.config} | ${r.trainer} | ${r.problem} | ${r.optimum} | ${r.ratio} | ${r.costRatio} | ${r.lambda} | ${r.episodes} |`);
}
console.log(`\n${seeds} seeds per row (mean ± std over seeds); exact evaluation of the final policy; runs in ${tmp}`);
fs.rmSync(tmp, { recursive: true, force: true });
