import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/load.js";
import { train } from "../src/run/train.js";
import { startSimServer } from "../src/llm/sim-server.js";
import YAML from "yaml";
import { repoRoot, tmpDir } from "./helpers.js";

const dir = path.join(repoRoot, "configs");
const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml"));

describe("configs/", () => {
  it.each(files)("%s validates and trains for two updates", async (f) => {
    // configs with LLM agents run against a simulated server on an ephemeral loopback port
    const usesLlm = (YAML.parse(fs.readFileSync(path.join(dir, f), "utf8")) as { llm?: unknown }).llm !== undefined;
    const server = usesLlm ? await startSimServer({ port: 0 }) : undefined;
    const tmp = tmpDir();
    const llmSets = server ? [`llm.baseURL=${server.url}/v1`, `llm.cache.dir=${path.join(tmp, "cache")}`] : [];
    try {
      const config = loadConfig(path.join(dir, f), { sets: ["train.updates=2", "log.plot=false", ...llmSets] });
      const runDir = path.join(tmp, "run");
      const s = await train({ config, runDir });
      expect(s.status).toBe("completed");
      expect(s.updates).toBe(2);
      if (server) expect(s.llm?.errors).toBe(0);
    } finally {
      await server?.close();
    }
  });
});
