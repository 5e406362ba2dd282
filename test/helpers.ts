import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const cliPath = path.join(repoRoot, "dist", "cli.js");

/** A fresh temp folder, removed by the returned cleanup. */
export function tmpDir(prefix = "maestro-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Runs the built CLI synchronously. */
export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [cliPath, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, ...opts.env },
    encoding: "utf8",
    timeout: opts.timeout ?? 120_000,
  });
}

/** metrics.csv without the timing column, for comparisons across runs. */
export function metricsWithoutTiming(file: string): string[] {
  const lines = fs.readFileSync(file, "utf8").trim().split("\n");
  const header = lines[0]!.split(",");
  const wall = header.indexOf("wall_s");
  return lines.map((l) =>
    l
      .split(",")
      .filter((_, i) => i !== wall)
      .join(","),
  );
}

/** Writes a YAML text to a temp config file and returns its path. */
export function writeConfig(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}
