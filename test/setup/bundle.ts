/**
 * vitest globalSetup: many tests drive the `maestro` command as users run it (dist/bin/maestro.js, the
 * bundle of dist/cli.js) or import dist/. They need a build of the current sources, so this builds
 * (`npm run build`) once before the tests, and only when the build is missing or older than what it
 * is built from; a fresh dist/ is used as it is.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** What the build writes that tests use; the oldest of them is the build's age. */
export const buildOutputs = ["dist/index.js", "dist/cli.js", "dist/bin/maestro.js"];
/** What the build is made from: a folder counts with every file in it. */
export const buildInputs = ["src", "scripts/bundle-cli.mjs", "package.json", "tsconfig.json", "tsconfig.build.json"];

function newestFile(p: string): { file: string; mtimeMs: number } | undefined {
  if (!fs.existsSync(p)) return undefined;
  const st = fs.statSync(p);
  if (!st.isDirectory()) return { file: p, mtimeMs: st.mtimeMs };
  let newest: { file: string; mtimeMs: number } | undefined;
  for (const e of fs.readdirSync(p)) {
    const n = newestFile(path.join(p, e));
    if (n && (!newest || n.mtimeMs > newest.mtimeMs)) newest = n;
  }
  return newest;
}

/** Why `root`'s build must be redone (a missing output, or an input newer than the oldest output), or undefined when it is fresh. */
export function staleBuildReason(root: string): string | undefined {
  let oldest = Infinity;
  for (const o of buildOutputs) {
    const f = path.join(root, o);
    if (!fs.existsSync(f)) return `${o} is missing`;
    oldest = Math.min(oldest, fs.statSync(f).mtimeMs);
  }
  for (const i of buildInputs) {
    const n = newestFile(path.join(root, i));
    if (n && n.mtimeMs > oldest) return `${path.relative(root, n.file)} is newer than the build`;
  }
  return undefined;
}

export default function setup(): void {
  const why = staleBuildReason(repoRoot);
  if (!why) return;
  process.stderr.write(`test setup: building dist/ (${why}): npm run build\n`);
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  execFileSync(npm, ["run", "--silent", "build"], { cwd: repoRoot, stdio: ["ignore", "inherit", "inherit"] });
}
