/** src/sweep: many runs — sweep files, the process pool, multi-seed training, local and queued (BullMQ) execution, summaries. */
export { loadSweep, trialId, type Sweep, type Trial } from "./spec.js";
export { runSweepLocal, type SweepRunOptions, type SweepRunResult } from "./local.js";
export { runSweepQueue, startWorker } from "./queue.js";
export { trainSeeds, type SeedsOptions, type SeedsResult } from "./multiSeed.js";
export { runPool, type PoolJob, type PoolResult } from "./pool.js";
export { collectSweep, type TrialOutcome } from "./summary.js";
export { sweepCommand, reportSweep } from "./command.js";
