import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { InputError } from "../src/core/errors.js";
import type { ModelSettings } from "../src/llm/types.js";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** The `maestro` bin as users run it: the bundle of dist/cli.js (scripts/bundle-cli.mjs). */
export const cliPath = path.join(repoRoot, "dist", "bin", "maestro.js");
/** Short aliases used by some test files. */
export const root = repoRoot;
export const cli = cliPath;

const made: string[] = [];

/** Removes the temp folders made by {@link tmpDir} (call from afterAll). */
export function removeTmpDirs(): void {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/** A fresh temp folder, removed by {@link removeTmpDirs}. */
export function tmpDir(prefix = "test"): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `maestro-${prefix}-`));
  made.push(d);
  return d;
}

/** Runs the built CLI synchronously; `status` and `code` are both the exit code. */
export function runCli(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {},
): { status: number | null; code: number | null; stdout: string; stderr: string } {
  if (!fs.existsSync(cliPath))
    throw new Error("dist/bin/maestro.js missing: vitest builds it (test/setup/bundle.ts), or run `npm run build`");
  const r = spawnSync(process.execPath, [cliPath, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, ...opts.env },
    encoding: "utf8",
    timeout: opts.timeout ?? 180_000,
  });
  return { status: r.status, code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function spawnCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; log: string }): ChildProcess {
  const out = fs.openSync(opts.log, "w");
  return spawn(process.execPath, [cliPath, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", out, out],
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

/** A tiny sweep file (DOA MVP, few updates) written into `dir`. */
export function writeSweep(dir: string, body: string, name = "sweep.yaml"): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, body.replace("BASE", path.join(repoRoot, "configs", "doa-mvp.yaml")));
  return file;
}

/** Full path of an executable found on PATH (or in the usual system folders), or undefined. */
export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), "/usr/local/bin", "/usr/bin", "/usr/sbin", "/bin"];
  for (const d of dirs) {
    if (!d) continue;
    const f = path.join(d, name);
    try {
      fs.accessSync(f, fs.constants.X_OK);
      if (fs.statSync(f).isFile()) return f;
    } catch {
      // not here
    }
  }
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export function isPng(file: string): boolean {
  const b = fs.readFileSync(file);
  return b.length > 100 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
}

/** Asserts that `fn` throws an {@link InputError} whose message contains every one of `parts`. */
export function expectInputError(fn: () => unknown, ...parts: string[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InputError);
  for (const p of parts) expect((err as Error).message).toContain(p);
}

/** Settings of one test model against a server the test started: `over` names what the test is about. */
export function testModel(over: Partial<ModelSettings> & Pick<ModelSettings, "baseURL">): ModelSettings {
  return {
    ref: "m",
    provider: "openai",
    model: "sim-fast",
    temperature: 0.7,
    maxTokens: 256,
    timeoutMs: 5000,
    maxRetries: 0,
    maxRetryWaitMs: 60_000,
    inputPricePerM: 1,
    outputPricePerM: 2,
    paramsB: 1,
    ...over,
  };
}

/**
 * The raw config of a small LLM orchestration (planner, coder, Terminator) on arithmetic tasks against a
 * simulated LLM server the test started; `llm` replaces fields of the llm block.
 */
export function simLlmRawConfig(o: {
  name: string;
  baseURL: string;
  apiKeyEnv: string;
  dir: string;
  coderModel?: string;
  llm?: Record<string, unknown>;
}): Record<string, unknown> {
  return {
    name: o.name,
    seed: 1,
    agents: [
      { name: "planner", kind: "llm", prompt: "Role: planner.\nPlan, then solve.", model: "fast" },
      { name: "coder", kind: "llm", prompt: "Role: coder.\nCompute exactly.", model: o.coderModel ?? "fast" },
      "terminator",
    ],
    tasks: { source: "arithmetic", train: 20, eval: 10 },
    llm: {
      baseURL: o.baseURL,
      apiKeyEnv: o.apiKeyEnv,
      maxConcurrency: 4,
      maxRetries: 0,
      timeoutMs: 5000,
      models: { fast: { model: "sim-fast", inputPricePerM: 0.15, outputPricePerM: 0.6 } },
      cache: { dir: path.join(o.dir, "cache") },
      ...o.llm,
    },
    env: { maxSteps: 3 },
    reward: { successBonus: 1, failurePenalty: 0, costPenalty: 10 },
    encoder: { name: "features", taskBuckets: 16, outputBuckets: 8 },
    policy: { hidden: [16] },
    train: { updates: 3, episodesPerUpdate: 4 },
    log: { plot: false, episodeSample: -1 },
  };
}
