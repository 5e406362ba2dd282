import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/load.js";
import { startSimServer, type SimServer } from "../src/llm/sim-server.js";
import { costUnitOf, formatCost } from "../src/run/progress.js";
import { cliPath, removeTmpDirs, repoRoot, tmpDir } from "./helpers.js";

let server: SimServer;
beforeAll(async () => {
  server = await startSimServer({ port: 0 });
});
afterAll(async () => {
  await server.close();
  removeTmpDirs();
});

describe("costs in progress lines", () => {
  it("formats LLM costs with three significant digits in their unit, other costs as before", () => {
    expect(formatCost(0.000412345, "usd")).toBe("$0.000412");
    expect(formatCost(0.0123456, "usd")).toBe("$0.0123");
    expect(formatCost(2.5, "usd")).toBe("$2.5");
    expect(formatCost(0, "usd")).toBe("$0");
    expect(formatCost(1.23456e-7, "usd")).toBe("$0.000000123");
    expect(formatCost(0.0456, "tflop")).toBe("0.0456 TFLOP");
    expect(formatCost(0.4, "plain")).toBe("0.40");
    expect(formatCost(NaN, "usd")).toBe("-");
    const llm = loadConfig(path.join(repoRoot, "configs", "llm-arithmetic.yaml"));
    expect(costUnitOf(llm)).toBe("usd");
    expect(costUnitOf(loadConfig(path.join(repoRoot, "configs", "llm-arithmetic.yaml"), { sets: ["llm.cost.mode=compute"] }))).toBe(
      "tflop",
    );
    expect(costUnitOf(loadConfig(path.join(repoRoot, "configs", "doa-mvp.yaml")))).toBe("plain");
  });

  it("an LLM run's progress lines and last line show its costs in dollars, not 0.00", async () => {
    const dir = tmpDir("progress");
    const args = [
      cliPath,
      "train",
      path.join(repoRoot, "configs", "llm-arithmetic.yaml"),
      "--run-dir",
      path.join(dir, "run"),
      ...[
        "train.updates=2",
        "train.episodesPerUpdate=4",
        "log.plot=false",
        `llm.baseURL=${server.url}/v1`,
        `llm.cache.dir=${path.join(dir, "cache")}`,
      ].flatMap((s) => ["--set", s]),
    ];
    // async: the simulated server runs in this process
    const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code, err).toBe(0);
    expect(err).toMatch(/update 2\/2 {2}return -?[\d.]+ {2}success [\d.]+ {2}cost \$0\.\d*[1-9]\d*/);
    expect(err).not.toContain("cost 0.00 ");
    expect(out).toMatch(/final return -?[\d.]+, success [\d.]+, cost \$0\.\d*[1-9]\d*/);
  });
});
