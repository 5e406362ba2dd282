#!/usr/bin/env node
import v8 from "node:v8";
import yargs, { type Argv } from "yargs";
import { hideBin } from "yargs/helpers";
import { InputError } from "./core/errors.js";
import { commandName } from "./core/invocation.js";
import { skipUnusedTfjsPackages } from "./policy/tfjs-trim.js";
import { maestroVersion } from "./run/manifest.js";

/** A command's module in src/cli/: its options (`builder`) and what it does (`handler`). */
interface CommandModule {
  /** Declares the command's options and help on `y` (yargs' builder). */
  builder(y: Argv): unknown;
  /** Runs the command with the parsed arguments its builder declared. */
  handler(a: never): Promise<void>;
}

/**
 * Every command, in the order `--help` lists them. A command's module (its options, its handler, the
 * tables it prints, and through its imports the libraries it uses) is imported only when that command
 * is parsed: start-up and `--help` do not pay for the LLM SDKs, the LP solver, BullMQ, fastify or
 * chart.js unless the command uses them.
 */
const commands: Array<[command: string, describe: string, load: () => Promise<CommandModule>]> = [
  ["train [config]", "Train an orchestrator from a YAML config (or continue a run with --resume).", () => import("./cli/train.js")],
  [
    "eval <runDir>",
    "Evaluate the last checkpoint of a run, or of every run in a seed-group or sweep folder (one table).",
    () => import("./cli/eval.js"),
  ],
  [
    "sweep <file>",
    "Run a hyperparameter sweep (grid or random search × seeds) locally in parallel child processes, or on a Redis/BullMQ queue.",
    () => import("./cli/sweep.js"),
  ],
  [
    "worker",
    "Run sweep trials from a Redis/BullMQ queue (filled by `maestro sweep <file> --queue ...`) until stopped with Ctrl-C.",
    () => import("./cli/worker.js"),
  ],
  [
    "plot <dirs..>",
    "Plot run folders, folders of seeds (mean and 95% band) or a sweep folder (curves and Pareto front) as PNG.",
    () => import("./cli/plot.js"),
  ],
  [
    "orchestrate",
    "Run a trained orchestrator on new tasks and print the trace (agent per step, output excerpt, tokens, cost, final answer).",
    () => import("./cli/orchestrate.js"),
  ],
  [
    "serve <runDir>",
    "Serve a trained orchestrator as an OpenAI-compatible endpoint (POST /v1/chat/completions, GET /v1/models, /health, /metrics).",
    () => import("./cli/serve.js"),
  ],
  [
    "keys <action>",
    "Manage the API keys of `maestro serve --keys FILE`: create (prints the key once), list, revoke.",
    () => import("./cli/keys.js"),
  ],
  [
    "curve <runDirs..>",
    "Runs on recorded outputs: the cost–quality curve on the test split (a budget-conditioned policy sweeps its knob; several plain runs are joined into one curve) on both cost axes (RouteLLM's APGR and CPT on strong calls, APGR$ on $), the baselines, and flags where it falls below one on the axis it was trained for; writes curve.csv, curve.json and curve.png.",
    () => import("./cli/curve.js"),
  ],
  [
    "sim-server",
    "Start the simulated OpenAI-compatible (and Anthropic Messages) LLM server on 127.0.0.1, or with --replay serve recorded answers (docs/replay.md).",
    () => import("./cli/sim-server.js"),
  ],
  [
    "oracle <config>",
    "Simulated configs: the exact optimum (occupancy-measure LP solved with HiGHS) — J_R*, J_C*, λ* and the optimal policy.",
    () => import("./cli/oracle.js"),
  ],
  [
    "import <source> <paths..>",
    "Import recorded model outputs into maestro's recorded-output JSONL (source: zeroeval, ZeroEval result files graded with ZeroEval's rule).",
    () => import("./cli/import.js"),
  ],
  ["config", "Print the config reference (every field, its type, default and meaning) as Markdown.", () => import("./cli/config.js")],
];

/**
 * V8 grows the young generation from 1 to 16 MiB per semi-space as soon as allocation picks up, which a run's
 * start-up (tfjs, the first updates, the plots) does: ~25 MiB of peak memory that a short run never uses.
 * The young generation keeps its starting size for the first 1.5 s, then may grow as usual (a longer run's
 * scavenges stay as cheap as before). Measured on configs/doa-mvp.yaml with plots: peak RSS 151–158 → 124–131
 * MiB, CPU time unchanged (scripts/bench-startup-vs-doa.mjs --baseline).
 */
function smallYoungGenerationAtStart(): void {
  v8.setFlagsFromString("--semi-space-growth-factor=1");
  setTimeout(() => v8.setFlagsFromString("--semi-space-growth-factor=2"), 1500).unref();
}

/**
 * yargs renders the running command's whole help text right after starting its handler (yargs'
 * command.js, `cacheHelpMessage`), to show it should the handler fail later. maestro never shows help
 * for a failing handler (it prints the error: see the catch below), and laying out the train command's
 * options and examples with cliui took 65–220 ms of a run's start-up (CPU profile of `maestro train
 * configs/doa-mvp.yaml`). `--help` and usage errors render the help text as before.
 */
function skipCachedHelp(y: Argv): void {
  const internal = y as unknown as { getInternalMethods?(): { getUsageInstance?(): { cacheHelpMessage?(): void } } };
  const usage = internal.getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === "function") usage.cacheHelpMessage = () => undefined;
}

async function main(): Promise<void> {
  smallYoungGenerationAtStart();
  skipUnusedTfjsPackages();
  // seed and sweep runs in child processes print resume hints in the form the user typed
  process.env.MAESTRO_COMMAND = commandName();
  const y = yargs(hideBin(process.argv))
    .scriptName("maestro")
    // the package's own version (yargs alone would look for a package.json from the working directory)
    .version(maestroVersion())
    .usage("$0 <command> [options]");
  skipCachedHelp(y);
  // The module of the command named on the command line is loaded before parsing, so that its options are
  // declared synchronously, as yargs' shell completion (`--get-yargs-completions train --`) needs.
  const args = hideBin(process.argv);
  const word = args.find((w) => commands.some(([command]) => command.split(" ")[0] === w));
  const named = commands.find(([command]) => command.split(" ")[0] === word);
  const preloaded = named ? { name: named[0], module: await named[2]() } : undefined;
  for (const [command, describe, load] of commands) {
    const get = async () => (preloaded?.name === command ? preloaded.module : await load());
    y.command(
      command,
      describe,
      (b) => (preloaded?.name === command ? void preloaded.module.builder(b) : load().then((m) => void m.builder(b))),
      async (a) => (await get()).handler(a as never),
    );
  }
  await y
    .completion("completion", "Print a shell completion script (bash/zsh): npx maestro completion >> ~/.bashrc")
    .example(`${commandName()} train configs/doa-mvp.yaml`, "train the DOA MVP")
    .example(`${commandName()} <command> --help`, "a command's options, examples and docs page")
    .epilogue("Docs: docs/cli.md in the maestro repository (a section per command).")
    .demandCommand(
      1,
      "Give a command: train, eval, curve, oracle, orchestrate, serve, keys, sweep, worker, plot, sim-server, import, config or completion (see --help).",
    )
    .recommendCommands()
    .strict()
    .fail((msg, err, usage) => {
      // a coerce check (--seed, --grace, ...) reaches here wrapped in yargs' YError: a bad option, exit 2
      if (err) throw err.name === "YError" ? new InputError(err.message) : err;
      // recommendCommands() says only "Did you mean train?": name what was typed
      const typed = hideBin(process.argv)[0];
      console.error(`${msg?.startsWith("Did you mean") ? `Unknown command "${typed}". ${msg}` : msg}\n`);
      usage.showHelp();
      throw new UsageFailure(msg ?? "usage");
    })
    .help()
    .parseAsync();
}

/** Thrown by the yargs failure handler once it has printed its message: exit code 2, nothing more to say. */
class UsageFailure extends Error {}

/**
 * Exits once stdout and stderr have handed everything written to them to the OS. A pipe takes 64 KiB at a
 * time and Node writes the rest asynchronously, so a bare process.exit() cut `--json | python -m json.tool`
 * short; a write callback runs only after the writes queued before it.
 */
function exitWhenFlushed(code: number): void {
  process.exitCode = code;
  let left = 2;
  const done = () => {
    if (--left === 0) process.exit(code);
  };
  for (const s of [process.stdout, process.stderr]) {
    if (s.destroyed || !s.writable) done();
    else s.write("", () => done());
  }
}

// a reader that stops early (`| head`) closes the pipe: stop quietly instead of an EPIPE stack trace
for (const s of [process.stdout, process.stderr]) {
  s.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
}

main()
  // exit once the command is done: idle keep-alive sockets of the LLM SDKs must not hold the process
  .then(() => exitWhenFlushed(typeof process.exitCode === "number" ? process.exitCode : 0))
  .catch((e: unknown) => {
    if (e instanceof UsageFailure) return exitWhenFlushed(2);
    // a coerce check (--seed, --grace, ...) of a command whose options load with its module reaches here as
    // yargs' YError, not through .fail(): a bad option all the same
    if (e instanceof InputError || (e instanceof Error && e.name === "YError")) {
      console.error(`error: ${e.message}`);
      return exitWhenFlushed(2);
    }
    // an OS error nobody wrapped: still say which operation on which path
    const os = e as NodeJS.ErrnoException;
    if (e instanceof Error && typeof os.code === "string" && os.syscall && !e.message.startsWith("cannot ")) {
      console.error(`error: ${os.syscall}${os.path ? ` ${os.path}` : ""} failed: ${e.message} (set MAESTRO_DEBUG=1 for the stack)`);
    } else console.error(e instanceof Error ? `error: ${e.message}` : e);
    if (process.env.MAESTRO_DEBUG && e instanceof Error) console.error(e.stack);
    return exitWhenFlushed(1);
  });
