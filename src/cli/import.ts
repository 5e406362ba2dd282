/** `maestro import zeroeval <paths..> --out FILE`: recorded model outputs into maestro's recorded-output JSONL. */
import type { Argv } from "yargs";
import { importZeroEval, writeRecordedJsonl, zeroEvalFiles, zeroEvalSummaryTable } from "../tasks/zeroeval.js";
import type { ArgsOf } from "./args.js";

export function builder(y: Argv) {
  return y
    .positional("source", { type: "string", choices: ["zeroeval"] as const, demandOption: true, describe: "The format of the files." })
    .positional("paths", { type: "string", array: true, demandOption: true, describe: "Result files (<model>.json) or folders of them." })
    .option("out", { type: "string", demandOption: true, describe: "Output file (.jsonl, or .jsonl.gz for gzip); written atomically." })
    .option("models", {
      type: "string",
      describe: "Comma-separated models (file names without .json) to import, in this order (default: all).",
    })
    .option("tokenizer", {
      type: "string",
      choices: ["cl100k_base", "o200k_base"] as const,
      default: "cl100k_base" as const,
      describe: "Tokenizer counting the tokens in and out of each call.",
    })
    .option("type", { type: "string", describe: "Task type of the items (default: the files' dataset field, else the folder name)." });
}

export type Args = ArgsOf<typeof builder>;

export async function handler(a: Args): Promise<void> {
  const models = a.models
    ?.split(",")
    .map((m) => m.trim())
    .filter((m) => m !== "");
  const r = importZeroEval({
    files: zeroEvalFiles(a.paths as string[]),
    tokenizer: a.tokenizer,
    ...(models ? { models } : {}),
    ...(a.type ? { type: a.type } : {}),
  });
  const bytes = writeRecordedJsonl(a.out, r.items);
  console.log(zeroEvalSummaryTable(r.models));
  console.log(`wrote ${r.items.length} items × ${r.models.length} models to ${a.out} (${(bytes / 1e6).toFixed(1)} MB)`);
}
