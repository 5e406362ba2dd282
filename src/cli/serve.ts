/** `maestro serve <runDir>`: a trained orchestrator as an OpenAI-compatible endpoint, with API keys and limits. */
import type { Argv } from "yargs";
import { InputError } from "../core/errors.js";
import { exitWithLauncher } from "../run/launcher.js";
import { helpOf, liveArg, liveOptions, parseSeed, seconds, type ArgsOf } from "./args.js";

export function builder(y: Argv) {
  return helpOf(
    y
      .positional("runDir", { type: "string", demandOption: true, describe: "Run folder of a trained orchestrator." })
      .option("port", { type: "number", default: 8000, describe: "Port (0 = any free port)." })
      .option("host", {
        type: "string",
        default: "127.0.0.1",
        describe: "Interface to listen on; off loopback only with API keys (--keys / --api-key-env) or --insecure-no-auth.",
      })
      .option("keys", {
        type: "string",
        describe:
          "API keys file (npx maestro keys create --file FILE): requests need `Authorization: Bearer <key>`; per-key budgets and limits.",
      })
      .option("api-key-env", {
        type: "string",
        describe: "Name of an environment variable holding one API key (no limits); never put a key on the command line.",
      })
      .option("redis", {
        type: "string",
        describe:
          "Keep the keys' spend, rate windows and concurrency in this Redis (redis://host:port), shared by every replica; default: this process, spend in <keys>.usage.json.",
      })
      .option("insecure-no-auth", {
        type: "boolean",
        default: false,
        describe: "DANGEROUS: serve off loopback without API keys; anyone who reaches the port spends this run's LLM budget.",
      })
      .option("allowed-host", {
        type: "string",
        array: true,
        default: [],
        describe:
          "A Host-header name clients use (a DNS name of this server or its proxy), besides loopback names (repeatable; '*' turns the check off).",
      })
      .option("cors-origin", {
        type: "string",
        array: true,
        default: [],
        describe: "A browser origin allowed to call the endpoint (CORS; repeatable). Default: none.",
      })
      .option("metrics-public", {
        type: "boolean",
        default: false,
        describe: "With keys: serve /metrics without a key (it shows key ids and spend, never keys).",
      })
      .option("body-timeout", {
        type: "number",
        default: 30,
        coerce: seconds("body-timeout"),
        describe: "Seconds a client has to send a whole request (headers and body); else 408.",
      })
      .option("grace", {
        type: "number",
        default: 30,
        coerce: seconds("grace"),
        describe: "On SIGTERM/SIGINT: seconds requests in flight may take before they are cancelled and connections closed.",
      })
      .option("seed", {
        type: "string",
        coerce: parseSeed,
        describe: "Seed of greedy requests without a seed (default: the run's seed); sampled requests without one use seed + k.",
      })
      .option("concurrency", {
        type: "number",
        describe: "Episodes run at once, more wait in line (default: the run's llm.maxConcurrency).",
      })
      .option("body-limit", { type: "number", default: 1048576, describe: "Largest request body in bytes." })
      .option("log-level", {
        type: "string",
        default: "info",
        choices: ["fatal", "error", "warn", "info", "debug", "silent"],
        describe: "Request log (JSON lines on stderr).",
      })
      .option("set", {
        type: "string",
        array: true,
        default: [],
        describe: "Override a field of the run's config, e.g. --set llm.baseURL=...",
      })
      .options(liveOptions),
    "serve",
    [["serve runs/llm-arithmetic/<run> --port 8000", "OpenAI-compatible endpoint on 127.0.0.1:8000"]],
  );
}

export type Args = ArgsOf<typeof builder>;

export async function handler(a: Args): Promise<void> {
  // from the start: a launcher killed while the run loads must stop this process too
  exitWithLauncher("maestro serve");
  const live = liveArg(a);
  if (a.concurrency !== undefined && (!Number.isInteger(a.concurrency) || a.concurrency < 1))
    throw new InputError(`--concurrency ${a.concurrency}: expected a positive integer`);
  if (!Number.isInteger(a.bodyLimit) || a.bodyLimit < 1)
    throw new InputError(`--body-limit ${a.bodyLimit}: expected a positive integer (bytes)`);
  if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535)
    throw new InputError(`--port ${a.port}: expected an integer from 0 to 65535`);
  const { keys, envKey, limits, usageFile } = await keysAndLimits(a);
  let s: Awaited<ReturnType<typeof import("../serve/server.js").serveRun>>;
  try {
    s = await (
      await import("../serve/server.js")
    ).serveRun(a.runDir, {
      host: a.host,
      port: a.port,
      bodyLimit: a.bodyLimit,
      bodyTimeoutMs: a.bodyTimeout * 1000,
      graceMs: a.grace * 1000,
      insecureNoAuth: a.insecureNoAuth,
      allowedHosts: a.allowedHost as string[],
      corsOrigins: a.corsOrigin as string[],
      metricsPublic: a.metricsPublic,
      ...(keys ? { keys } : {}),
      ...(limits ? { limits } : {}),
      logLevel: a.logLevel as "info",
      sets: a.set as string[],
      ...(a.seed !== undefined ? { seed: a.seed } : {}),
      ...(a.concurrency !== undefined ? { concurrency: a.concurrency } : {}),
      ...(live ? { live } : {}),
    });
  } catch (e) {
    await limits?.close();
    throw e;
  }
  const o = s.orchestrator;
  console.log(`backend: ${o.backend}`);
  console.log(`maestro serve: listening on ${s.url} (OpenAI base URL ${s.url}/v1, model "maestro")`);
  console.log(
    `run: ${a.runDir} (checkpoint after update ${o.checkpointUpdate}), agents ${o.agentNames.join(", ")}, ${s.concurrency} episodes at once`,
  );
  if (live) console.log(`live: the recorded models are asked at ${live.baseURL}`);
  if (keys) {
    const n = keys.records.filter((k) => !k.revoked).length + (envKey ? 1 : 0);
    console.log(
      `keys: ${n} valid key(s)${a.keys ? ` from ${a.keys}` : ""}${envKey ? ` (and $${envKey.name})` : ""}; spend and limits ${a.redis ? "in Redis" : a.keys ? `in ${usageFile}` : "in memory"}`,
    );
  } else if (a.insecureNoAuth) {
    console.error(
      `maestro serve: WARNING: --insecure-no-auth: ${a.host} is served without API keys; anyone who can reach port ${new URL(s.url).port} spends this run's LLM budget`,
    );
  }
  await untilSignal(s, a.grace);
  console.log("maestro serve: stopped");
}

/** The API keys (--keys file, --api-key-env) and the store of their spend and limits (this process, the usage file or Redis). */
async function keysAndLimits(a: Args) {
  const { KeyRing, readKeysFile } = await import("../serve/keys.js");
  const { LocalLimitStore, RedisLimitStore, usageFileOf } = await import("../serve/limits.js");
  let envKey: { name: string; value: string } | undefined;
  if (a.apiKeyEnv !== undefined) {
    const value = process.env[a.apiKeyEnv];
    if (!value || value.length < 16)
      throw new InputError(
        `--api-key-env ${a.apiKeyEnv}: the environment variable is ${value ? "shorter than 16 characters (too easy to guess)" : "not set"}`,
      );
    envKey = { name: a.apiKeyEnv, value };
  }
  if (a.keys) readKeysFile(a.keys); // a bad keys file fails here, naming the file and the field
  if (a.redis && !a.keys && !envKey) throw new InputError("--redis keeps the spend and limits of API keys: give --keys FILE too");
  const keys = a.keys || envKey ? new KeyRing(a.keys, envKey) : undefined;
  if (keys) keys.onReloadError = (m) => console.error(`maestro serve: ${m}; keeping the keys read before`);
  if (a.insecureNoAuth && keys) throw new InputError("--insecure-no-auth cannot be combined with --keys or --api-key-env");
  const limits = a.redis ? await RedisLimitStore.open(a.redis) : a.keys ? await LocalLimitStore.open(usageFileOf(a.keys)) : undefined;
  return { keys, envKey, limits, usageFile: a.keys ? usageFileOf(a.keys) : undefined };
}

/** Waits for SIGINT/SIGTERM, then lets requests in flight finish for up to `grace` s (a second signal exits at once). */
function untilSignal(s: { inFlight: number; close(): Promise<unknown> }, grace: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      console.log(`maestro serve: ${signal}, finishing ${s.inFlight} request(s) in flight (up to ${grace} s; again to stop now)`);
      process.once(signal, () => process.exit(1));
      void s.close().then(() => resolve());
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
}
