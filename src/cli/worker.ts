/** `maestro worker --queue URL`: runs sweep trials from a Redis/BullMQ queue until stopped. */
import type { Argv } from "yargs";
import { exitWithLauncher } from "../run/launcher.js";
import { helpOf, type ArgsOf } from "./args.js";

export function builder(y: Argv) {
  return helpOf(
    y
      .option("queue", { type: "string", demandOption: true, describe: "The Redis URL, redis://host:port." })
      .option("runs-dir", {
        type: "string",
        default: "runs",
        describe: "Where this worker writes run folders (<runs-dir>/<sweep>/<trialId>/seed<k>/).",
      })
      .option("workers", { type: "number", describe: "Child processes per trial for its seeds (default: number of cores)." })
      .option("concurrency", { type: "number", default: 1, describe: "Trials this worker runs at the same time." })
      .option("grace", {
        type: "number",
        default: 10,
        describe: "Seconds to wait for the running trial and Redis on SIGINT/SIGTERM before exiting anyway.",
      })
      .option("stall-timeout", {
        type: "number",
        default: 30,
        describe: "Seconds after which a trial whose worker died (no lock renewal) is given to another worker, as a stalled attempt.",
      }),
    "sweep-and-worker",
    [["worker --queue redis://127.0.0.1:6379", "run trials that `sweep --queue` enqueued"]],
  );
}

export type Args = ArgsOf<typeof builder>;

export async function handler(a: Args): Promise<void> {
  exitWithLauncher("maestro worker");
  // after the launcher watch: BullMQ and ioredis take a moment to load
  const { startWorker, stopWorker } = await import("../sweep/queue.js");
  const w = startWorker({
    url: a.queue,
    runsDir: a.runsDir,
    concurrency: a.concurrency,
    stallTimeoutMs: Math.max(1000, a.stallTimeout * 1000),
    ...(a.workers !== undefined ? { workers: a.workers } : {}),
  });
  // signals are handled before Redis answers: a worker waiting for an unreachable Redis still stops
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  void w.waitUntilReady().then(
    () => console.log(`worker: waiting for trials on ${a.queue} (runs go to ${a.runsDir}/)`),
    () => undefined,
  );
  const sig = await stopped;
  console.error(`worker: ${sig}: stopping (waiting up to ${a.grace} s for the running trial and Redis)`);
  if (!(await stopWorker(w, a.grace * 1000))) {
    console.error(
      `worker: not stopped cleanly within ${a.grace} s (Redis unreachable or a trial still running); exiting — an interrupted trial is retried by another worker`,
    );
    process.exitCode = 1;
  }
}
