import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../../src/config/load.js";
import { exactEvaluateRun, type ExactResult } from "../../src/analysis/exact.js";
import { solveOracle, type OracleResult } from "../../src/analysis/oracle.js";
import { train, type RunSummary } from "../../src/run/train.js";

export const root = path.resolve(import.meta.dirname, "..", "..");

/** Trains a config (with `--set`-style overrides) with its own defaults and seed, then scores it exactly. */
export async function trainAndScore(
  configFile: string,
  sets: string[],
): Promise<{ oracle: OracleResult; exact: ExactResult; summary: RunSummary }> {
  const config = loadConfig(path.join(root, configFile), { sets });
  const oracle = await solveOracle(config);
  const runDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "maestro-opt-")), "run");
  const summary = await train({ config, runDir });
  const exact = await exactEvaluateRun(runDir);
  fs.rmSync(path.dirname(runDir), { recursive: true, force: true });
  return { oracle, exact, summary };
}
