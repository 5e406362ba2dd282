#!/usr/bin/env node
// Trained orchestrator vs every fixed single agent vs a uniform-random orchestrator on held-out tasks.
//
//   npm run build && node scripts/compare-llm-orchestrators.mjs [config] [--set k=v ...] [--eval N] [--seeds 0,1,2]
//
// Starts the simulated LLM server in-process on an ephemeral loopback port (unless --base-url is
// given), trains `config` (default configs/llm-arithmetic.yaml) for each seed, and evaluates on the
// config's held-out split:
//   - learned: the trained policy, greedy;
//   - fixed <agent>: that agent answers once, then the Terminator ends the episode;
//   - uniform random: each step picks an agent of the pool uniformly (until the Terminator or maxSteps).
// All methods use the same episode indices, so identical requests get identical (cached) replies.
// Prints accuracy and mean cost (USD under the config's prices) per method, a Markdown table (the
// docs/benchmarks.md's), the learned policy's held-out accuracy per seed and its agent calls per seed.
import "./lib/help.mjs"; // --help prints the comment above; bad options print it too
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  Episode,
  Rng,
  buildAgents,
  buildEnvSpec,
  buildLlm,
  buildTaskSplits,
  loadConfig,
  loadOrchestrator,
  startSimServer,
  train,
} from "../dist/index.js";

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const sets = argv.flatMap((a, i) => (a === "--set" ? [argv[i + 1]] : []));
const configFile = argv[0] && !argv[0].startsWith("--") ? argv[0] : "configs/llm-arithmetic.yaml";
const seeds = opt("--seeds", "0").split(",").map(Number);
const evalN = Number(opt("--eval", "300"));
const EVAL_BASE = 1_000_000; // episode indices of the evaluation (disjoint from training's)

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-compare-"));
const server = opt("--base-url") ? undefined : await startSimServer({ port: 0 });
const baseURL = opt("--base-url", server ? `${server.url}/v1` : undefined);
const common = [`llm.baseURL=${baseURL}`, `llm.cache.dir=${path.join(tmp, "cache")}`, "log.plot=false", ...sets];

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** Runs one policy over the eval tasks with the pool's agents; `choose(state, rng)` → agent index. */
async function runPolicy(config, agents, spec, tasks, choose, seed) {
  const rng = new Rng(`${seed}:compare`);
  const results = await Promise.all(
    tasks.map(async (task, i) => {
      const ep = new Episode(spec, task, EVAL_BASE + i);
      const envRng = new Rng(`${seed}:compare-env:${i}`);
      while (!ep.done) {
        const a = choose(ep.state, rng);
        const out = await agents[a].act(ep.state, { rng: envRng, episode: ep.index });
        ep.apply(agents[a], a, out);
      }
      return { success: ep.success ? 1 : 0, cost: ep.state.costSpent, steps: ep.state.step };
    }),
  );
  return {
    accuracy: mean(results.map((r) => r.success)),
    cost: mean(results.map((r) => r.cost)),
    steps: mean(results.map((r) => r.steps)),
  };
}

const rows = new Map();
const perSeed = [];
const add = (name, r) => {
  if (!rows.has(name)) rows.set(name, []);
  rows.get(name).push(r);
};

for (const seed of seeds) {
  const config = loadConfig(configFile, { sets: common, seed });
  const runDir = path.join(tmp, `run-seed${seed}`);
  const t0 = performance.now();
  const summary = await train({ config, runDir });
  console.log(
    `seed ${seed}: trained ${summary.updates} updates / ${summary.episodes} episodes in ${((performance.now() - t0) / 1000).toFixed(1)} s ` +
      `(LLM requests ${summary.llm?.requests}, errors ${summary.llm?.errors}, training spend ${summary.llm?.cost.toFixed(3)} USD at the config prices); final train success ${summary.finalWindow?.success_rate?.toFixed(3)}`,
  );
  const evalTasks = buildTaskSplits(config).eval.slice(0, evalN);
  const llm = buildLlm(config);
  const agents = buildAgents(config, { llm });
  const spec = buildEnvSpec(config);
  const term = config.agents.findIndex((a) => a.kind === "terminator");

  const orch = await loadOrchestrator(runDir, { sets: [`llm.cache.dir=${path.join(tmp, "cache")}`] });
  const traces = await orch.solveMany(evalTasks, { greedy: true, firstEpisode: EVAL_BASE });
  const usage = {};
  for (const t of traces) for (const s of t.steps) usage[s.agent] = (usage[s.agent] ?? 0) + 1;
  orch.dispose();
  const learned = {
    accuracy: mean(traces.map((t) => (t.success ? 1 : 0))),
    cost: mean(traces.map((t) => t.cost)),
    steps: mean(traces.map((t) => t.steps.length)),
  };
  add("learned (greedy)", learned);
  perSeed.push({
    seed,
    accuracy: learned.accuracy,
    usage: Object.entries(usage)
      .sort((x, y) => y[1] - x[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(", "),
  });
  console.log(
    `  learned on held-out: accuracy ${learned.accuracy.toFixed(3)}, mean cost ${learned.cost.toExponential(3)}, mean steps ${learned.steps.toFixed(2)}`,
  );
  console.log(`  learned agent usage on held-out (calls): ${JSON.stringify(usage)}`);

  for (let a = 0; a < agents.length; a++) {
    if (a === term) continue;
    const r = await runPolicy(config, agents, spec, evalTasks, (s) => (s.step === 0 ? a : term), seed);
    add(`fixed ${agents[a].name}`, r);
  }
  add("uniform random", await runPolicy(config, agents, spec, evalTasks, (_s, rng) => rng.int(agents.length), seed));

  // for context, two hand-written pipelines (not "single fixed agents"): solve → check → check, and
  // the same with an oracle that knows the task type and picks the sim server's specialist for it
  const idx = (name) => agents.findIndex((a) => a.name === name);
  const pipeline = (first) => (s) => (s.step === 0 ? first(s) : s.step < 3 && s.step < spec.maxSteps - 1 ? idx("reviewer") : term);
  if ([idx("coder"), idx("reviewer"), idx("planner"), idx("researcher")].every((i) => i >= 0) && spec.maxSteps >= 4) {
    add(
      "pipeline coder → reviewer → reviewer",
      await runPolicy(
        config,
        agents,
        spec,
        evalTasks,
        pipeline(() => idx("coder")),
        seed,
      ),
    );
    const specialist = { addsub: idx("planner"), muldiv: idx("coder"), percent: idx("researcher") };
    add(
      "pipeline type-oracle specialist → reviewer → reviewer",
      await runPolicy(
        config,
        agents,
        spec,
        evalTasks,
        pipeline((s) => specialist[s.task.type] ?? idx("coder")),
        seed,
      ),
    );
  }
}

const table = [...rows.entries()].map(([name, rs]) => ({
  name,
  accuracy: mean(rs.map((r) => r.accuracy)),
  cost: mean(rs.map((r) => r.cost)),
  steps: mean(rs.map((r) => r.steps)),
}));
const fixed = table.filter((r) => r.name.startsWith("fixed "));
const bestFixed = fixed.reduce((b, r) => (r.accuracy > b.accuracy ? r : b));
const learned = table[0];
const random = table.find((r) => r.name === "uniform random");
console.log(`\nheld-out tasks: ${evalN} per seed, seeds ${seeds.join(",")}; cost = mean USD per task under the config's prices\n`);
console.log("| method | accuracy | mean cost per task | mean steps |");
console.log("|---|---|---|---|");
for (const r of table) console.log(`| ${r.name} | ${r.accuracy.toFixed(3)} | ${r.cost.toExponential(3)} | ${r.steps.toFixed(2)} |`);
console.log(
  `\nlearned vs best fixed (${bestFixed.name}): accuracy ${learned.accuracy.toFixed(3)} vs ${bestFixed.accuracy.toFixed(3)}, ` +
    `cost ratio ${(learned.cost / bestFixed.cost).toFixed(3)}; vs uniform random: accuracy ${random.accuracy.toFixed(3)}, ` +
    `cost ratio ${(learned.cost / random.cost).toFixed(3)}`,
);
console.log(`learned, held-out accuracy per seed: ${perSeed.map((p) => `${p.accuracy.toFixed(3)} (seed ${p.seed})`).join(", ")}`);
console.log("learned, agent calls on the held-out tasks per seed:");
for (const p of perSeed) console.log(`  seed ${p.seed}: ${p.usage}`);
await server?.close();
fs.rmSync(tmp, { recursive: true, force: true });
