/** `maestro orchestrate --run DIR --task ...`: a trained orchestrator on new tasks, and the trace it prints per task. */
import type { Argv } from "yargs";
import { InputError } from "../core/errors.js";
import { costUnitOf, type CostUnit } from "../run/progress.js";
import { episodeRejection, loadOrchestrator, type OrchestrationTrace } from "../serve/orchestrate.js";
import { costText, helpOf, knobArg, liveArg, liveOptions, parseSeed, plural, type ArgsOf } from "./args.js";

export function builder(y: Argv) {
  return helpOf(
    y
      .option("run", { type: "string", demandOption: true, describe: "Run folder of a trained orchestrator." })
      .option("task", { type: "string", array: true, describe: "A task text (repeatable)." })
      .option("tasks", { type: "string", describe: "A JSONL file of tasks ({id, prompt, answer?, type?} per line)." })
      .option("task-type", {
        type: "string",
        array: true,
        describe: "Simulated runs (tasks.source: sim): a simulated task of this type (repeatable).",
      })
      .option("greedy", { type: "boolean", default: true, describe: "Take the most probable agent (--no-greedy samples)." })
      .option("seed", { type: "string", coerce: parseSeed, describe: "Seed of the sampling streams (default: the run's seed)." })
      .option("set", {
        type: "string",
        array: true,
        default: [],
        describe: "Override a field of the run's config, e.g. --set llm.baseURL=...",
      })
      .option("json", { type: "boolean", default: false, describe: "Print the traces as JSON." })
      .option("lambda", {
        type: "number",
        describe: "Budget-conditioned policies: the operating point as a cost penalty λ (in the run's cost units).",
      })
      .option("budget", {
        type: "number",
        describe: "Budget-conditioned policies: the operating point as a budget (mean cost per task, in the run's cost units).",
      })
      .options(liveOptions),
    "orchestrate",
    [
      ['orchestrate --run runs/llm-arithmetic/<run> --task "What is 17 * 23?"', "trace of one task"],
      ["orchestrate --run runs/sim-budget/<run> --task-type easy --json", "simulated runs: a task of a type"],
    ],
  );
}

export type Args = ArgsOf<typeof builder>;

export async function handler(a: Args): Promise<void> {
  const knob = knobArg(a);
  const live = liveArg(a);
  const tasks = [...((a.task as string[] | undefined) ?? []), ...(a.tasks ? await loadTaskFile(a.tasks) : [])];
  const types = (a.taskType as string[] | undefined) ?? [];
  if (tasks.length === 0 && types.length === 0)
    throw new InputError('maestro orchestrate: give --task "...", --tasks file.jsonl or, for a simulated run, --task-type <type>');
  const orch = await loadOrchestrator(a.run, {
    ...(a.seed !== undefined ? { seed: a.seed } : {}),
    sets: a.set as string[],
    ...(live ? { live } : {}),
  });
  try {
    if (types.length > 0) tasks.push(...orch.simTasks(types));
    checkKnobName(knob, orch.knob, a.run);
    const traces = await orch.solveMany(tasks, { greedy: a.greedy, ...(knob ? { knob: knob.value } : {}) });
    if (a.json) {
      console.log(JSON.stringify(traces, null, 2));
      return;
    }
    console.log(`backend: ${orch.backend}`);
    console.log(
      `run: ${a.run} (checkpoint after update ${orch.checkpointUpdate}), ${a.greedy ? "greedy" : "sampled"}` +
        (knob ? `, ${knob.name} ${knob.value} (cost unit ${orch.costUnit.toPrecision(4)})` : ""),
    );
    const unit = costUnitOf(orch.config);
    for (const t of traces) printTrace(t, unit);
    // every call of a task rejected upstream (e.g. a prompt the replay server lacks): say so, fail
    const rejected = traces.map((t) => episodeRejection(t)).filter((m): m is string => m !== undefined);
    for (const m of rejected) console.error(`error: ${m}`);
    if (rejected.length > 0) process.exitCode = 1;
    const judged = traces.filter((t) => t.success !== undefined);
    if (traces.length > 1) {
      const cost = traces.reduce((s, t) => s + t.cost, 0) / traces.length;
      const acc =
        judged.length > 0 ? `accuracy ${(judged.filter((t) => t.success).length / judged.length).toFixed(3)} over ${judged.length}, ` : "";
      console.log(`${traces.length} tasks: ${acc}mean cost ${costText(cost, unit, " per task")}`);
    }
  } finally {
    orch.dispose();
  }
}

async function loadTaskFile(file: string) {
  const { defaultFieldMap, loadJsonlTasks } = await import("../tasks/jsonl.js");
  return loadJsonlTasks(file, defaultFieldMap, { requireAnswer: false });
}

function checkKnobName(want: { name: string } | undefined, has: { name: string } | undefined, runDir: string): void {
  if (want && has && want.name !== has.name) {
    throw new InputError(`${runDir}: the policy is conditioned on its ${has.name}, not a ${want.name}: use --${has.name}`);
  }
}

/** One task's trace: the agent of each step with its output excerpt, tokens and cost, then the answer and how the episode ended. */
function printTrace(t: OrchestrationTrace, unit: CostUnit): void {
  console.log(`task ${t.task.id}: ${t.task.prompt.replace(/\s+/g, " ").slice(0, 160)}`);
  for (const s of t.steps) {
    const tok = s.tokensIn + s.tokensOut > 0 ? `  tokens ${s.tokensIn}+${s.tokensOut}` : "";
    const flags = `${s.cached ? "  [cached]" : ""}${s.error ? "  [error]" : ""}`;
    const ans = s.answer !== undefined ? `  answer ${s.answer}` : "";
    const opts = s.options
      ? ` [${Object.entries(s.options)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}]`
      : "";
    console.log(
      `  ${String(s.step).padStart(2)}. ${s.agent}${s.model ? ` (${s.model})` : ""}${opts}${tok}  cost ${s.cost.toPrecision(3)}${ans}${flags}`,
    );
    if (s.excerpt && s.excerpt !== "TERMINATE") console.log(`      ${s.excerpt}`);
  }
  const verdict =
    t.success === undefined
      ? ""
      : t.task.answer === undefined
        ? t.success
          ? "  (solved)"
          : "  (not solved)"
        : t.success
          ? "  (correct)"
          : `  (wrong; expected ${t.task.answer})`;
  // simulated tasks have no answers, only an outcome
  console.log(
    t.finalAnswer === undefined && t.task.answer === undefined && t.success !== undefined
      ? `  outcome:${verdict}`
      : `  final answer: ${t.finalAnswer ?? "(none)"}${verdict}`,
  );
  const ended =
    t.endedBy === "maxSteps"
      ? "reached env.maxSteps"
      : t.endedBy === "terminator"
        ? `ended by the terminator (${t.endedByAgent})`
        : `solved by ${t.endedByAgent}`;
  console.log(`  ${ended}, ${plural(t.steps.length, "step")}, ${plural(t.tokens, "token")}, cost ${costText(t.cost, unit)}`);
}
