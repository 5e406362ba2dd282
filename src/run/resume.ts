/**
 * Continuing a run folder (`maestro train --resume R [--set k=v ...]`): which config it continues
 * with, how far it is, whether it is finished, and which fields a resume may change. A resumed run
 * continues exactly; so only fields that do not change what it computes may be set — the length of the
 * run (extending it), checkpointing, logging and LLM request limits — and extending is refused where
 * a schedule depends on the total number of updates (it would not equal a run trained to the new
 * length from the start).
 */
import fs from "node:fs";
import path from "node:path";
import { readYamlFile } from "../agents/loader.js";
import { validateConfig } from "../config/load.js";
import { renamedTo } from "../config/renamed.js";
import type { Config } from "../config/schema.js";
import { InputError } from "../core/errors.js";
import { latestCheckpoint } from "./checkpoint.js";
import { notRunDirError } from "./folders.js";

/** Loads the resolved config a run folder holds. */
export function loadRunConfig(runDir: string): Config {
  const file = path.join(runDir, "config.yaml");
  if (!fs.existsSync(file)) throw notRunDirError(runDir);
  return validateConfig(readYamlFile(file), file, runDir, { resolved: true });
}

/** Fields `--resume` accepts in `--set` (see {@link resumableField}). */
export const resumableFields = [
  "train.updates",
  "train.checkpointEvery",
  "train.keepCheckpoints",
  "log.*",
  "llm.timeoutMs",
  "llm.maxRetries",
  "llm.maxConcurrency",
  "llm.requestsPerMinute",
  "llm.maxRetryWaitMs",
  "llm.maxErrorRate",
  "llm.errorPatience",
  "llm.models.<ref>.timeoutMs",
  "llm.models.<ref>.maxRetries",
] as const;

/** The fields above as one pattern (`*`: any field of that section, `<ref>`: any model reference). */
const resumablePattern = new RegExp(
  `^(${resumableFields.map((f) => f.replace(/\./g, "\\.").replace("*", "[A-Za-z]+").replace("<ref>", "[^.]+")).join("|")})$`,
);

/** Whether a resumed run may change `key`: the run's results stay those of an uninterrupted run. */
export function resumableField(key: string): boolean {
  return resumablePattern.test(key);
}

/**
 * Config fields whose effect depends on `train.updates` (a schedule over the whole run): with any of
 * them on, a run extended from N to M updates differs from one trained for M updates from the start.
 */
export function scheduleFields(c: Config): string[] {
  const out: string[] = [];
  if (c.algo.name !== "reinforce" && c.algo.annealLr) out.push("algo.annealLr (the learning rates decay to 0 over train.updates)");
  if ((c.algo.name === "cpo" || c.algo.name === "macpo") && c.algo.cpo.targetKlFinal !== null) {
    out.push("algo.cpo.targetKlFinal (the trust region shrinks over train.updates)");
  }
  if (c.algo.entropyCoefFinal !== null && c.algo.entropyCoefFinal !== c.algo.entropyCoef) {
    out.push("algo.entropyCoefFinal (the entropy bonus decays over train.updates; null keeps it constant)");
  }
  if (c.algo.averagePolicy > 0)
    out.push("algo.averagePolicy (the final policy is the average of the last updates of train.updates; 0 keeps the last iterate)");
  return out;
}

export interface ResumePlan {
  runDir: string;
  /** The config the run continues with (its config.yaml with the `--set`s applied). */
  config: Config;
  /** Updates done: those of the last checkpoint. */
  done: number;
  /** Nothing left to train: the last checkpoint is the last update. */
  finished: boolean;
  /** Finished and its summary.json says completed: a resume leaves the folder as it is. */
  completed: boolean;
  /** What the `--set`s change. */
  changes: Array<{ key: string; from: unknown; to: unknown }>;
}

const valueAt = (c: unknown, key: string): unknown =>
  key.split(".").reduce<unknown>((o, k) => (o !== null && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), c);

/** Checks a resume (and its `--set`s) against the run folder; reads only, writes nothing. */
export function planResume(runDir: string, sets: readonly string[] = []): ResumePlan {
  const before = loadRunConfig(runDir);
  for (const s of sets) {
    const key = s.slice(0, Math.max(0, s.indexOf("=")));
    const now = renamedTo(key);
    if (now !== undefined)
      throw new InputError(`--set ${s}: ${key} is now ${now} (docs/config-notes.md)`, path.join(runDir, "config.yaml"), key);
    if (!resumableField(key)) {
      throw new InputError(
        `--set ${s}: ${key || s} cannot be changed when resuming ${runDir}: a resumed run continues exactly what it computed ` +
          `(to change it, start a new run from a config file). A resume may set: ${resumableFields.join(", ")}`,
        path.join(runDir, "config.yaml"),
        key,
      );
    }
  }
  const file = path.join(runDir, "config.yaml");
  const config = sets.length > 0 ? validateConfig(readYamlFile(file), file, runDir, { sets, resolved: true }) : before;
  const done = latestCheckpoint(runDir)?.update ?? 0;
  const updates = config.train.updates;
  if (updates < done) {
    throw new InputError(
      `--set train.updates=${updates}: ${runDir} has already done ${done} updates (a run cannot be shortened)`,
      file,
      "train.updates",
    );
  }
  if (updates !== before.train.updates && done > 0) {
    const schedules = scheduleFields(before);
    if (schedules.length > 0) {
      throw new InputError(
        `--set train.updates=${updates}: ${runDir} cannot be extended exactly: ${schedules.join("; ")}. Its ${done} updates so far ` +
          `followed a schedule ending at update ${before.train.updates}, so the extended run would not equal one trained for ${updates} ` +
          `updates. Start a new run with --set train.updates=${updates} instead.`,
        file,
        "train.updates",
      );
    }
  }
  const changes = [...new Set(sets.map((s) => s.slice(0, s.indexOf("="))))]
    .map((key) => ({ key, from: valueAt(before, key), to: valueAt(config, key) }))
    .filter((c) => JSON.stringify(c.from) !== JSON.stringify(c.to));
  const finished = done > 0 && done >= updates;
  const summaryFile = path.join(runDir, "summary.json");
  const completed =
    finished &&
    fs.existsSync(summaryFile) &&
    (JSON.parse(fs.readFileSync(summaryFile, "utf8")) as { status?: string }).status === "completed";
  return { runDir, config, done, finished, completed, changes };
}
