#!/usr/bin/env node
// Fingerprints of every shipped config: trains each configs/*.yaml (sweeps are not trained) into a
// temporary folder with the built CLI (dist/bin/maestro.js; run `npm run build` first) and prints, per
// config, the sha256 of metrics.csv without its wall_s column and the sha256 of the final checkpoint's
// weights.bin. A refactor that must not change any number is checked by running this before and after
// and comparing the two outputs line by line.
//
// Configs whose full run takes longer than a few minutes on a 2-core machine are trained for a fixed
// number of updates (the table LONG below, printed in the `updates` column); the same K must be used
// before and after. llm-arithmetic.yaml gets a simulated LLM server (`maestro sim-server --port 0`,
// started and stopped by this script) and a fresh, temporary response cache.
// Besides the shipped configs, VARIANTS trains the trainers no shipped config uses (p3o, cpo, macpo
// joint and sequential, ppo on a budget config) by switching algo.name on a shipped sim config.
//
// Options:
//   --only a,b       only these entries (config names, e.g. doa-mvp, or variant names, e.g. sim-budget+p3o)
//   --no-variants    shipped configs only
//   --repeat N       train every entry N times and flag entries whose hashes differ (determinism check)
//   --keep           keep the temporary run folders (their path is printed)
//   --full           every config in full (no LONG table)
//   --configs DIR    the configs to train (default configs/): e.g. the configs of the commit before a rename
//                    of config keys, next to the CLI of that commit (--cli)
//   --cli FILE       the CLI bundle to train with (default dist/bin/maestro.js): e.g. a copy of the build
//                    before a change, so the before and after passes can run side by side
// Output: one line per entry, `name  updates  metrics-sha256  weights-sha256  seconds`, sorted by name.
import "./lib/help.mjs"; // --help prints the comment above; bad options print it too
import { spawn, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    only: { type: "string" },
    "no-variants": { type: "boolean", default: false },
    repeat: { type: "string", default: "1" },
    keep: { type: "boolean", default: false },
    cli: { type: "string" },
    full: { type: "boolean", default: false },
    configs: { type: "string", default: "configs" },
  },
});
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = path.resolve(args.cli ?? path.join(root, "dist", "bin", "maestro.js"));
if (!fs.existsSync(cli)) {
  console.error(`${cli} missing: run \`npm run build\` first`);
  process.exit(1);
}
const repeat = Number(args.repeat);
if (!Number.isInteger(repeat) || repeat < 1) {
  console.error(`--repeat: expected a positive integer, got ${args.repeat}`);
  process.exit(2);
}

/**
 * Fixed update counts of configs whose full run exceeds ~3 minutes here (same K before and after). On an
 * idle 2-core machine the recorded-output and LLM configs take 95–170 s in full; with the machine shared
 * they took 8 minutes each (gsm8k-cascade, 479 s), so they are shortened (gsm8k-cascade was also hashed in
 * full, before and after: `--full`).
 */
const LONG = args.full ? {} : { "gsm8k-cascade": 20, "gsm8k-pool": 20, "gsm8k-router": 20, "mmlu-router": 20, "llm-arithmetic": 40 };

/** Trainers no shipped config uses, on a shipped config: name → [config, updates, --set overrides]. */
const VARIANTS = {
  "sim-budget+p3o": ["sim-budget", 40, ["algo.name=p3o"]],
  "sim-budget+cpo": ["sim-budget", 30, ["algo.name=cpo"]],
  "sim-budget+ppo": ["sim-budget", 40, ["algo.name=ppo"]],
  "sim-tiers+macpo": ["sim-tiers", 30, ["algo.name=macpo"]],
  "sim-tiers+macpo-seq": ["sim-tiers", 30, ["algo.name=macpo", "algo.macpo.step=sequential"]],
};

const entries = [];
const configDir = path.resolve(args.configs);
for (const f of fs.readdirSync(configDir).filter((f) => f.endsWith(".yaml"))) {
  const name = f.slice(0, -5);
  entries.push({ name, file: path.join(configDir, f), updates: LONG[name] ?? null, sets: [] });
}
if (!args["no-variants"]) {
  for (const [name, [base, updates, sets]] of Object.entries(VARIANTS)) {
    entries.push({ name, file: path.join(configDir, `${base}.yaml`), updates, sets });
  }
}
const only = args.only ? new Set(args.only.split(",")) : null;
if (only) {
  const unknown = [...only].filter((n) => !entries.some((e) => e.name === n));
  if (unknown.length > 0) {
    console.error(`--only: unknown entries ${unknown.join(", ")} (known: ${entries.map((e) => e.name).join(", ")})`);
    process.exit(2);
  }
}
const selected = entries.filter((e) => !only || only.has(e.name)).sort((a, b) => a.name.localeCompare(b.name));

const sha = (buf) => crypto.createHash("sha256").update(buf).digest("hex");

/** sha256 of metrics.csv with the wall_s column removed (timing is the one column allowed to differ). */
function metricsHash(file) {
  const lines = fs.readFileSync(file, "utf8").split("\n");
  const header = lines[0].split(",");
  const w = header.indexOf("wall_s");
  if (w < 0) throw new Error(`${file}: no wall_s column in the header`);
  return sha(
    lines
      .map((l) =>
        l === ""
          ? l
          : l
              .split(",")
              .filter((_, i) => i !== w)
              .join(","),
      )
      .join("\n"),
  );
}

/** sha256 of the weights of the run's last checkpoint. */
function weightsHash(runDir) {
  const dir = path.join(runDir, "checkpoints");
  const last = fs
    .readdirSync(dir)
    .filter((d) => d.startsWith("update-"))
    .sort()
    .at(-1);
  if (!last) throw new Error(`${dir}: no checkpoint`);
  return sha(fs.readFileSync(path.join(dir, last, "weights.bin")));
}

/** Starts `maestro sim-server --port 0`; resolves with its base URL once it listens. */
function startSimServer() {
  const child = spawn(process.execPath, [cli, "sim-server", "--port", "0"], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.on("exit", (code) => reject(new Error(`sim-server exited (${code}) before listening: ${out}`)));
  });
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-hash-"));
let server = null;
const results = [];
try {
  for (const e of selected) {
    const hashes = [];
    for (let k = 0; k < repeat; k++) {
      const runDir = path.join(tmp, `${e.name}-${k}`);
      const sets = [...e.sets, ...(e.updates !== null ? [`train.updates=${e.updates}`] : []), "log.plot=false", "log.tensorboard=false"];
      if (e.name.startsWith("llm-")) {
        server ??= await startSimServer();
        sets.push(`llm.baseURL=${server.url}/v1`, `llm.cache.dir=${path.join(tmp, `cache-${e.name}-${k}`)}`);
      }
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [cli, "train", e.file, "--quiet", "--run-dir", runDir, ...sets.flatMap((s) => ["--set", s])], {
        cwd: root,
        encoding: "utf8",
      });
      const seconds = (performance.now() - t0) / 1000;
      if (r.status !== 0) throw new Error(`${e.name}: train failed (exit ${r.status})\n${r.stdout}\n${r.stderr}`);
      hashes.push({ metrics: metricsHash(path.join(runDir, "metrics.csv")), weights: weightsHash(runDir), seconds });
      if (!args.keep) fs.rmSync(runDir, { recursive: true, force: true });
    }
    const first = hashes[0];
    const deterministic = hashes.every((h) => h.metrics === first.metrics && h.weights === first.weights);
    const line = `${e.name.padEnd(26)} ${String(e.updates ?? "full").padEnd(5)} ${first.metrics} ${first.weights} ${first.seconds.toFixed(1)}${deterministic ? "" : "  NOT DETERMINISTIC"}`;
    console.log(line);
    results.push(line);
  }
} finally {
  server?.child.kill("SIGTERM");
  if (args.keep) console.error(`run folders kept in ${tmp}`);
  else fs.rmSync(tmp, { recursive: true, force: true });
}
