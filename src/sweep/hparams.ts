/**
 * A sweep in TensorBoard's HParams view: each trial is one session, written to `<sweep>/<trial>/tb/`,
 * with the trial's swept parameters as hyperparameters (grouped by trial id) and, once the sweep has
 * finished it, the trial's final figures as metrics: `final/<objective.metric>` (what ranks the trials
 * in sweep.md) and `final/return_mean`, `final/success_rate`, `final/cost_mean` — each the mean across
 * seeds of the runs' final-window means. The seed runs' own curves are in `<trial>/seed<k>/tb/`.
 *
 * No experiment summary is written: TensorBoard takes the first experiment summary it finds as the one
 * definition for the whole log folder, so with `--logdir runs` holding several sweeps one sweep's would
 * hide the others' parameters; without one it builds the table from every session it finds
 * (tensorboard/plugins/hparams/backend_context.py).
 */
import fs from "node:fs";
import path from "node:path";
import { eventFiles, HPARAMS_STATUS, hparamsSessionEvents, writeEventFileAtomic } from "../run/tensorboard.js";
import type { Sweep } from "./spec.js";
import { seedDir, trialDir, type TrialOutcome } from "./summary.js";

/** The metric tags a trial session carries (the objective first, without repeats). */
export function sessionMetricTags(objective: string): string[] {
  return [...new Set([objective, "return_mean", "success_rate", "cost_mean"])].map((m) => `final/${m}`);
}

const statusOf: Record<TrialOutcome["status"], (typeof HPARAMS_STATUS)[keyof typeof HPARAMS_STATUS] | undefined> = {
  completed: HPARAMS_STATUS.success,
  failed: HPARAMS_STATUS.failure,
  // stopped early by the median rule: neither a success nor a failure of the trial itself
  stopped: HPARAMS_STATUS.unknown,
  // not ended: no end record, TensorBoard shows the session as running
  pending: undefined,
  unfinished: undefined,
};

/** Trials whose config writes TensorBoard files (log.tensorboard, which a sweep may fix or vary). */
function tensorboardTrials(sweep: Sweep) {
  return sweep.trials.filter((t) => t.config.log.tensorboard);
}

/**
 * Writes the session start of every trial that has no session yet (a sweep being prepared), so the
 * HParams view lists the trials while they run.
 */
export function writeTrialSessionStarts(sweep: Sweep, sweepDir: string): void {
  const now = Date.now() / 1000;
  for (const t of tensorboardTrials(sweep)) {
    const dir = path.join(trialDir(sweepDir, t.id), "tb");
    if (eventFiles(dir).length > 0) continue;
    writeEventFileAtomic(dir, hparamsSessionEvents({ hparams: t.params, group: t.id, startTime: now, metrics: {} }));
  }
}

/** Rewrites every trial's session with its final figures and end status (after the sweep's runs). */
export function writeTrialSessions(sweep: Sweep, sweepDir: string, outcomes: readonly TrialOutcome[]): void {
  const byId = new Map(outcomes.map((o) => [o.id, o]));
  const objective = sweep.spec.objective.metric;
  for (const t of tensorboardTrials(sweep)) {
    const o = byId.get(t.id);
    if (!o) continue;
    const [objTag, ...rest] = sessionMetricTags(objective);
    const metrics: Record<string, number> = { [objTag!]: o.objective.mean };
    const figures: Record<string, number> = { return_mean: o.return.mean, success_rate: o.success.mean, cost_mean: o.cost.mean };
    for (const tag of rest) metrics[tag] = figures[tag.slice("final/".length)]!;
    const dir = path.join(trialDir(sweepDir, t.id), "tb");
    const status = statusOf[o.status];
    writeEventFileAtomic(
      dir,
      hparamsSessionEvents({
        hparams: t.params,
        group: t.id,
        startTime: sessionStart(sweepDir, t.id, sweep.seeds),
        metrics,
        ...(status !== undefined ? { status } : {}),
      }),
    );
  }
}

/** When the trial's first seed run started (its manifest.json), else now. */
function sessionStart(sweepDir: string, id: string, seeds: readonly number[]): number {
  let start = Infinity;
  for (const s of seeds) {
    const file = path.join(seedDir(sweepDir, id, s), "manifest.json");
    if (!fs.existsSync(file)) continue;
    const t = Date.parse((JSON.parse(fs.readFileSync(file, "utf8")) as { startTime?: string }).startTime ?? "");
    if (Number.isFinite(t)) start = Math.min(start, t / 1000);
  }
  return Number.isFinite(start) ? start : Date.now() / 1000;
}
