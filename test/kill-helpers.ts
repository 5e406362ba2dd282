import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { cliPath, repoRoot } from "./helpers.js";

/** Helpers to start maestro processes, wait for a point in their work and kill them (the reliability tests). */

export async function waitUntil(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Data rows of a metrics.csv (0 when it does not exist yet). */
export function metricsRows(file: string): number {
  if (!fs.existsSync(file)) return 0;
  return Math.max(
    0,
    fs
      .readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.length > 0).length - 1,
  );
}

export interface Proc {
  child: ChildProcess;
  pid: number;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code (or 128 + signal number) once it exits. */
  exited: Promise<number>;
}

const signalNumbers: Record<string, number> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/** Starts the built CLI without blocking the test's event loop. */
export function startCli(args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Proc {
  const child = spawn(process.execPath, [cliPath, ...args], {
    cwd: o.cwd ?? repoRoot,
    env: { ...process.env, ...o.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number>((resolve) =>
    child.once("exit", (code, sig) => resolve(code ?? 128 + (signalNumbers[sig ?? ""] ?? 0))),
  );
  return { child, pid: child.pid!, output: () => out, exited };
}

/** Runs the CLI to its end (bounded by `ms`: killed past it). */
export async function runCliAsync(
  args: string[],
  o: { cwd?: string; env?: NodeJS.ProcessEnv; ms?: number } = {},
): Promise<{ code: number; out: string }> {
  const p = startCli(args, o);
  const timer = setTimeout(() => p.child.kill("SIGKILL"), o.ms ?? 120_000);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, out: p.output() };
}

/** Sends `signal` and waits (at most `ms`, then SIGKILL) for the exit; resolves with the exit code. */
export async function killAndWait(p: Proc, signal: NodeJS.Signals, ms = 30_000): Promise<number> {
  p.child.kill(signal);
  const timer = setTimeout(() => p.child.kill("SIGKILL"), ms);
  const code = await p.exited;
  clearTimeout(timer);
  return code;
}
