/** `maestro sweep <file>`: a hyperparameter sweep, run here or enqueued (src/sweep/command.ts does the work). */
import type { Argv } from "yargs";
import { sweepCommand } from "../sweep/command.js";
import { helpOf, type ArgsOf } from "./args.js";

export function builder(y: Argv) {
  return helpOf(
    y
      .positional("file", { type: "string", demandOption: true, describe: "The sweep file (YAML)." })
      .option("workers", { type: "number", describe: "Parallel child processes (default: number of cores)." })
      .option("runs-dir", { type: "string", default: "runs", describe: "Parent folder of the sweep folder runs/<sweep>/." })
      .option("queue", {
        type: "string",
        describe: "Enqueue the trials on this Redis (redis://host:port) for `maestro worker`s instead of running them here.",
      })
      .option("quiet", { type: "boolean", default: false, describe: "No progress output." })
      .option("dry-run", { type: "boolean", default: false, describe: "Validate the sweep and list its trials; run and write nothing." }),
    "sweep-and-worker",
    [
      ["sweep configs/sweeps/doa-random.yaml --dry-run", "validate and list the trials"],
      ["sweep configs/sweeps/doa-random.yaml --workers 2", "run them in 2 child processes"],
    ],
  );
}

export type Args = ArgsOf<typeof builder>;

export async function handler(a: Args): Promise<void> {
  await sweepCommand(a.file, {
    runsDir: a.runsDir,
    quiet: a.quiet,
    dryRun: a.dryRun,
    ...(a.workers !== undefined ? { workers: a.workers } : {}),
    ...(a.queue ? { queue: a.queue } : {}),
  });
}
