/** `maestro sim-server`: the simulated OpenAI-compatible LLM server, or with --replay the server of recorded answers. */
import type { Argv } from "yargs";
import { InputError, zodToInputError } from "../core/errors.js";
import { exitWithLauncher } from "../run/launcher.js";
import { helpOf, type ArgsOf } from "./args.js";

export function builder(y: Argv) {
  return helpOf(
    y
      .option("port", { type: "number", default: 8787, describe: "Port (0 = any free port)." })
      .option("config", { type: "string", describe: "YAML/JSON file: seed, skill table, per-model skill, latency and faults." })
      .option("replay", {
        type: "string",
        array: true,
        describe:
          "Recorded-output files or globs (CSV or JSONL, as tasks.file): answer each model's recorded reply to the prompt asked (docs/replay.md).",
      })
      .option("tokenizer", {
        type: "string",
        choices: ["cl100k_base", "o200k_base"],
        default: "cl100k_base",
        describe: "--replay: tokenizer counting the tokens a record does not state (as tasks.tokenizer).",
      })
      .option("prompt-overhead-tokens", {
        type: "number",
        default: 0,
        describe: "--replay: added to counted prompt tokens (as tasks.promptOverheadTokens).",
      })
      .example(
        "$0 sim-server --replay data/routellm/gsm8k/gsm8k_responses.csv --port 8788",
        "Serve RouteLLM's recorded GSM8K answers as models mistralai/Mixtral-8x7B-Instruct-v0.1 and gpt-4-1106-preview",
      ),
    "sim-server",
    [["sim-server --port 8787", "then point llm.baseURL at http://127.0.0.1:8787/v1"]],
  );
}

export type Args = ArgsOf<typeof builder>;

export async function handler(a: Args): Promise<void> {
  exitWithLauncher("maestro sim-server");
  const replay = a.replay as string[] | undefined;
  if (replay !== undefined) return await replayServer(a, replay);
  let config = {};
  if (a.config) {
    const { readYamlFile } = await import("../agents/loader.js");
    const parsed = (await import("../llm/sim-server.js")).simServerConfigSchema.safeParse(readYamlFile(a.config));
    if (!parsed.success) throw zodToInputError(a.config, parsed.error);
    config = parsed.data;
  }
  const server = await (await import("../llm/sim-server.js")).startSimServer({ port: a.port, config });
  console.log(`sim-server: listening on ${server.url} (OpenAI-compatible: ${server.url}/v1, Anthropic: ${server.url})`);
  console.log(`models: ${Object.keys(server.config.models).join(", ")}; roles: ${Object.keys(server.config.roles).join(", ")}`);
  await serveUntilSignal(server);
}

/** `--replay FILES`: answers each model's recorded reply to the prompt asked. */
async function replayServer(a: Args, replay: string[]): Promise<never> {
  if (a.config)
    throw new InputError("sim-server: --config configures the simulated models; --replay serves recorded answers: give one of them");
  const { resolveRecordedFiles } = await import("../config/recorded.js");
  const files = resolveRecordedFiles(replay, process.cwd(), "sim-server", "--replay");
  const server = await (
    await import("../llm/replay-server.js")
  ).startReplayServer({
    files,
    port: a.port,
    tokenizer: a.tokenizer as "cl100k_base",
    promptOverheadTokens: a.promptOverheadTokens,
  });
  for (const w of server.warnings) console.log(`warning: ${w}`);
  console.log(
    `sim-server: replaying ${server.table.items.length} recorded items of ${files.length} file(s) on ${server.url} (OpenAI-compatible: ${server.url}/v1)`,
  );
  console.log(`models: ${server.table.models.join(", ")}`);
  return await serveUntilSignal(server);
}

/** Keeps a started sim-server (simulated or replaying) up until SIGINT/SIGTERM, then closes it and exits 0. */
function serveUntilSignal(server: { close(): Promise<unknown>; stats: { requests: number } }): Promise<never> {
  const stop = () => {
    void server.close().then(() => {
      console.log(`sim-server: stopped after ${server.stats.requests} requests`);
      process.exit(0);
    });
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return new Promise<never>(() => undefined);
}
