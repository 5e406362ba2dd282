/**
 * Whether a run finished training: commands that read a run's policy (`curve`) must not present a
 * killed, interrupted or still-training run as a finished one.
 */
import fs from "node:fs";
import path from "node:path";
import { InputError } from "../core/errors.js";
import { latestCheckpoint } from "./checkpoint.js";
import { folderHolder } from "./lock.js";
import { loadRunConfig } from "./train.js";

export interface RunCompletion {
  /** completed; training (a live process holds the folder); interrupted / failed (summary.json says so); stopped (killed or crashed: no summary). */
  state: "completed" | "training" | "interrupted" | "failed" | "stopped";
  /** The update of the last checkpoint (what a command evaluates). */
  checkpointUpdate: number;
  /** train.updates of the run's config. */
  totalUpdates: number;
  /** One line for an unfinished run, undefined for a completed one. */
  warning?: string;
}

/**
 * The completion state of `runDir`. Refuses (InputError) a run with no finished update: it has no
 * checkpoint, so there is no trained policy to read.
 */
export function runCompletion(runDir: string): RunCompletion {
  const config = loadRunConfig(runDir);
  const total = config.train.updates;
  const ck = latestCheckpoint(runDir);
  const holder = folderHolder(runDir);
  if (!ck) {
    throw new InputError(
      `${runDir}: the run has no finished update (no checkpoint)${holder ? `; it is still training (pid ${holder.pid ?? "unknown"})` : ""}: nothing to evaluate yet`,
      runDir,
    );
  }
  let status: string | undefined;
  try {
    status = (JSON.parse(fs.readFileSync(path.join(runDir, "summary.json"), "utf8")) as { status?: string }).status;
  } catch {
    status = undefined;
  }
  const state: RunCompletion["state"] = holder
    ? "training"
    : status === "completed" || status === "interrupted" || status === "failed"
      ? status
      : "stopped";
  const at = `its last checkpoint is after update ${ck.update} of ${total}`;
  const how = {
    completed: "",
    training: `is still training (pid ${holder?.pid ?? "unknown"})`,
    interrupted: "was interrupted (summary.json status interrupted)",
    failed: "failed (summary.json status failed)",
    stopped: "stopped without finishing (no summary.json: killed or crashed)",
  }[state];
  return {
    state,
    checkpointUpdate: ck.update,
    totalUpdates: total,
    ...(state !== "completed"
      ? { warning: `${runDir}: UNFINISHED RUN: it ${how}; ${at}, so these figures describe a partly trained policy` }
      : {}),
  };
}
