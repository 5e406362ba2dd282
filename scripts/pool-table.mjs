#!/usr/bin/env node
// The table of an N-model pool across seeds: for the learned policy and every baseline, on each seed's test
// split, the $-axis figures of `maestro curve` (accuracy at the best single model's $, at 8 % and 15 % of
// it, the share of its $ at which its accuracy is first reached, the $-axis APGR), as mean ± sd over the
// runs given. Each run needs `maestro curve <run>` first (it reads <run>/curve/curve.json).
//
//   npm run build && node scripts/pool-table.mjs runs/pool/seed0 runs/pool/seed1 runs/pool/seed2 [--markdown]
import "./lib/help.mjs"; // --help prints the comment above; bad options print it too
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { accuracyAt, firstReach } = await import(path.join(root, "dist/analysis/metrics-pool.js"));
const args = process.argv.slice(2);
const md = args.includes("--markdown");
const runs = args.filter((a) => !a.startsWith("--"));
if (runs.length === 0) {
  console.error("give one or more run folders (each with curve/curve.json)");
  process.exit(2);
}
const results = runs.map((r) => {
  const f = path.join(r, "curve", "curve.json");
  if (!fs.existsSync(f)) {
    console.error(`${f}: missing (run: npx maestro curve ${r})`);
    process.exit(2);
  }
  return JSON.parse(fs.readFileSync(f, "utf8"));
});
const figures = (points, r) => {
  const best = r.models.find((m) => m.agent === r.best);
  const reach = firstReach(points, best.accuracy, "dollars");
  return {
    at8: accuracyAt(points, 0.08 * best.cost, "dollars") ?? null,
    at15: accuracyAt(points, 0.15 * best.cost, "dollars") ?? null,
    atBest: accuracyAt(points, best.cost, "dollars") ?? null,
    share: reach === null ? null : reach / best.cost,
  };
};
const rows = new Map();
const add = (name, vals) => {
  if (!rows.has(name)) rows.set(name, []);
  rows.get(name).push(vals);
};
for (const r of results) {
  add("learned (one budget-conditioned policy)", { ...figures(r.learned, r), apgr: r.dollars.apgrDollars });
  for (const b of r.baselines) add(b.name, { ...figures(b.points, r), apgr: b.dollars.apgrDollars });
}
const stat = (xs, d = 3, pct = false) => {
  const v = xs.filter((x) => x !== null && x !== undefined);
  if (v.length === 0) return "–";
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)) : 0;
  const k = pct ? 100 : 1;
  const s = `${(k * m).toFixed(pct ? 1 : d)}${pct ? "%" : ""} ± ${(k * sd).toFixed(pct ? 1 : d)}`;
  return v.length < xs.length ? `${s} (${v.length}/${xs.length})` : s;
};
const head = ["policy", "acc @ 8% of best $", "acc @ 15% of best $", "acc @ best $", "share of best $ to reach its acc", "APGR ($ axis)"];
const lines = [...rows].map(([name, vs]) => [
  name,
  stat(
    vs.map((v) => v.at8),
    4,
  ),
  stat(
    vs.map((v) => v.at15),
    4,
  ),
  stat(
    vs.map((v) => v.atBest),
    4,
  ),
  stat(
    vs.map((v) => v.share),
    3,
    true,
  ),
  stat(vs.map((v) => v.apgr)),
]);
const best = results[0].models.find((m) => m.agent === results[0].best);
console.log(
  `${results.length} run(s), test split of ${results.map((r) => r.items).join("/")} items; best single model ${results[0].best}; trained for ${results[0].trainedFor}`,
);
if (md) {
  console.log(`| ${head.join(" | ")} |`);
  console.log(`|${head.map(() => "---").join("|")}|`);
  for (const l of lines) console.log(`| ${l.join(" | ")} |`);
} else {
  for (const l of [head, ...lines]) console.log(l.map((c, i) => (i === 0 ? c.padEnd(40) : c.padStart(22))).join(""));
}
void best;
