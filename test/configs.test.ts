import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/load.js";
import { trainerTable } from "../src/config/schema.js";
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
      // configs whose llm section only prices recorded answers make no LLM calls
      if (server && config.agents.some((a) => a.kind === "llm")) expect(s.llm?.errors).toBe(0);
    } finally {
      await server?.close();
    }
  });
});

describe("train.updates left out", () => {
  const file = path.join(dir, "sim-budget.yaml");
  it("takes the trainer's measured default; a value in the config or a --set wins", () => {
    expect((YAML.parse(fs.readFileSync(file, "utf8")) as { train?: { updates?: number } }).train?.updates).toBeUndefined();
    expect(loadConfig(file).train.updates).toBe(trainerTable["ppo-lagrangian"].updates);
    const p3o = loadConfig(file, { sets: ["algo.name=p3o"] });
    expect(p3o.train.updates).toBe(300);
    expect(trainerTable.cpo.updates).toBe(150);
    const rf = loadConfig(file, { sets: ["algo.name=reinforce"] });
    expect(rf.train.updates).toBe(300);
    expect(rf.algo.reinforce.lr).toBe(0.003);
    expect(loadConfig(file, { sets: ["algo.name=p3o", "train.updates=40"] }).train.updates).toBe(40);
    // what a run folder's config.yaml holds is the resolved number: read back under another trainer, it stays
    const tmp = tmpDir();
    const saved = path.join(tmp, "config.yaml");
    fs.writeFileSync(saved, YAML.stringify({ ...p3o, algo: { ...p3o.algo, name: "cpo" } }));
    expect(loadConfig(saved).train.updates).toBe(300);
  });
});

describe("algo.entropyCoef left out", () => {
  const file = path.join(dir, "sim-budget.yaml");
  it("takes the trainer's default (0.01 for the trust-region trainers, 0.05 for the others); a value in the config or a --set wins", () => {
    expect((YAML.parse(fs.readFileSync(file, "utf8")) as { algo?: { entropyCoef?: number } }).algo?.entropyCoef).toBeUndefined();
    expect(loadConfig(file).algo.entropyCoef).toBe(0.05);
    const cpo = loadConfig(file, { sets: ["algo.name=cpo"] });
    expect(cpo.algo.entropyCoef).toBe(0.01);
    expect(trainerTable.macpo.entropyCoef).toBe(0.01);
    expect(trainerTable["mappo-lagrangian"].entropyCoef).toBe(0.05);
    expect(loadConfig(file, { sets: ["algo.name=cpo", "algo.entropyCoef=0.2"] }).algo.entropyCoef).toBe(0.2);
    // a run folder's config.yaml holds the resolved number: read back under another trainer, it stays
    const saved = path.join(tmpDir(), "config.yaml");
    fs.writeFileSync(saved, YAML.stringify({ ...cpo, algo: { ...cpo.algo, name: "ppo-lagrangian" } }));
    expect(loadConfig(saved).algo.entropyCoef).toBe(0.01);
  });
});
