#!/usr/bin/env node
/**
 * Times each test file on its own (`npx vitest run <file>`, one after the other, never the suite at
 * once): wall seconds, CPU seconds (user + system of vitest, its workers and the processes the tests
 * start) and the 1-minute load average at the start. Prints one line per file, slowest CPU first, then per
 * tier the CPU sum and a wall-time estimate for an idle machine with N cores (CPU sum / N: the tier's
 * files are CPU-bound and vitest runs them on one worker per core). Wall seconds on a loaded machine
 * say little; CPU seconds change little with load, so the estimate stands where the machine is shared.
 *
 *   node scripts/test-times.mjs [--tier fast|slow|all] [--cores N] [--json FILE] [files...]
 */
import "./lib/help.mjs"; // --help prints the comment above; bad options print it too
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values, positionals: files } = parseArgs({
  options: {
    tier: { type: "string", default: "all" },
    cores: { type: "string", default: String(os.availableParallelism()) },
    json: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
  allowPositionals: true,
});
const tier = values.tier;
const cores = Number(values.cores);
const jsonOut = values.json;
if (!["fast", "slow", "all"].includes(tier)) {
  console.error(`error: --tier ${tier}: expected fast, slow or all`);
  process.exit(2);
}
if (!(cores >= 1)) {
  console.error(`error: --cores ${values.cores}: expected a positive number`);
  process.exit(2);
}

const tierOf = (f) => (f.split(path.sep).join("/").startsWith("test/slow/") ? "slow" : "fast");
const list = (dir) =>
  fs
    .readdirSync(path.join(root, dir))
    .filter((f) => f.endsWith(".test.ts"))
    .map((f) => path.join(dir, f));
const selected = files.length > 0 ? files : [...(tier !== "slow" ? list("test") : []), ...(tier !== "fast" ? list("test/slow") : [])];

const rows = [];
for (const file of selected) {
  const load = os.loadavg()[0];
  // bash's `time` reports the user and system time of every process the command waited for
  const r = spawnSync("bash", ["-c", `TIMEFORMAT='%R %U %S'; time npx vitest run "$0" > /dev/null 2>&1`, file], {
    cwd: root,
    encoding: "utf8",
  });
  const m = /([\d.]+) ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
  if (!m) {
    console.error(`${file}: could not time it (${r.stderr.trim().slice(-200)})`);
    process.exit(1);
  }
  const row = { file, tier: tierOf(file), passed: r.status === 0, wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]), load };
  rows.push(row);
  console.error(
    `${file}: wall ${row.wall.toFixed(1)} s, cpu ${row.cpu.toFixed(1)} s, load ${load.toFixed(1)}${row.passed ? "" : " (FAILED)"}`,
  );
}

rows.sort((a, b) => b.cpu - a.cpu);
console.log(`${"file".padEnd(44)} ${"tier".padEnd(4)} ${"cpu s".padStart(7)} ${"wall s".padStart(7)} ${"load".padStart(5)}`);
for (const r of rows)
  console.log(
    `${r.file.padEnd(44)} ${r.tier.padEnd(4)} ${r.cpu.toFixed(1).padStart(7)} ${r.wall.toFixed(1).padStart(7)} ${r.load.toFixed(1).padStart(5)}${r.passed ? "" : "  FAILED"}`,
  );
for (const t of ["fast", "slow"]) {
  const of = rows.filter((r) => r.tier === t);
  if (of.length === 0) continue;
  const cpu = of.reduce((s, r) => s + r.cpu, 0);
  const wall = of.reduce((s, r) => s + r.wall, 0);
  console.log(
    `${t}: ${of.length} files, cpu ${cpu.toFixed(0)} s, summed wall ${wall.toFixed(0)} s; idle ${cores}-core estimate ${(cpu / cores / 60).toFixed(1)} min`,
  );
}
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ cores, rows }, null, 2) + "\n");
if (rows.some((r) => !r.passed)) process.exitCode = 1;
