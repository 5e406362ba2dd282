import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { freePort } from "./helpers.js";

/** The redis-server binary, or undefined when it is not installed (tests that need it then skip). */
export const redisServerBin: string | undefined =
  ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].find((p) => fs.existsSync(p)) ??
  (spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).stdout.trim() || undefined);

/** One line saying why Redis tests are skipped (for describe.skipIf). */
export const noRedisReason = redisServerBin ? "" : "redis-server is not installed: queue tests skipped";
if (!redisServerBin) console.warn(noRedisReason);

export interface RedisInstance {
  port: number;
  url: string;
  proc: ChildProcess;
  /** Stops it with SIGTERM (or SIGKILL) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts a private redis-server on a free 127.0.0.1 port (no persistence), resolving once it accepts connections. */
export async function startRedis(dir: string, port?: number): Promise<RedisInstance> {
  if (!redisServerBin) throw new Error(noRedisReason);
  const p = port ?? (await freePort());
  const proc = spawn(redisServerBin, ["--port", String(p), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  const t0 = Date.now();
  while (!out.includes("Ready to accept connections")) {
    if (proc.exitCode !== null || Date.now() - t0 > 10_000) throw new Error(`redis-server did not start on port ${p}: ${out.slice(-500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port: p,
    url: `redis://127.0.0.1:${p}`,
    proc,
    stop: async (signal: NodeJS.Signals = "SIGTERM") => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill(signal);
      await exited;
    },
  };
}
