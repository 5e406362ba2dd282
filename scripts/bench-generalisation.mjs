#!/usr/bin/env node
/**
 * Do the trainers' schema defaults hold on problems nobody tuned them for?
 *
 * Draws problems of the seeded random CMDP family (src/analysis/cmdp-family.ts), trains every trainer
 * on each with its SCHEMA DEFAULTS ONLY — the config is the problem (agents, tasks, env, reward,
 * encoder view markov, and for the two-head family policy.heads) plus `algo: {name}`; no other algo
 * field, no policy network block, no train block (train.updates / episodesPerUpdate defaults) — then
 * evaluates the final policy exactly and compares it with the LP optimum:
 *   constrained trainers (ppo-lagrangian, p3o, cpo; macpo, mappo-lagrangian on the two-head family):
 *     a run passes when J_R ≥ 0.97·J_R* and J_C ≤ 1.03·d;
 *   reinforce, ppo (the problem's penalised form, fixed λ): a run passes when value ≥ 0.97·value*.
 * Prints per trainer the share of passing runs, median and worst J_R/J_R* (value/value*) and J_C/d,
 * runs over 1.10·d, and the wall time; `--verbose` adds one line per run.
 *
 *   npm run build && node scripts/bench-generalisation.mjs [--family-seed 1] [--problems 0-29] [--seeds 0-2]
 *       [--trainers ppo-lagrangian,p3o,cpo,reinforce,ppo] [--heads 1|2] [--workers 2] [--set key=value ...]
 *       [--json results.json] [--verbose] [--write-configs DIR]
 * `--resume FILE` appends every finished run to FILE (JSON lines) and skips the runs already in it, so an
 * interrupted benchmark continues where it stopped. Each line records its `--set` overrides; a run in FILE
 * measured with other overrides is an error (use another file), so one file never mixes two settings.
 * `--baseline FILE` (a --resume file of another setting) compares the runs both files hold, pair by pair
 * (same problem, trainer and seed): passes in each, runs fixed and runs broken — a candidate default is
 * judged on the same problems, not on a fresh draw.
 * `--write-configs DIR` writes each problem × trainer config (what the runs train on) to DIR and stops:
 * `maestro train DIR/<problem>-<trainer>.yaml`, `maestro oracle ...` reproduce a single run.
 * `--set` applies an override to every run (to measure a candidate default before changing the schema).
 */
import "./lib/help.mjs"; // --help prints the comment above; bad options print it too
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import YAML from "yaml";
import { familyConfig, familyRawConfig, generateFamily, describeProblem, scoreOnFamily } from "../dist/analysis/cmdp-family.js";
import { constrainedAlgos } from "../dist/config/schema.js";
import { exactEvaluateRun } from "../dist/analysis/exact.js";
import { runPool } from "../dist/sweep/pool.js";

const { values } = parseArgs({
  options: {
    "family-seed": { type: "string", default: "1" },
    problems: { type: "string", default: "0-29" },
    seeds: { type: "string", default: "0-2" },
    trainers: { type: "string" },
    heads: { type: "string", default: "1" },
    workers: { type: "string", default: "2" },
    set: { type: "string", multiple: true, default: [] },
    json: { type: "string" },
    verbose: { type: "boolean", default: false },
    "keep-runs": { type: "boolean", default: false },
    "write-configs": { type: "string" },
    resume: { type: "string" },
    baseline: { type: "string" },
  },
});

/** "0-29" | "0,3,7" | "0-4,10" → numbers. */
function parseList(s) {
  return s.split(",").flatMap((part) => {
    const m = /^(\d+)-(\d+)$/.exec(part.trim());
    if (m) return Array.from({ length: Number(m[2]) - Number(m[1]) + 1 }, (_, i) => Number(m[1]) + i);
    const n = Number(part);
    if (!Number.isInteger(n) || n < 0) throw new Error(`not an index or range: "${part}"`);
    return [n];
  });
}

const heads = Number(values.heads);
if (heads !== 1 && heads !== 2) throw new Error(`--heads ${values.heads}: 1 or 2`);
const trainers = (values.trainers ?? (heads === 2 ? "macpo,mappo-lagrangian" : "ppo-lagrangian,p3o,cpo,reinforce,ppo")).split(",");
const workers = Math.min(2, Math.max(1, Number(values.workers))); // the machine is shared: 2 processes at most
const problemIdx = parseList(values.problems);
const seeds = parseList(values.seeds);
const familySeed = values["family-seed"];

const t0 = performance.now();
const family = await generateFamily(problemIdx, { seed: familySeed, heads });
console.error(
  `family seed ${familySeed}, ${heads} head(s): ${family.length} problems drawn and solved in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
if (values.verbose) for (const p of family) console.error("  " + describeProblem(p));

if (values["write-configs"]) {
  fs.mkdirSync(values["write-configs"], { recursive: true });
  for (const p of family) {
    for (const trainer of trainers) {
      const file = path.join(values["write-configs"], `${p.id}-${trainer}.yaml`);
      familyConfig(p, trainer, {}, values.set); // validates
      fs.writeFileSync(file, `# ${describeProblem(p)}\n` + YAML.stringify(familyRawConfig(p, trainer), { lineWidth: 0 }));
    }
  }
  console.error(`wrote ${family.length * trainers.length} configs to ${values["write-configs"]}`);
  process.exit(0);
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-bench-gen-"));
const io = { log: { plot: false, episodeSample: 0 } };
const jobs = [];
const meta = new Map();
for (const p of family) {
  for (const trainer of trainers) {
    const file = path.join(tmp, `${p.id}-${trainer}.yaml`);
    // the problem + algo.name (schema defaults for the rest); I/O settings only (no plot, no episode
    // samples); --set overrides go to the runs
    familyConfig(p, trainer, io, values.set); // validates before anything runs
    fs.writeFileSync(file, YAML.stringify(familyRawConfig(p, trainer, io), { lineWidth: 0 }));
    for (const seed of seeds) {
      const key = `${p.id}/${trainer}/seed${seed}`;
      jobs.push({ key, config: file, seed, sets: values.set, runDir: path.join(tmp, p.id, trainer, `seed${seed}`) });
      meta.set(key, { problem: p, trainer, seed });
    }
  }
}

/** The runs of a --resume file (JSON lines), each line checked; `file` names the option in errors. */
function readRuns(file, option) {
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .map((l, i) => [l, i + 1])
    .filter(([l]) => l.trim())
    .map(([l, line]) => {
      let r;
      try {
        r = JSON.parse(l);
      } catch (e) {
        throw new Error(`${option} ${file}, line ${line}: not JSON (${e.message})`);
      }
      if (typeof r?.key !== "string" || typeof r?.trainer !== "string")
        throw new Error(`${option} ${file}, line ${line}: not a run record (no "key" or "trainer")`);
      return r;
    });
}
/** A record's overrides as one comparable string, in any order (records written before overrides were stored: none). */
const setsOf = (r) => JSON.stringify([...(r.sets ?? [])].sort());
const sets = setsOf({ sets: values.set });

// --baseline is read (and checked) before anything runs, not after the benchmark
const base = values.baseline
  ? new Map(
      readRuns(values.baseline, "--baseline")
        .filter((r) => !r.failed)
        .map((r) => [r.key, r]),
    )
  : null;

let done = 0;
const results = [];
// --resume: runs already measured (same keys, same --set overrides) are read back and not run again
if (values.resume && fs.existsSync(values.resume)) {
  const wanted = new Set(jobs.map((j) => j.key));
  const rows = readRuns(values.resume, "--resume");
  const other = rows.find((r) => wanted.has(r.key) && setsOf(r) !== sets);
  if (other) {
    throw new Error(
      `--resume ${values.resume}: run ${other.key} was measured with --set ${setsOf(other)}, this benchmark uses --set ${sets}; ` +
        `resume with the same overrides or write to another file`,
    );
  }
  const have = new Map(rows.filter((r) => !r.failed).map((r) => [r.key, r]));
  for (let i = jobs.length - 1; i >= 0; i--) {
    const r = have.get(jobs[i].key);
    if (r) {
      results.push(r);
      jobs.splice(i, 1);
    }
  }
  console.error(`--resume ${values.resume}: ${results.length} runs already measured, ${jobs.length} to run`);
}
const record = (r) => {
  r.sets = values.set;
  results.push(r);
  if (values.resume) fs.appendFileSync(values.resume, JSON.stringify(r) + "\n");
};
// exact evaluations run one at a time in this process (concurrent backend set-up races in tfjs)
let evalChain = Promise.resolve();
// a run whose process was killed from outside (a signal: OOM killer, a stray kill) is run once more;
// a run that failed on its own is reported as failed
const killed = (r) => r.status === "failed" && /signal/.test(r.error ?? "");
const retry = [];
const onFinish = (job, r) => {
  done++;
  const m = meta.get(job.key);
  if (killed(r) && !job.retried) {
    console.error(`${job.key}: ${r.error}; queued again`);
    retry.push({ ...job, retried: true });
    done--;
    return;
  }
  if (r.status !== "completed") {
    console.error(`${job.key}: ${r.status} ${r.error ?? ""} (log ${r.logFile})`);
    record({ key: job.key, trainer: m.trainer, problem: m.problem.id, seed: m.seed, failed: r.error ?? r.status });
    return;
  }
  evalChain = evalChain.then(() =>
    exactEvaluateRun(job.runDir).then(
      (x) => {
        const score = scoreOnFamily(m.problem, m.trainer, x);
        const constrained = score.constrained;
        const ref = constrained ? m.problem.reference.constrained : m.problem.reference.penalised;
        const f = r.summary.final ?? {};
        const res = {
          key: job.key,
          trainer: m.trainer,
          problem: m.problem.id,
          seed: m.seed,
          mode: x.mode,
          ratio: score.ratio,
          costRatio: score.costRatio,
          value: x.value,
          taskReturn: x.taskReturn,
          cost: x.cost,
          optimum: ref.value,
          budget: m.problem.budget,
          lambdaStar: m.problem.reference.constrained.lambda,
          lambda: f.lambda ?? f.kappa ?? f.nu ?? null,
          wall_s: r.summary.wall_s,
          episodes: r.summary.episodes,
        };
        res.pass = score.pass;
        record(res);
        if (values.verbose) {
          console.error(
            `[${done}/${jobs.length}] ${job.key}: ${constrained ? "J_R/J_R*" : "value/value*"} ${res.ratio.toFixed(3)}  J_C/d ${res.costRatio.toFixed(3)}` +
              `${res.lambda !== null ? `  λ|κ ${Number(res.lambda).toPrecision(3)} (λ* ${res.lambdaStar.toPrecision(3)})` : ""}  ${res.pass ? "ok" : "MISS"}  ${res.wall_s.toFixed(1)} s`,
          );
        }
        if (!values["keep-runs"]) fs.rmSync(job.runDir, { recursive: true, force: true });
      },
      (e) => {
        console.error(`${job.key}: exact evaluation failed: ${e.message}`);
        record({ key: job.key, trainer: m.trainer, problem: m.problem.id, seed: m.seed, failed: `exact evaluation: ${e.message}` });
      },
    ),
  );
};
await runPool(jobs, { workers, onFinish });
if (retry.length > 0) await runPool(retry, { workers, onFinish });
await evalChain;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const wallAll = (performance.now() - t0) / 1000;
console.log(
  `| trainer | problem form | runs | pass | J_R/J_R* (value/value*) median / worst | J_C/d median / worst | runs > 1.10·d | train wall s (mean per run) |`,
);
console.log(`|---|---|---|---|---|---|---|---|`);
for (const trainer of trainers) {
  const rs = results.filter((r) => r.trainer === trainer && !r.failed);
  const failed = results.filter((r) => r.trainer === trainer && r.failed).length;
  const constrained = constrainedAlgos.includes(trainer);
  const ratios = rs.map((r) => r.ratio);
  const costs = rs.map((r) => r.costRatio);
  const pass = rs.filter((r) => r.pass).length;
  const wall = rs.reduce((s, r) => s + r.wall_s, 0);
  const worstCost = constrained ? Math.max(...costs) : NaN;
  console.log(
    `| ${trainer} | ${constrained ? "constrained (J_R ≥ 0.97·J_R*, J_C ≤ 1.03·d)" : "penalised (value ≥ 0.97·value*)"} | ${rs.length}${failed ? ` (+${failed} failed)` : ""} | ` +
      `${((100 * pass) / Math.max(1, rs.length + failed)).toFixed(0)}% | ${median(ratios).toFixed(3)} / ${Math.min(...ratios).toFixed(3)} | ` +
      `${constrained ? `${median(costs).toFixed(3)} / ${worstCost.toFixed(3)}` : `(${median(costs).toFixed(3)}, budget not imposed)`} | ` +
      `${constrained ? costs.filter((c) => c > 1.1).length : "-"} | ${wall.toFixed(0)} (${(wall / Math.max(1, rs.length)).toFixed(1)}) |`,
  );
}
console.log(
  `\nfamily seed ${familySeed}, ${heads} head(s), problems ${values.problems} (${family.length}), seeds ${values.seeds}; ` +
    `schema defaults${values.set.length ? ` + --set ${values.set.join(" ")}` : ""}; exact evaluation of the final policy; ` +
    `${workers} worker process(es), ${wallAll.toFixed(0)} s in all`,
);
const misses = results.filter((r) => !r.pass);
if (misses.length > 0 && !values.verbose) {
  console.log(`\nmisses:`);
  for (const r of misses.sort((a, b) => a.key.localeCompare(b.key))) {
    console.log(
      r.failed
        ? `  ${r.key}: failed (${r.failed})`
        : `  ${r.key}: ratio ${r.ratio.toFixed(3)}, J_C/d ${r.costRatio.toFixed(3)}${r.lambda !== null ? `, final λ|κ ${Number(r.lambda).toPrecision(3)} (λ* ${r.lambdaStar.toPrecision(3)})` : ""}`,
    );
  }
}
if (base) {
  // paired comparison: the same problem × trainer × seed in both settings
  const baseSets = [...new Set([...base.values()].map(setsOf))].join(" or ");
  console.log(`\npaired with --baseline ${values.baseline} (--set ${baseSets === "[]" ? "none" : baseSets}), runs measured in both:`);
  console.log(
    `| trainer | paired runs | pass (baseline) | pass (this) | fixed | broken | median J_R/J_R* (value/value*) baseline → this |`,
  );
  console.log(`|---|---|---|---|---|---|---|`);
  for (const trainer of trainers) {
    const pairs = results.filter((r) => r.trainer === trainer && !r.failed && base.has(r.key)).map((r) => [base.get(r.key), r]);
    const count = (f) => pairs.filter(f).length;
    console.log(
      `| ${trainer} | ${pairs.length} | ${count(([b]) => b.pass)} | ${count(([, r]) => r.pass)} | ${count(([b, r]) => !b.pass && r.pass)} | ` +
        `${count(([b, r]) => b.pass && !r.pass)} | ${median(pairs.map(([b]) => b.ratio)).toFixed(3)} → ${median(pairs.map(([, r]) => r.ratio)).toFixed(3)} |`,
    );
  }
}
if (values.json)
  fs.writeFileSync(values.json, JSON.stringify({ familySeed, heads, problems: family.map(describeProblem), results }, null, 2) + "\n");
fs.rmSync(tmp, { recursive: true, force: true });
