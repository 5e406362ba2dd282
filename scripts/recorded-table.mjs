#!/usr/bin/env node
// The measured table for recorded outputs (docs/benchmarks.md, "Recorded outputs"): trains a recorded config for N seeds
// (each seed has its own seeded train/val/test split), draws each seed's curve on its TEST split, and
// prints learned vs every baseline as mean ± sd over the seeds: APGR, CPT(50%), CPT(80%), accuracy and
// $ per 1,000 items at 20% and 50% strong-model calls, and the $ saved at always-strong's accuracy.
// With --sweep, also trains the sweep (separately trained policies, one fixed λ each) and joins each
// seed's points into one curve, to compare with the one budget-conditioned policy.
//
//   npm run build
//   node scripts/recorded-table.mjs [--config configs/gsm8k-cascade.yaml] [--seeds 3] [--workers 2]
//        [--sweep configs/sweeps/gsm8k-lambda.yaml] [--out runs/recorded-table] [--set key=value ...]
//
// Existing completed runs in --out are reused (delete the folder to retrain). Writes <out>/<name>-table.md,
// <name>-table.json and <name>-seed0-curve.png (the figure in docs/routing.md).
import "./lib/help.mjs"; // --help prints the comment above; bad options print it too
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = path.join(root, "dist", "cli.js");
if (!fs.existsSync(cli)) throw new Error("dist/cli.js missing: run `npm run build` first");
const { curveRun, combineCurves, operatingOf } = await import(path.join(root, "dist/analysis/curve.js"));
const { plotCurve } = await import(path.join(root, "dist/plots/curve.js"));
const { loadSweep } = await import(path.join(root, "dist/sweep/spec.js"));

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const config = path.resolve(opt("config", "configs/gsm8k-cascade.yaml"));
const seeds = Number(opt("seeds", "3"));
const workers = opt("workers", "2");
const sweepFile = opt("sweep", undefined);
const out = path.resolve(opt("out", "runs/recorded-table"));
const sets = args.flatMap((a, i) => (a === "--set" ? ["--set", args[i + 1]] : []));
const name =
  path.basename(config).replace(/\.ya?ml$/, "") +
  (sets.length
    ? `-${sets
        .filter((x) => x !== "--set")
        .join("-")
        .replace(/[^A-Za-z0-9_.=-]+/g, "_")}`
    : "");

function run(argv) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, ...argv], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) throw new Error(`maestro ${argv.join(" ")} failed (${r.status})`);
  return (performance.now() - t0) / 1000;
}

const completed = (d) => {
  try {
    return JSON.parse(fs.readFileSync(path.join(d, "summary.json"), "utf8")).status === "completed";
  } catch {
    return false;
  }
};

// 1. the budget-conditioned policy, N seeds
const seedDirs = Array.from({ length: seeds }, (_, i) => path.join(out, name, `seed${i}`));
if (!seedDirs.every(completed)) {
  fs.rmSync(path.join(out, name), { recursive: true, force: true });
  const s = run([
    "train",
    config,
    ...sets,
    "--seeds",
    String(seeds),
    "--seed",
    "0",
    "--workers",
    workers,
    "--run-dir",
    path.join(out, name),
    "--quiet",
  ]);
  console.error(`trained ${name} × ${seeds} seeds in ${s.toFixed(0)} s`);
}
const learned = [];
for (const d of seedDirs) learned.push(await curveRun(d, { points: 21 }));

// 2. the λ sweep (separately trained policies), joined per seed
let swept = [];
if (sweepFile) {
  const sw = loadSweep(path.resolve(sweepFile));
  const sweepDir = path.join(out, sw.name);
  run(["sweep", path.resolve(sweepFile), "--runs-dir", out, "--workers", workers, "--quiet"]);
  for (let k = 0; k < seeds; k++) {
    const parts = [];
    for (const t of sw.trials) parts.push(await curveRun(path.join(sweepDir, t.id, `seed${sw.seeds[k]}`)));
    swept.push(combineCurves(parts));
  }
}

// 3. the table
const shares = [0.2, 0.5];
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
const cell = (xs, digits = 3, scale = 1) => {
  if (xs.some((x) => x === null || x === undefined || Number.isNaN(x)))
    return xs.every((x) => x === null) ? "–" : `${xs.filter((x) => x !== null).length}/${xs.length} reach`;
  const v = xs.map((x) => x * scale);
  return `${mean(v).toFixed(digits)} ± ${sd(v).toFixed(digits)}`;
};
function rowOf(label, results) {
  const ops = results.map((r) => r.operating ?? operatingOf(r, shares));
  return [
    label,
    cell(results.map((r) => r.apgr)),
    cell(
      results.map((r) => r.cpt50),
      2,
    ),
    cell(
      results.map((r) => r.cpt80),
      2,
    ),
    ...shares.flatMap((_, j) => [
      cell(ops.map((o) => o[j].accuracy)),
      cell(
        ops.map((o) => o[j].cost),
        2,
        1000,
      ),
    ]),
    cell(
      results.map((r) => r.savedAtStrong),
      0,
      100,
    ).replace(/ ± /, "% ± ") + (results.some((r) => r.savedAtStrong !== null) ? "%" : ""),
  ];
}
const rows = [rowOf(`**learned, one budget-conditioned policy** (${learned[0].knob.name} swept)`, learned)];
if (swept.length) rows.push(rowOf(`λ sweep: ${swept[0].points.filter((p) => !p.anchor).length} separately trained policies`, swept));
const base = (n) =>
  learned.map((r) => {
    const b = r.baselines.find((x) => x.name === n);
    return { ...b, operating: operatingOf(b, shares) };
  });
const names = {
  "best-rule": "best hand rule (chosen on validation)",
  random: "random mix (mean of 10 seeds)",
  oracle: "per-item oracle",
  "always-weak": "always weak",
  "always-strong": "always strong",
};
for (const n of ["best-rule", "random", "oracle", "always-weak", "always-strong"]) rows.push(rowOf(names[n], base(n)));
const header = [
  "policy",
  "APGR",
  "CPT(50%)",
  "CPT(80%)",
  "accuracy @20%",
  "$/1k @20%",
  "accuracy @50%",
  "$/1k @50%",
  "$ saved at always-strong's accuracy",
];
const md = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
const l0 = learned[0];
const notes = [
  `${name}, ${seeds} seeds (each its own split), test split of ${l0.items} items per seed; weak = ${l0.weak.agent}, strong = ${l0.strong.agent}.`,
  `per seed — learned APGR: ${learned.map((r) => r.apgr?.toFixed(3)).join(", ")}; CPT(50%): ${learned.map((r) => r.cpt50?.toFixed(3)).join(", ")}; best rule: ${learned.map((r) => r.bestRule).join(", ")}`,
  `smallest margin of the learned curve over the random mix (per seed): ${learned.map((r) => r.vsRandom.margin.toFixed(4)).join(", ")}`,
  ...(swept.length ? [`per seed — λ-sweep APGR: ${swept.map((r) => r.apgr?.toFixed(3)).join(", ")}`] : []),
];
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, `${name}-table.md`), md + "\n\n" + notes.join("\n") + "\n");
fs.writeFileSync(path.join(out, `${name}-table.json`), JSON.stringify({ learned, swept }, null, 2) + "\n");
await plotCurve(
  l0,
  path.join(out, `${name}-seed0-curve.png`),
  swept.length ? [{ label: "λ sweep (separate policies)", points: swept[0].points }] : [],
);
console.log(md);
console.log("");
for (const n of notes) console.log(n);
console.log(`\nwrote ${path.join(out, `${name}-table.md`)}, ${name}-table.json and ${name}-seed0-curve.png`);
