import fs from "node:fs";
import path from "node:path";
import type { Trainer } from "../algos/trainer.js";
import type { RngState } from "../core/rng.js";
import { tf } from "../policy/backend.js";
import { loadTensors, saveTensors } from "../policy/io.js";

/** Everything besides tensors that a run needs to continue exactly. */
export interface CheckpointMeta {
  /** Updates completed. */
  update: number;
  episodes: number;
  envSteps: number;
  /** Wall seconds spent up to this checkpoint (across resumed sessions). */
  wallSeconds: number;
  rng: Record<string, RngState>;
  trainer: Record<string, unknown>;
  best: { update: number; return_mean: number } | null;
  /** Budget-conditioned runs: the cost knob's state (the budget multipliers). */
  knob?: Record<string, unknown>;
}

const PREFIX = "update-";

export function checkpointDir(runDir: string, update: number): string {
  return path.join(runDir, "checkpoints", `${PREFIX}${String(update).padStart(6, "0")}`);
}

/** Complete checkpoints of a run, oldest first (a folder without both files is ignored). */
export function listCheckpoints(runDir: string): Array<{ update: number; dir: string }> {
  const root = path.join(runDir, "checkpoints");
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .filter((d) => d.startsWith(PREFIX))
    .map((d) => ({ update: Number(d.slice(PREFIX.length)), dir: path.join(root, d) }))
    .filter(
      (c) => Number.isInteger(c.update) && fs.existsSync(path.join(c.dir, "model.json")) && fs.existsSync(path.join(c.dir, "weights.bin")),
    )
    .sort((a, b) => a.update - b.update);
}

export function latestCheckpoint(runDir: string): { update: number; dir: string } | undefined {
  const all = listCheckpoints(runDir);
  return all[all.length - 1];
}

/** Saves trainer tensors + meta atomically, then prunes to the `keep` most recent. */
export async function saveCheckpoint(
  runDir: string,
  trainer: Trainer,
  meta: Omit<CheckpointMeta, "trainer">,
  keep: number,
): Promise<string> {
  const st = trainer.state();
  const dir = checkpointDir(runDir, meta.update);
  await saveTensors(dir, st.tensors, { ...meta, trainer: st.json } as unknown as Record<string, unknown>);
  const all = listCheckpoints(runDir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) fs.rmSync(old.dir, { recursive: true, force: true });
  // temp folders of a save interrupted by a kill
  const root = path.join(runDir, "checkpoints");
  for (const d of fs.readdirSync(root)) if (d.startsWith(".")) fs.rmSync(path.join(root, d), { recursive: true, force: true });
  return dir;
}

/** Loads a checkpoint into the trainer and returns its meta. */
export async function loadCheckpoint(dir: string, trainer: Trainer): Promise<CheckpointMeta> {
  const { tensors, metadata } = await loadTensors(dir);
  try {
    const meta = metadata as unknown as CheckpointMeta;
    trainer.restore(tensors, meta.trainer);
    return meta;
  } finally {
    tf.dispose(Object.values(tensors));
  }
}
