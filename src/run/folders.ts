import fs from "node:fs";
import path from "node:path";
import { InputError } from "../core/errors.js";
import { commandName } from "../core/invocation.js";
import { didYouMean } from "../core/suggest.js";

/** A run folder: what `maestro train` writes (config.yaml and manifest.json at least). */
export function isRunDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, "config.yaml")) && fs.existsSync(path.join(dir, "manifest.json"));
}

/**
 * The run folders inside `dir` (a seed group of `train --seeds`, a sweep folder with its
 * <trial>/seed<k>/ runs, or any folder of runs), sorted by path; the search does not descend into run
 * folders, nor into checkpoints/ or plots/, nor deeper than `depth` levels.
 */
export function findRunDirs(dir: string, depth = 3): string[] {
  const out: string[] = [];
  const walk = (d: string, left: number) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }))) {
      if (!e.isDirectory() || e.name === "checkpoints" || e.name === "plots" || e.name.startsWith(".")) continue;
      const sub = path.join(d, e.name);
      if (isRunDir(sub)) out.push(sub);
      else if (left > 1) walk(sub, left - 1);
    }
  };
  walk(dir, depth);
  return out;
}

/**
 * Why `dir` is not a run folder, as an error that says what it is instead: missing (with the nearest
 * folder of that name), a config file (train it first), another file, a folder of runs (name one), or a
 * folder without config.yaml.
 */
export function notRunDirError(dir: string): InputError {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dir);
  } catch {
    // does not exist
  }
  if (!st) {
    const parent = path.dirname(path.resolve(dir));
    let near = "";
    try {
      const names = fs
        .readdirSync(parent, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
      near = didYouMean(path.basename(dir), names);
    } catch {
      // no parent folder either
    }
    return new InputError(`${dir}: no such folder${near}; give the run folder \`train\` printed (run: …)`, dir);
  }
  if (!st.isDirectory()) {
    if (/\.ya?ml$/i.test(dir)) {
      return new InputError(
        `${dir}: is a config file, not a run folder; train it first (${commandName()} train ${dir}), then give the run folder it prints (run: …)`,
        dir,
      );
    }
    return new InputError(`${dir}: is a file, not a run folder (a run folder holds config.yaml, manifest.json and checkpoints/)`, dir);
  }
  let inside: string[] = [];
  try {
    inside = findRunDirs(dir);
  } catch {
    // unreadable: said below
  }
  if (inside.length > 0) {
    return new InputError(
      `${dir}: a folder of ${inside.length} run${inside.length > 1 ? "s" : ""}, not one run folder; give one of them (e.g. ${inside[0]})`,
      dir,
    );
  }
  return new InputError(`${dir}: not a run folder (no config.yaml) and no run folders inside it`, dir);
}
