/**
 * A long-lived pool child (forked by pool.ts): runs one training job after another, in-process,
 * reporting progress to the parent over IPC. Reusing the process saves Node/tfjs start-up for every
 * run after the first (most of the cost of a short trial). Each job writes its own log file.
 * Test-only fault injection: MAESTRO_INJECT_FAILURE=<substring,...> fails, after its first update,
 * every run whose folder path contains one of the substrings; `crash:<substring>` makes the whole
 * process exit instead (a crash).
 */
import fs from "node:fs";
import path from "node:path";
import { loadConfig } from "../config/load.js";
import type { ChildMessage, PoolJob } from "./pool.js";
import { skipUnusedTfjsPackages } from "../policy/tfjs-trim.js";

// before tfjs loads: the training modules are imported on the first job (policy/tfjs-trim.ts)
skipUnusedTfjsPackages();

// Once the parent is gone a send fails with EPIPE; passing a callback keeps that error off the process
// (an uncaught EPIPE would kill the child without releasing its run-folder lock). The child exits on
// 'disconnect' below.
const send = (m: ChildMessage) => {
  if (process.connected) process.send?.(m, undefined, undefined, () => undefined);
};
const inject = (process.env.MAESTRO_INJECT_FAILURE ?? "").split(",").filter((s) => s.length > 0);

async function runJob(job: PoolJob, logFile: string): Promise<void> {
  const log = (line: string) => fs.appendFileSync(logFile, line + "\n");
  try {
    const config = job.resume ? undefined : loadConfig(job.config, { sets: job.sets ?? [], seed: job.seed });
    const { trainWithPlots } = await import("../plots/with-plots.js");
    const summary = await trainWithPlots({
      ...(config ? { config, runDir: job.runDir } : { resumeDir: job.runDir }),
      ...(job.runDirSource ? { runDirSource: job.runDirSource } : {}),
      onStart: (info) => {
        log(`backend: ${info.backend}`);
        log(`run: ${info.runDir}` + (info.resumedFrom !== undefined ? ` (resumed after update ${info.resumedFrom})` : ""));
        for (const w of info.warnings) log(`warning: ${w}`);
        send({
          type: "start",
          runDir: info.runDir,
          totalUpdates: info.totalUpdates,
          ...(info.resumedFrom !== undefined ? { resumedFrom: info.resumedFrom } : {}),
        });
      },
      onUpdate: (row, total) => {
        const hit = inject.find((s) => path.resolve(job.runDir).includes(s.replace(/^crash:/, "")));
        if (hit?.startsWith("crash:")) process.exit(3);
        if (hit) throw new Error(`injected failure (MAESTRO_INJECT_FAILURE) in ${job.runDir}`);
        send({ type: "update", row, totalUpdates: total });
      },
    });
    log(`done: ${summary.updates} updates, ${summary.episodes} episodes in ${summary.wall_s.toFixed(2)} s`);
    send({ type: "done", ok: true });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    log(`error: ${msg}`);
    if (process.env.MAESTRO_DEBUG && e instanceof Error && e.stack) log(e.stack);
    send({ type: "done", ok: false, error: msg });
  }
}

process.on("message", (m: { type: "run"; job: PoolJob; logFile: string }) => {
  if (m.type === "run") void runJob(m.job, m.logFile);
});
process.on("disconnect", () => process.exit(0));
