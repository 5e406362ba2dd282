import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig, validateConfig } from "../src/config/load.js";
import { loadAgentFile } from "../src/agents/loader.js";
import { train } from "../src/run/train.js";
import { loadUserModules } from "../src/run/build.js";
import { loadOrchestrator } from "../src/serve/orchestrate.js";
import { evaluateRun } from "../src/analysis/evaluate.js";
import { Episode } from "../src/env/env.js";
import { TerminatorAgent } from "../src/agents/terminator.js";
import { InputError } from "../src/core/errors.js";
import { generateArithmeticTasks } from "../src/tasks/arithmetic.js";
import { calculator, guesser } from "../agents/examples/calculator.js";
import { sameAmount } from "../agents/examples/money.js";
import { Rng } from "../src/core/rng.js";
import { removeTmpDirs, repoRoot, runCli, tmpDir } from "./helpers.js";

afterAll(removeTmpDirs);

const exampleConfig = path.join(repoRoot, "configs", "calculator-arithmetic.yaml");
const quiet = ["log.plot=false"];

/** A folder with the given files (text) and a config.yaml; returns the config path. */
function project(files: Record<string, string>, config: Record<string, unknown>): string {
  const dir = tmpDir("module");
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  const file = path.join(dir, "config.yaml");
  fs.writeFileSync(file, YAML.stringify(config));
  return file;
}

/** A small DOA-style config around the given agents (inline tasks, success = a terminator ended it). */
function doaConfig(agents: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "module-test",
    seed: 0,
    agents,
    tasks: { source: "inline", items: ["What is 2 + 3?", "What is 7 - 4?"], evaluator: "terminated" },
    env: { maxSteps: 3 },
    reward: { successBonus: 1, failurePenalty: 0, costPenalty: 0.1, gamma: 1 },
    encoder: { name: "doa-md5" },
    policy: { hidden: [8] },
    algo: { name: "reinforce", reinforce: { lr: 0.01 } },
    train: { updates: 2, episodesPerUpdate: 4 },
    log: { plot: false },
    ...extra,
  };
}

async function inputError(p: Promise<unknown> | (() => unknown)): Promise<InputError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error("expected an InputError");
}

describe("the worked example: a calculator tool agent (agents/examples/)", () => {
  it("computes the arithmetic problems right (the guesser rarely), and the money evaluator reads amounts to the cent", () => {
    const tasks = generateArithmeticTasks({ seed: 3, count: 90, types: ["addsub", "muldiv", "percent"], minSteps: 2, maxSteps: 4 });
    const rng = new Rng(0);
    const base = {
      history: [],
      step: 0,
      maxSteps: 4,
      costSpent: 0,
      agent: "calculator",
      params: { costPerOperation: 0.01 },
      rng,
      episode: 0,
    };
    const judge = (task: (typeof tasks)[number], answer: string | undefined) =>
      sameAmount({ task, history: [], ...(answer !== undefined ? { finalAnswer: answer } : {}), endedByAgent: true, params: {} });
    let calc = 0;
    for (const task of tasks) {
      const r = calculator({ ...base, task });
      if (judge(task, r.answer === undefined ? undefined : String(r.answer))) calc++;
      // cost: one unit per line of work (the start and each operation)
      expect(r.cost).toBeCloseTo(0.01 * (r.content!.split("\n").length - 1), 10);
    }
    expect(calc).toBe(tasks.length);
    expect(judge({ id: "x", prompt: "", answer: "1234.5" }, "$1,234.50")).toBe(true);
    expect(judge({ id: "x", prompt: "", answer: "12.5" }, "12.49")).toBe(false);
    expect(judge({ id: "x", prompt: "", answer: "12.5" }, undefined)).toBe(false);
    expect(calculator({ ...base, task: { id: "x", prompt: "Write a haiku." } })).toEqual({
      content: "calculator: no problem I can read",
      cost: 0.01,
    });
  });

  it("guesser is async and mostly wrong", async () => {
    const tasks = generateArithmeticTasks({ seed: 3, count: 60, types: ["addsub", "muldiv", "percent"], minSteps: 2, maxSteps: 4 });
    const p = guesser({
      task: tasks[0]!,
      history: [],
      step: 0,
      maxSteps: 4,
      costSpent: 0,
      agent: "guesser",
      params: {},
      rng: new Rng(0),
      episode: 0,
    });
    expect(p).toBeInstanceOf(Promise);
    let right = 0;
    for (const task of tasks) {
      const r = await guesser({
        task,
        history: [],
        step: 0,
        maxSteps: 4,
        costSpent: 0,
        agent: "guesser",
        params: {},
        rng: new Rng(0),
        episode: 0,
      });
      if (sameAmount({ task, history: [], finalAnswer: String(r.answer), endedByAgent: true, params: {} })) right++;
    }
    expect(right).toBeLessThan(tasks.length / 4);
  });

  it("configs/calculator-arithmetic.yaml trains: the policy learns calculator → terminator; eval and orchestrate use the trained run", async () => {
    const config = loadConfig(exampleConfig, { sets: [...quiet, "train.updates=30"] });
    // the module paths are stored absolute, so the run folder's config.yaml finds the same files
    const calcDef = config.agents[0]!;
    expect(calcDef.kind).toBe("module");
    if (calcDef.kind === "module") expect(calcDef.module).toBe(path.join(repoRoot, "agents", "examples", "calculator.ts"));
    const runDir = path.join(tmpDir("calc"), "run");
    const s = await train({ config, runDir });
    expect(s.status).toBe("completed");
    const lines = fs.readFileSync(path.join(runDir, "metrics.csv"), "utf8").trim().split("\n");
    const cols = lines[0]!.split(",");
    const success = lines.slice(1).map((l) => Number(l.split(",")[cols.indexOf("success_rate")]));
    // row 1 is the untrained policy (random over calculator, guesser, terminator)
    expect(success[0]!).toBeLessThan(0.6);
    expect(s.finalWindow!.success_rate!).toBeGreaterThanOrEqual(0.9);
    expect(s.finalWindow!.return_mean!).toBeGreaterThan(0.85);

    const saved = YAML.parse(fs.readFileSync(path.join(runDir, "config.yaml"), "utf8")) as {
      agents: Array<{ module?: string }>;
      tasks: { evaluator: { module: string } };
    };
    expect(path.isAbsolute(saved.agents[0]!.module!)).toBe(true);
    expect(saved.tasks.evaluator.module).toBe(path.join(repoRoot, "agents", "examples", "money.ts"));

    const ev = await evaluateRun(runDir, { episodes: 50, greedy: true });
    expect(ev.success_rate).toBeGreaterThanOrEqual(0.9);

    const orch = await loadOrchestrator(runDir);
    try {
      const trace = await orch.solve({
        id: "t",
        prompt: "Mila has 20 stickers. Then Mila buys 5 more. Then Mila loses 3 of them. How many stickers does Mila have now?",
        answer: "22",
      });
      expect(trace.steps.map((x) => x.agent)).toEqual(["calculator", "terminator"]);
      expect(trace.finalAnswer).toBe("22");
      expect(trace.success).toBe(true);
      expect(trace.cost).toBeCloseTo(0.03, 10);
    } finally {
      orch.dispose();
    }
  }, 120_000);
});

describe("kind: module agents", () => {
  it("an inline .mjs agent (sync, async, an object with act) trains and sees the task, history, params and the episode's rng", async () => {
    const file = project(
      {
        "lib/agents.mjs": `
export const seen = [];
export function sync(input) {
  seen.push({ agent: input.agent, prompt: input.task.prompt, turns: input.history.length, params: input.params, r: input.rng.next() });
  return { answer: 5, cost: 0.5, tokens: { input: 10, output: 2 }, meta: { tool: "sync" } };
}
export async function later(input) {
  await new Promise((r) => setTimeout(r, 1));
  return { content: "thinking about " + input.task.id };
}
export const service = { calls: 0, act(input) { this.calls++; return { answer: "ok", cost: 0.25 }; } };
`,
      },
      doaConfig([
        { name: "tool", kind: "module", module: "lib/agents.mjs", export: "sync", params: { depth: 2 } },
        { name: "slow", kind: "module", module: "./lib/agents.mjs", export: "later", cost: 0.1 },
        { name: "svc", kind: "module", module: "lib/agents.mjs", export: "service" },
        "terminator",
      ]),
    );
    const config = loadConfig(file);
    const runDir = path.join(path.dirname(file), "run");
    const s = await train({ config, runDir });
    expect(s.status).toBe("completed");
    const mod = (await import(path.join(path.dirname(file), "lib", "agents.mjs"))) as {
      seen: Array<Record<string, unknown>>;
      service: { calls: number };
    };
    expect(mod.seen.length).toBeGreaterThan(0);
    expect(mod.seen[0]).toMatchObject({ agent: "tool", params: { depth: 2 } });
    expect(["What is 2 + 3?", "What is 7 - 4?"]).toContain(mod.seen[0]!.prompt);
    expect(typeof mod.seen[0]!.r).toBe("number");
    expect(mod.service.calls).toBeGreaterThan(0);
    // the per-turn record: the answer as text, the cost, the tokens
    const eps = fs
      .readFileSync(path.join(runDir, "episodes.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { agents: string[] });
    expect(eps.flatMap((e) => e.agents)).toEqual(expect.arrayContaining(["tool", "slow", "svc"]));

    // the same run again gives the same metrics (the module's rng draws come from the episode's stream)
    const again = path.join(path.dirname(file), "run2");
    await train({ config: loadConfig(file), runDir: again });
    const strip = (f: string) =>
      fs
        .readFileSync(f, "utf8")
        .split("\n")
        .map((l) => l.split(",").slice(0, -1).join(","));
    expect(strip(path.join(again, "metrics.csv"))).toEqual(strip(path.join(runDir, "metrics.csv")));

    // orchestrate a new task with the trained run: the module agents' outputs appear in the trace
    const orch = await loadOrchestrator(runDir);
    try {
      const t = await orch.solve({ id: "n", prompt: "What is 1 + 1?" }, { greedy: false, seed: 1 });
      expect(t.steps.length).toBeGreaterThan(0);
    } finally {
      orch.dispose();
    }
  }, 60_000);

  it("an agent file's module path is read from the agent file's folder", () => {
    const file = project(
      {
        "my-agents/tool.yaml": "name: tool\nkind: module\nmodule: impl/tool.mjs\nexport: run\n",
        "my-agents/impl/tool.mjs": "export const run = () => ({ answer: 'x', cost: 1 });\n",
      },
      doaConfig(["my-agents/tool.yaml", "terminator"]),
    );
    const c = loadConfig(file);
    const def = c.agents[0]!;
    expect(def.kind === "module" && def.module).toBe(path.join(path.dirname(file), "my-agents", "impl", "tool.mjs"));
    expect(def.kind === "module" && def.export).toBe("run");
  });

  it("export defaults to the module's default export", async () => {
    const file = project(
      { "a.mjs": "export default (input) => ({ answer: input.task.id, cost: 0 });\n" },
      doaConfig([{ name: "d", kind: "module", module: "a.mjs" }, "terminator"]),
    );
    const c = loadConfig(file);
    await loadUserModules(c);
    const s = await train({ config: c, runDir: path.join(path.dirname(file), "run") });
    expect(s.status).toBe("completed");
  });
});

describe("kind: module — bad input names the file and the field, and writes nothing", () => {
  const agentsFile = `
export const notAFunction = 42;
export class Tool { act() { return { cost: 1 }; } }
export const noAct = { run() {}, name: "x" };
export const badCost = () => ({ answer: "1", cost: "cheap" });
export const typo = () => ({ answer: "1", costs: 1 });
export const noCost = () => ({ answer: "1" });
export const notObject = () => "42";
export const throws = () => { throw new Error("service down"); };
export const rejects = async () => { throw new Error("timeout after 5 s"); };
export const fine = () => ({ answer: "1", cost: 1 });
`;

  it("a missing module file: the config file, the agent's field and the resolved path", async () => {
    const file = project({}, doaConfig([{ name: "t", kind: "module", module: "nowhere/tool.ts", export: "x" }, "terminator"]));
    const e = await inputError(() => loadConfig(file));
    expect(e.message).toContain(`${file}: agents[0].module: module file not found: ${path.join(path.dirname(file), "nowhere", "tool.ts")}`);
    const inAgentFile = project({ "ag/t.yaml": "name: t\nkind: module\nmodule: gone.mjs\n" }, doaConfig(["ag/t.yaml", "terminator"]));
    const e2 = await inputError(() => loadConfig(inAgentFile));
    expect(e2.message).toContain(`${path.join(path.dirname(inAgentFile), "ag", "t.yaml")}: module: module file not found`);
  });

  it("a definition missing `module`, or with an unknown field, is a schema error naming the field", async () => {
    const file = project({}, doaConfig([{ name: "t", kind: "module", export: "x" }, "terminator"]));
    expect((await inputError(() => loadConfig(file))).message).toMatch(/agents\[0\]\.module|agents\.0\.module/);
    const file2 = project({ "a.mjs": "" }, doaConfig([{ name: "t", kind: "module", module: "a.mjs", exports: "x" }, "terminator"]));
    expect((await inputError(() => loadConfig(file2))).message).toContain(`did you mean "agents.0.export"`);
  });

  it("no such export: lists the exports and suggests the nearest; no run folder is created", async () => {
    const file = project(
      { "a.mjs": agentsFile },
      doaConfig([{ name: "t", kind: "module", module: "a.mjs", export: "fien" }, "terminator"]),
    );
    const runDir = path.join(path.dirname(file), "run");
    const e = await inputError(train({ config: loadConfig(file), runDir }));
    expect(e.message).toContain(
      `${file}: agents[0].export: ${path.join(path.dirname(file), "a.mjs")} has no export "fien" (did you mean "fine"?)`,
    );
    expect(e.message).toContain("it exports: ");
    expect(e.message).toContain("notAFunction");
    expect(fs.existsSync(runDir)).toBe(false);
  });

  it.each([
    ["notAFunction", "the export is a number (42); expected a function (input) => {answer, cost, tokens?}"],
    ["Tool", "the export is a class (Tool); expected a function"],
    ["noAct", "the export is an object with run, name without a act() method"],
  ])("export %s has the wrong shape: says what it is and what is expected", async (name, expected) => {
    const file = project({ "a.mjs": agentsFile }, doaConfig([{ name: "t", kind: "module", module: "a.mjs", export: name }, "terminator"]));
    const e = await inputError(loadUserModules(loadConfig(file)));
    expect(e.message).toContain(`${file}: agents[0].export`);
    expect(e.message).toContain(expected);
    if (name === "Tool") expect(e.message).toContain("export an instance, e.g. `export const x = new Tool()`");
  });

  it("a module that fails to load (syntax error, TypeScript too): 'cannot load module' with the reason", async () => {
    const file = project(
      { "bad.mjs": "export const x = ;\n", "bad.ts": "export const y: number = (;\n" },
      doaConfig([{ name: "t", kind: "module", module: "bad.mjs", export: "x" }, "terminator"]),
    );
    const e = await inputError(loadUserModules(loadConfig(file)));
    expect(e.message).toContain(`${file}: agents[0].export: cannot load module ${path.join(path.dirname(file), "bad.mjs")}:`);
    const file2 = project(
      { "bad.ts": "export const y: number = (;\n" },
      doaConfig([{ name: "t", kind: "module", module: "bad.ts", export: "y" }, "terminator"]),
    );
    expect((await inputError(loadUserModules(loadConfig(file2)))).message).toContain("cannot load module");
  });

  it.each([
    ["badCost", "returned a bad result: cost: "],
    ["typo", "unknown field costs (expected answer, content, cost, tokens, meta)"],
    ["noCost", "returned no cost (return a cost, or set `cost` in the agent definition)"],
    ["notObject", 'returned a string ("42"); expected an object'],
    ["throws", "threw: service down"],
    ["rejects", "rejected: timeout after 5 s"],
  ])("a bad result (%s) stops the run, naming the agent and module; the run says failed and keeps its state", async (name, expected) => {
    // 32 random episodes of the first update: the agent is picked in one of them (else p = 2^-32)
    const file = project(
      { "a.mjs": agentsFile },
      doaConfig([{ name: "tool", kind: "module", module: "a.mjs", export: name }, "terminator"], {
        train: { updates: 3, episodesPerUpdate: 32 },
      }),
    );
    const runDir = path.join(path.dirname(file), "run");
    const e = await inputError(train({ config: loadConfig(file), runDir }));
    expect(e.message).toContain(`agent "tool" (${path.join(path.dirname(file), "a.mjs")}, export "${name}") `);
    expect(e.message).toContain(expected);
    expect(e.message).toContain(`${runDir} keeps the state after update 0`);
    const summary = JSON.parse(fs.readFileSync(path.join(runDir, "summary.json"), "utf8")) as { status: string; error: string };
    expect(summary.status).toBe("failed");
    expect(summary.error).toContain(expected);
  });

  it("a run stopped by a failing module continues with --resume once the module works, exactly as if it had not stopped", async () => {
    const dir = tmpDir("module-resume");
    const marker = path.join(dir, "broken");
    fs.writeFileSync(
      path.join(dir, "flaky.mjs"),
      `import fs from "node:fs";\nexport function flaky(input) {\n  if (fs.existsSync(${JSON.stringify(marker)})) throw new Error("service down");\n  return { answer: String(input.rng.int(10)), cost: 0.2 };\n}\n`,
    );
    const raw = doaConfig([{ name: "flaky", kind: "module", module: "flaky.mjs", export: "flaky" }, "terminator"], {
      train: { updates: 3, episodesPerUpdate: 16, checkpointEvery: 10 },
    });
    const cfg = () => loadConfig(raw, { dir });
    const runDir = path.join(dir, "run");
    const e = await inputError(train({ config: cfg(), runDir, onUpdate: (row) => row.update === 1 && fs.writeFileSync(marker, "") }));
    expect(e.message).toContain("threw: service down");
    expect(e.message).toContain(
      `${runDir} keeps the state after update 1; after fixing it, continue with: maestro train --resume ${runDir}`,
    );
    fs.rmSync(marker);
    const s = await train({ resumeDir: runDir });
    expect(s.status).toBe("completed");
    const straight = path.join(dir, "straight");
    await train({ config: cfg(), runDir: straight });
    const strip = (f: string) =>
      fs
        .readFileSync(f, "utf8")
        .trim()
        .split("\n")
        .map((l) => l.split(",").slice(0, -1).join(","));
    expect(strip(path.join(runDir, "metrics.csv"))).toEqual(strip(path.join(straight, "metrics.csv")));
    expect(strip(path.join(runDir, "metrics.csv"))).toHaveLength(4);
  }, 60_000);

  it("the CLI prints the error without a stack and exits non-zero", () => {
    const file = project(
      { "a.mjs": agentsFile },
      doaConfig([{ name: "t", kind: "module", module: "a.mjs", export: "nope" }, "terminator"]),
    );
    const r = runCli(["train", file, "--run-dir", path.join(path.dirname(file), "run")]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`agents[0].export: ${path.join(path.dirname(file), "a.mjs")} has no export "nope"`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(path.join(path.dirname(file), "run"))).toBe(false);
  });
});

describe("module task evaluators", () => {
  const evals = `
export const calls = [];
export function exactFive(input) { calls.push(input); return input.finalAnswer === "5"; }
export async function remote(input) { await new Promise((r) => setTimeout(r, 1)); return input.finalAnswer === "5"; }
export const grader = { evaluate: (input) => input.params.accept.includes(input.finalAnswer) };
export const notBool = () => 1;
`;
  const pool = [
    { name: "five", kind: "module", module: "agents.mjs", export: "five" },
    { name: "six", kind: "module", module: "agents.mjs", export: "six" },
    "terminator",
  ];
  const agentsMjs = `export const five = () => ({ answer: "5", cost: 0.1 });\nexport const six = () => ({ answer: "6", cost: 0.1 });\n`;

  it.each(["exactFive", "remote", "grader"])(
    "%s (sync, async, an object with evaluate) judges episodes; the same metrics each way",
    async (name) => {
      const evaluator = { kind: "module", module: "evals.mjs", export: name, ...(name === "grader" ? { params: { accept: ["5"] } } : {}) };
      const file = project(
        { "evals.mjs": evals, "agents.mjs": agentsMjs },
        doaConfig(pool, { tasks: { source: "inline", items: ["a", "b"], evaluator } }),
      );
      const runDir = path.join(path.dirname(file), "run");
      const s = await train({ config: loadConfig(file), runDir });
      expect(s.status).toBe("completed");
      const rows = fs
        .readFileSync(path.join(runDir, "metrics.csv"), "utf8")
        .trim()
        .split("\n")
        .slice(1)
        .map((l) => l.split(",").slice(0, -1).join(","));
      // the reference: the same run judged by the sync evaluator
      const ref = project(
        { "evals.mjs": evals, "agents.mjs": agentsMjs },
        doaConfig(pool, {
          tasks: { source: "inline", items: ["a", "b"], evaluator: { kind: "module", module: "evals.mjs", export: "exactFive" } },
        }),
      );
      await train({ config: loadConfig(ref), runDir: path.join(path.dirname(ref), "run") });
      const refRows = fs
        .readFileSync(path.join(path.dirname(ref), "run", "metrics.csv"), "utf8")
        .trim()
        .split("\n")
        .slice(1)
        .map((l) => l.split(",").slice(0, -1).join(","));
      expect(rows).toEqual(refRows);
      const sr = rows.map((r) => Number(r.split(",")[5]));
      expect(sr.some((x) => x > 0) && sr.every((x) => x < 1)).toBe(true);
    },
    60_000,
  );

  it("the evaluator gets the task, the whole history (terminal turn last) and the final answer", async () => {
    const file = project(
      { "evals.mjs": evals, "agents.mjs": agentsMjs },
      doaConfig(pool, {
        tasks: { source: "inline", items: ["a"], evaluator: { kind: "module", module: "evals.mjs", export: "exactFive" } },
      }),
    );
    await train({ config: loadConfig(file), runDir: path.join(path.dirname(file), "run") });
    const mod = (await import(path.join(path.dirname(file), "evals.mjs"))) as {
      calls: Array<{ task: { prompt: string }; history: Array<{ agent: string }>; finalAnswer?: string; endedByAgent: boolean }>;
    };
    expect(mod.calls.length).toBeGreaterThan(0);
    for (const c of mod.calls) {
      expect(c.task.prompt).toBe("a");
      expect(c.history[c.history.length - 1]!.agent).toBe("terminator");
      expect(c.endedByAgent).toBe(true);
      const answers = c.history.filter((t) => t.agent !== "terminator").map((t) => (t.agent === "five" ? "5" : "6"));
      expect(c.finalAnswer).toBe(answers[answers.length - 1]);
    }
  });

  it("a non-boolean verdict stops the run naming the evaluator; a module evaluator needs a terminator; a missing file names tasks.evaluator.module", async () => {
    const file = project(
      { "evals.mjs": evals, "agents.mjs": agentsMjs },
      doaConfig(pool, {
        tasks: { source: "inline", items: ["a"], evaluator: { kind: "module", module: "evals.mjs", export: "notBool" } },
        train: { updates: 2, episodesPerUpdate: 32 },
      }),
    );
    const e = await inputError(train({ config: loadConfig(file), runDir: path.join(path.dirname(file), "run") }));
    expect(e.message).toContain(
      `task evaluator (${path.join(path.dirname(file), "evals.mjs")}, export "notBool") returned a number (1); an evaluator returns true or false`,
    );

    const noTerm = project(
      { "evals.mjs": evals, "agents.mjs": agentsMjs },
      doaConfig(pool.slice(0, 2), {
        tasks: { source: "inline", items: ["a"], evaluator: { kind: "module", module: "evals.mjs", export: "exactFive" } },
      }),
    );
    expect((await inputError(() => loadConfig(noTerm))).message).toContain(`${noTerm}: tasks.evaluator: the module evaluator (`);

    const missing = project(
      { "agents.mjs": agentsMjs },
      doaConfig(pool, {
        tasks: { source: "inline", items: ["a"], evaluator: { kind: "module", module: "evals.mjs", export: "exactFive" } },
      }),
    );
    expect((await inputError(() => loadConfig(missing))).message).toContain(`${missing}: tasks.evaluator.module: module file not found`);

    const noExport = project(
      { "evals.mjs": evals, "agents.mjs": agentsMjs },
      doaConfig(pool, { tasks: { source: "inline", items: ["a"], evaluator: { kind: "module", module: "evals.mjs", export: "exact5" } } }),
    );
    expect((await inputError(loadUserModules(loadConfig(noExport)))).message).toContain(`${noExport}: tasks.evaluator.export: `);
  });

  it("Episode.apply of a terminal output under an async evaluator needs the awaited verdict of Episode.judge", async () => {
    const spec = {
      maxSteps: 3,
      terminatorEndsEpisode: true,
      successBonus: 1,
      failurePenalty: 0,
      costPenalty: 0,
      evaluator: async () => true,
    };
    const term = new TerminatorAgent();
    const out = term.act();
    const ep = new Episode(spec, { id: "a", prompt: "a" }, 0);
    expect(() => ep.apply(term, 0, out)).toThrow(/answered with a promise/);
    const ep2 = new Episode(spec, { id: "a", prompt: "a" }, 0);
    const v = await ep2.judge(term, 0, out);
    expect(ep2.apply(term, 0, out, v)).toMatchObject({ done: true, success: true, taskReward: 1 });
  });
});

describe("agent files of the example validate on their own", () => {
  it("calculator.yaml and guesser.yaml", () => {
    expect(loadAgentFile(path.join(repoRoot, "agents/examples/calculator.yaml"))).toMatchObject({
      kind: "module",
      export: "calculator",
      params: { costPerOperation: 0.01 },
    });
    expect(loadAgentFile(path.join(repoRoot, "agents/examples/guesser.yaml"))).toMatchObject({ kind: "module", export: "guesser" });
    // validateConfig with a config object (the library's way) resolves inline module paths from configDir
    const c = validateConfig(
      { ...doaConfig([{ name: "calc", kind: "module", module: "agents/examples/calculator.ts", export: "calculator" }, "terminator"]) },
      "inline config",
      repoRoot,
    );
    expect(c.agents[0]!.kind === "module" && c.agents[0]!.module).toBe(path.join(repoRoot, "agents/examples/calculator.ts"));
  });
});
