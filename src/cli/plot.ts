/** `maestro plot <dirs..>`: PNGs of runs, seed groups and sweeps (src/plots/command.ts draws them). */
import type { Argv } from "yargs";
import { plotCommand } from "../plots/command.js";
import { helpOf, type ArgsOf } from "./args.js";

export function builder(y: Argv) {
  return helpOf(
    y
      .positional("dirs", { type: "string", array: true, demandOption: true, describe: "Run, seed-group or sweep folders." })
      .option("metric", { type: "string", describe: "metrics.csv column to plot (default: return, success, cost)." })
      .option("out", { type: "string", describe: "Output PNG (default: in the first folder's plots/)." }),
    "plot",
    [
      ["plot runs/doa-mvp/<run>", "learning curve and structure of one run"],
      ["plot runs/doa-3seeds --metric success_rate", "a seed group: mean and 95% band"],
    ],
  );
}

export type Args = ArgsOf<typeof builder>;

export async function handler(a: Args): Promise<void> {
  await plotCommand(a.dirs as string[], { ...(a.metric ? { metric: a.metric } : {}), ...(a.out ? { out: a.out } : {}) });
}
