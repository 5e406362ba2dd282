#!/usr/bin/env node
// Trains configs/doa-mvp-published.yaml and configs/doa-mvp.yaml over seeds 0..N-1 and compares the
// mean curves with the DOA Python reference (../shared/reference/doa-mvp-baseline-curves.csv, or the
// file given with --ref). Usage: node scripts/compare-doa-reference.mjs [--seeds 20] [--ref FILE]
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadConfig, readMetrics, train } from "../dist/index.js";

const { values } = parseArgs({
  options: {
    seeds: { type: "string", default: "20" },
    ref: { type: "string", default: path.resolve(import.meta.dirname, "../../shared/reference/doa-mvp-baseline-curves.csv") },
    set: { type: "string", multiple: true, default: [] },
  },
});
const seeds = Number(values.seeds);
const refRows = fs.existsSync(values.ref)
  ? fs.readFileSync(values.ref, "utf8").trim().split("\n").slice(1).map((l) => l.split(","))
  : [];
const ref = (variant) =>
  refRows.filter((r) => r[0] === variant).map((r) => ({ epoch: +r[1], ret: +r[2], sd: +r[3], succ: +r[4], len: +r[5] }));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-doa-"));
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));

for (const [file, variant, optimum] of [
  ["configs/doa-mvp-published.yaml", "upstream_as_is", 4.0],
  ["configs/doa-mvp.yaml", "fixed_termination", 1.0],
]) {
  const curves = [];
  const t0 = performance.now();
  for (let seed = 0; seed < seeds; seed++) {
    const config = loadConfig(file, { seed, sets: ["log.plot=false", "log.episodeSample=0", "train.checkpointEvery=1000", ...values.set] });
    const runDir = path.join(tmp, `${config.name}-seed${seed}`);
    await train({ config, runDir });
    curves.push(readMetrics(path.join(runDir, "metrics.csv")).rows);
  }
  const secs = (performance.now() - t0) / 1000;
  const r = ref(variant);
  const at = (u, key) => mean(curves.map((c) => c[u - 1][key]));
  // first update whose batch mean return reaches the optimum (minus 1e-9), per seed
  const firstOpt = curves.map((c) => {
    const i = c.findIndex((row) => row.return_mean >= optimum - 1e-9);
    return i < 0 ? Infinity : i + 1;
  });
  const reached = firstOpt.filter(Number.isFinite);
  console.log(`\n${file} vs reference "${variant}" — ${seeds} seeds, ${secs.toFixed(1)} s`);
  console.log("update | maestro return (sd over seeds) | reference return (sd) | maestro success | reference success | maestro len | reference len");
  for (const u of [1, 5, 10, 15, 20, 25, 30, 40, 50]) {
    const rr = r.find((x) => x.epoch === u);
    const rets = curves.map((c) => c[u - 1].return_mean);
    console.log(
      `${String(u).padStart(6)} | ${at(u, "return_mean").toFixed(3)} (${sd(rets).toFixed(3)}) | ` +
        `${rr ? `${rr.ret.toFixed(3)} (${rr.sd.toFixed(3)})` : "-"} | ${at(u, "success_rate").toFixed(3)} | ${rr ? rr.succ.toFixed(3) : "-"} | ` +
        `${at(u, "ep_len_mean").toFixed(2)} | ${rr ? rr.len.toFixed(2) : "-"}`,
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
  console.log(`mean |maestro − reference| over all 50 updates: ${mean(diffs.map(Math.abs)).toFixed(3)}; mean signed: ${mean(diffs).toFixed(3)}`);
  console.log(
    `z of the difference per update: max |z| ${Math.max(...z.map(Math.abs)).toFixed(2)}, updates with |z| > 2: ${z.filter((v) => Math.abs(v) > 2).length}/50 (≈2.5 expected by chance)`,
  );
}
fs.rmSync(tmp, { recursive: true, force: true });
