#!/usr/bin/env node
// Trains configs/doa-mvp-published.yaml and configs/doa-mvp.yaml over seeds 0..N-1 and compares the
// mean curves with the DOA Python reference (data/reference/doa-mvp-baseline-curves.csv, measured from
// the DOA Python implementation, 20 seeds, both termination variants; or the file given with --ref).
// Prints the table of docs/benchmarks.md ("Does it match the DOA reference?") and the figures quoted under it.
//
//   npm run build && node scripts/compare-doa-reference.mjs [--seeds 20] [--ref FILE] [--set k=v ...]
import "./lib/help.mjs"; // --help prints the comment above; bad options print it too
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { parse } from "csv-parse/sync";
import { loadConfig, readMetrics, train } from "../dist/index.js";

const { values } = parseArgs({
  options: {
    seeds: { type: "string", default: "20" },
    ref: { type: "string", default: path.resolve(import.meta.dirname, "../data/reference/doa-mvp-baseline-curves.csv") },
    set: { type: "string", multiple: true, default: [] },
  },
});
const fail = (msg) => {
  console.error(`error: ${msg}`);
  process.exit(2);
};
const seeds = Number(values.seeds);
if (!Number.isInteger(seeds) || seeds < 2)
  fail(`--seeds ${values.seeds}: expected an integer ≥ 2 (the comparison needs a spread over seeds)`);
if (!fs.existsSync(values.ref))
  fail(
    `${values.ref}: reference curves not found (the repository ships data/reference/doa-mvp-baseline-curves.csv; --ref FILE names another)`,
  );

const UPDATES = 50;
const refRows = parse(fs.readFileSync(values.ref, "utf8"), { columns: true, skip_empty_lines: true });
const ref = (variant) => {
  const rows = refRows
    .filter((r) => r.variant === variant)
    .map((r) => ({
      epoch: Number(r.epoch),
      ret: Number(r.mean_batch_reward),
      sd: Number(r.sd_batch_reward),
      succ: Number(r.mean_success_rate),
      len: Number(r.mean_episode_len),
    }));
  const epochs = rows.map((r) => r.epoch).join(",");
  const want = Array.from({ length: UPDATES }, (_, i) => i + 1).join(",");
  if (epochs !== want || rows.some((r) => ![r.ret, r.sd, r.succ, r.len].every(Number.isFinite))) {
    fail(
      `${values.ref}: variant "${variant}": expected epochs 1..${UPDATES} with numeric mean_batch_reward, sd_batch_reward, mean_success_rate, mean_episode_len`,
    );
  }
  return rows;
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-doa-"));
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));

const repo = path.resolve(import.meta.dirname, "..");
const variants = [
  ["configs/doa-mvp-published.yaml", "upstream_as_is", 4.0, "published"],
  ["configs/doa-mvp.yaml", "fixed_termination", 1.0, "intended"],
];
const results = [];
for (const [file, variant, optimum, label] of variants) {
  const r = ref(variant);
  const curves = [];
  const t0 = performance.now();
  for (let seed = 0; seed < seeds; seed++) {
    const config = loadConfig(path.join(repo, file), {
      seed,
      sets: ["log.plot=false", "log.episodeSample=0", "train.checkpointEvery=1000", ...values.set],
    });
    if (config.train.updates < UPDATES) fail(`${file}: train.updates ${config.train.updates}: the reference has ${UPDATES} updates`);
    const runDir = path.join(tmp, `${config.name}-seed${seed}`);
    await train({ config, runDir });
    curves.push(readMetrics(path.join(runDir, "metrics.csv")).rows);
  }
  const secs = (performance.now() - t0) / 1000;
  const at = (u, key) => mean(curves.map((c) => c[u - 1][key]));
  // first update whose batch mean return reaches the optimum (minus 1e-9), per seed
  const firstOpt = curves.map((c) => {
    const i = c.findIndex((row) => row.return_mean >= optimum - 1e-9);
    return i < 0 ? Infinity : i + 1;
  });
  const reached = firstOpt.filter(Number.isFinite);
  console.log(`\n${file} vs reference "${variant}" — ${seeds} seeds, ${secs.toFixed(1)} s`);
  console.log(
    "update | maestro return (sd over seeds) | reference return (sd) | maestro success | reference success | maestro len | reference len",
  );
  for (const u of [1, 5, 10, 15, 20, 25, 30, 40, 50]) {
    const rr = r[u - 1];
    const rets = curves.map((c) => c[u - 1].return_mean);
    console.log(
      `${String(u).padStart(6)} | ${at(u, "return_mean").toFixed(3)} (${sd(rets).toFixed(3)}) | ${rr.ret.toFixed(3)} (${rr.sd.toFixed(3)}) | ` +
        `${at(u, "success_rate").toFixed(3)} | ${rr.succ.toFixed(3)} | ${at(u, "ep_len_mean").toFixed(2)} | ${rr.len.toFixed(2)}`,
    );
  }
  // the reference holds only mean curves: compare when each mean curve first comes within 1% of the optimum
  const tol = 0.01 * optimum;
  const refFirst = r.find((x) => x.ret >= optimum - tol);
  const oursFirst = curves[0].findIndex((_, i) => at(i + 1, "return_mean") >= optimum - tol) + 1;
  console.log(
    `per seed, first update whose batch return is the optimum: mean ${reached.length ? mean(reached).toFixed(1) : "-"} (${reached.length}/${seeds} seeds reach it)`,
  );
  console.log(
    `mean curve first within 1% of the optimum: maestro update ${oursFirst || "never"}, reference update ${refFirst ? refFirst.epoch : "never"}`,
  );
  const diffs = r.map((x) => at(x.epoch, "return_mean") - x.ret);
  // two-sample z of the mean return per update (sd over seeds on both sides)
  const z = r.map((x) => {
    const se = Math.sqrt((sd(curves.map((c) => c[x.epoch - 1].return_mean)) ** 2 + x.sd ** 2) / seeds);
    return se > 0 ? (at(x.epoch, "return_mean") - x.ret) / se : 0;
  });
  const mad = mean(diffs.map(Math.abs));
  const outside = z.filter((v) => Math.abs(v) > 2).length;
  const maxZ = Math.max(...z.map(Math.abs));
  console.log(`mean |maestro − reference| over all ${UPDATES} updates: ${mad.toFixed(3)}; mean signed: ${mean(diffs).toFixed(3)}`);
  console.log(
    `z of the difference per update: max |z| ${maxZ.toFixed(2)}, updates with |z| > 2: ${outside}/${UPDATES} (≈2.5 expected by chance)`,
  );
  results.push({
    label,
    ours: (u) => at(u, "return_mean"),
    theirs: (u) => r[u - 1].ret,
    mad,
    outside,
    maxZ,
    oursFirst,
    refFirst: refFirst?.epoch,
  });
}
fs.rmSync(tmp, { recursive: true, force: true });

const [pub, int] = results;
console.log(`\nTable (mean return across ${seeds} seeds; DOA: the reference's upstream_as_is and fixed_termination rows):\n`);
console.log("| update | published: maestro | published: DOA | intended: maestro | intended: DOA |");
console.log("|---:|---:|---:|---:|---:|");
for (const u of [1, 10, 20, 30, 50]) {
  console.log(
    `| ${u} | ${pub.ours(u).toFixed(3)} | ${pub.theirs(u).toFixed(3)} | ${int.ours(u).toFixed(3)} | ${int.theirs(u).toFixed(3)} |`,
  );
}
console.log(
  `\nmean absolute difference over ${UPDATES} updates: ${pub.mad.toFixed(3)} (published), ${int.mad.toFixed(3)} (intended); ` +
    `updates with |z| > 2: ${pub.outside}/${UPDATES} and ${int.outside}/${UPDATES}; largest |z| ${Math.max(pub.maxZ, int.maxZ).toFixed(1)}; ` +
    `mean curve first within 1% of the optimum at update ${pub.oursFirst || "never"} vs ${pub.refFirst ?? "never"} (published) and ${int.oursFirst || "never"} vs ${int.refFirst ?? "never"} (intended)`,
);
