import fs from "node:fs";
import path from "node:path";

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
