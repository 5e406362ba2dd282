import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cliPath, removeTmpDirs, repoRoot, tmpDir } from "./helpers.js";

afterAll(removeTmpDirs);

/**
 * Start-up work of `maestro train`, counted rather than timed (tests never assert wall-clock times; the
 * figures come from scripts/bench-startup-vs-doa.mjs): child processes spawned before the first update.
 */
describe("start-up of a train run", () => {
  it("spawns git once, and the manifest still records the commit and whether the tree was dirty", () => {
    const dir = tmpDir("startup");
    const log = path.join(dir, "spawns.txt");
    // counts every child process the run starts, by program
    const preload = path.join(dir, "count-spawns.cjs");
    fs.writeFileSync(
      preload,
      `const cp = require("node:child_process"); const fs = require("node:fs"); const { syncBuiltinESMExports } = require("node:module");
for (const fn of ["spawnSync", "execFileSync", "execSync", "spawn", "execFile", "exec"]) {
  const orig = cp[fn];
  cp[fn] = function (file, ...rest) { fs.appendFileSync(${JSON.stringify(log)}, String(file).split(" ")[0] + "\\n"); return orig.call(this, file, ...rest); };
}
syncBuiltinESMExports();
`,
    );
    const run = path.join(dir, "run");
    const r = spawnSync(
      process.execPath,
      [
        "-r",
        preload,
        cliPath,
        "train",
        "configs/doa-mvp.yaml",
        "--run-dir",
        run,
        "--quiet",
        "--set",
        "train.updates=1",
        "--set",
        "log.plot=false",
      ],
      {
        cwd: repoRoot,
        encoding: "utf8",
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const spawned = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
    expect(spawned.filter((p) => path.basename(p) === "git")).toHaveLength(1);
    const m = JSON.parse(fs.readFileSync(path.join(run, "manifest.json"), "utf8")) as { git: { commit?: string; dirty?: boolean } };
    const head = execFileSync("git", ["rev-parse", "HEAD"], { cwd: repoRoot, encoding: "utf8" }).trim();
    const dirty =
      execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: repoRoot, encoding: "utf8" }).trim().length > 0;
    expect(m.git).toEqual({ commit: head, dirty });
  }, 60_000);
});
