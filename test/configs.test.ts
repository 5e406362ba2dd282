import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/experiment/config.js";
import { train } from "../src/experiment/train.js";
import { repoRoot, tmpDir } from "./helpers.js";

const dir = path.join(repoRoot, "configs");
const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml"));

describe("configs/", () => {
  it.each(files)("%s validates and trains for two updates", async (f) => {
    const config = loadConfig(path.join(dir, f), { sets: ["train.updates=2", "log.plot=false"] });
    const runDir = path.join(tmpDir(), "run");
    const s = await train({ config, runDir });
    expect(s.status).toBe("completed");
    expect(s.updates).toBe(2);
  });
});
