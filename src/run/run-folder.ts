/**
 * A training run's folder: its files, creating it for a new run, and reopening it to continue from its
 * last checkpoint (the files after that checkpoint are cut back so that the resumed run appends exactly
 * what an uninterrupted one would have written).
 */
import fs from "node:fs";
import path from "node:path";
import type { Trainer } from "../algos/trainer.js";
import { configToYaml } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { InputError, withOsContext } from "../core/errors.js";
import type { CostKnob } from "../algos/knob.js";
import { writeFileAtomic } from "../policy/io.js";
import type { RunRngs } from "./build.js";
import { latestCheckpoint, loadCheckpoint, type CheckpointMeta } from "./checkpoint.js";
import { lockEntries, lockFolder, type FolderLock } from "./lock.js";
import { makeManifest, type GitState, type Manifest } from "./manifest.js";
import { truncateJsonl, truncateMetrics } from "./metrics.js";
import type { ResumePlan } from "./resume.js";

/** The files of a run folder that the training loop writes. */
export interface RunFiles {
  dir: string;
  metrics: string;
  episodes: string;
  manifest: string;
  structure: string;
  /** Recorded pools: the distinct calls training made (src/run/spend.ts). */
  calls: string;
}

export function runFiles(dir: string): RunFiles {
  return {
    dir,
    metrics: path.join(dir, "metrics.csv"),
    episodes: path.join(dir, "episodes.jsonl"),
    manifest: path.join(dir, "manifest.json"),
    structure: path.join(dir, "structure.jsonl"),
    calls: path.join(dir, "training-calls.jsonl"),
  };
}

/** Where a run stands when this process starts training it (all zero for a new run). */
export interface StartPoint {
  update: number;
  episodes: number;
  envSteps: number;
  /** Wall seconds of the earlier sessions of the run. */
  wallSeconds: number;
  best: CheckpointMeta["best"];
}

const freshStart: StartPoint = { update: 0, episodes: 0, envSteps: 0, wallSeconds: 0, best: null };

/**
 * Files run creation writes before `manifest.json`, the mark of a started run: a folder holding only
 * these was left by a process killed while creating it, and is started afresh rather than refused.
 */
const creationEntries = ["config.yaml", "checkpoints", "episodes.jsonl", "structure.jsonl", "metrics.csv"];

/**
 * A folder that holds nothing but what an interrupted run creation leaves (a kill after config.yaml,
 * before manifest.json): no manifest, no checkpoint, no metrics rows. Such a run is started afresh.
 */
export function isUnstartedRunFolder(dir: string): boolean {
  if (!fs.existsSync(dir) || fs.existsSync(path.join(dir, "manifest.json"))) return false;
  for (const e of fs.readdirSync(dir)) {
    if (lockEntries.includes(e) || e.includes(".tmp-")) continue;
    if (!creationEntries.includes(e)) return false;
    if (e === "checkpoints" && fs.readdirSync(path.join(dir, e)).some((d) => !d.startsWith("."))) return false;
  }
  return true;
}

/** Makes the run folder if needed and locks it for this process; `source` names the option that named it. */
export async function lockRunFolder(runDir: string, source: string, resuming: boolean): Promise<FolderLock> {
  const isFile = fs.existsSync(runDir) && !fs.statSync(runDir).isDirectory();
  if (isFile) throw new InputError(`${runDir} (${source}): is a file, not a run folder`, runDir);
  withOsContext("create the run folder", runDir, source, () => fs.mkdirSync(runDir, { recursive: true }));
  return lockFolder(runDir, resuming ? "resume" : "train into");
}

/** Writes a new run's files into its (empty or unstarted) folder; `manifest.json` last, as it marks a started run. */
export function createRunFolder(files: RunFiles, config: Config, backend: string, beforeManifest?: () => void, git?: GitState): StartPoint {
  const { dir } = files;
  const unstarted = isUnstartedRunFolder(dir);
  const others = fs.readdirSync(dir).filter((e) => !lockEntries.includes(e));
  if (others.length > 0 && !unstarted) {
    throw new InputError(`${dir}: run folder already exists and is not empty (use --resume to continue it)`, dir);
  }
  for (const e of others) fs.rmSync(path.join(dir, e), { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, "checkpoints"), { recursive: true });
  writeFileAtomic(path.join(dir, "config.yaml"), configToYaml(config));
  fs.writeFileSync(files.episodes, "");
  fs.writeFileSync(files.structure, "");
  if (config.tasks.source === "recorded") fs.writeFileSync(files.calls, "");
  beforeManifest?.();
  writeFileAtomic(files.manifest, JSON.stringify(makeManifest(config.name, config.seed, backend, git), null, 2) + "\n");
  return { ...freshStart };
}

/**
 * Reopens a started run: restores the trainer, RNG streams and cost knob from the last checkpoint, cuts
 * metrics.csv and the JSONL files back to it, and records the resume (and any `--set` changes) in the
 * manifest.
 */
export async function reopenRunFolder(
  files: RunFiles,
  plan: ResumePlan,
  backend: string,
  state: { trainer: Trainer; rngs: RunRngs; knob: CostKnob | undefined },
): Promise<StartPoint> {
  const start = { ...freshStart };
  const ck = latestCheckpoint(files.dir);
  if (ck) {
    const meta = await loadCheckpoint(ck.dir, state.trainer);
    state.rngs.restore(meta.rng);
    state.knob?.restore(meta.knob);
    Object.assign(start, {
      update: meta.update,
      episodes: meta.episodes,
      envSteps: meta.envSteps,
      wallSeconds: meta.wallSeconds,
      best: meta.best,
    });
  }
  truncateMetrics(files.metrics, start.update);
  truncateJsonl(files.episodes, start.update);
  truncateJsonl(files.structure, start.update);
  truncateJsonl(files.calls, start.update);
  const manifest = JSON.parse(fs.readFileSync(files.manifest, "utf8")) as Manifest;
  const changed = plan.changes.map((c) => `${c.key} ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`);
  manifest.resumes.push(
    `${new Date().toISOString()} from update ${start.update} on ${backend}${changed.length ? `; --set ${changed.join(", ")}` : ""}`,
  );
  if (changed.length) writeFileAtomic(path.join(files.dir, "config.yaml"), configToYaml(plan.config));
  writeFileAtomic(files.manifest, JSON.stringify(manifest, null, 2) + "\n");
  return start;
}
