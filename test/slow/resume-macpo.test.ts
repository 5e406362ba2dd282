import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { train } from "../../src/run/train.js";

const root = path.resolve(import.meta.dirname, "..", "..");

/** metrics.csv without the timing column. */
function metricsWithoutWall(file: string): string[] {
  const lines = fs.readFileSync(file, "utf8").trim().split("\n");
  const wall = lines[0]!.split(",").indexOf("wall_s");
  return lines.map((l) =>
    l
      .split(",")
      .filter((_, i) => i !== wall)
      .join(","),
  );
}

class StopAfter extends Error {}

describe.each([
  ["macpo", "configs/sim-tiers.yaml", []],
  ["macpo", "configs/sim-tiers.yaml", ["algo.macpo.step=sequential"]],
  ["mappo-lagrangian", "configs/sim-tiers-specialists.yaml", []],
])("resume: %s %j", (algo, file, extra) => {
  it("train 2N equals train N + resume N (all heads, critics, λ, head-order RNG in the checkpoint)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-resume-mh-"));
    // averagePolicy 0.75: the window is updates 2–6, so the stop after update 3 is inside it and the checkpoint
    // carries every head's kept rows
    const sets = [
      `algo.name=${algo}`,
      "train.updates=6",
      "train.episodesPerUpdate=16",
      "train.checkpointEvery=1",
      "algo.averagePolicy=0.75",
      ...extra,
    ];
    const full = path.join(dir, "full");
    await train({ config: loadConfig(path.join(root, file), { sets }), runDir: full });
    // the same run stopped (by an exception from the progress callback) after N = 3 updates, then resumed
    const part = path.join(dir, "part");
    await expect(
      train({
        config: loadConfig(path.join(root, file), { sets }),
        runDir: part,
        onUpdate: (row) => {
          if (row.update === 3) throw new StopAfter("stop");
        },
      }),
    ).rejects.toBeInstanceOf(StopAfter);
    expect(metricsWithoutWall(path.join(part, "metrics.csv"))).toHaveLength(4);
    const s = await train({ resumeDir: part });
    expect(s.status).toBe("completed");
    const m1 = metricsWithoutWall(path.join(full, "metrics.csv"));
    const m2 = metricsWithoutWall(path.join(part, "metrics.csv"));
    expect(m1).toHaveLength(7);
    expect(m2).toEqual(m1);
    // the final (averaged) policy and every other tensor of the last checkpoint are bit-identical
    const last = (run: string) => fs.readFileSync(path.join(run, "checkpoints", "update-000006", "weights.bin"));
    expect(last(part).equals(last(full))).toBe(true);
    // sequential updates: the head order really is random per update (and was restored): both orders occur;
    // macpo's joint step has no order
    const header = m1[0]!.split(",");
    const col = header.indexOf("head_order");
    if (algo === "macpo" && extra.length === 0) {
      expect(col).toBe(-1);
    } else {
      expect(col).toBeGreaterThan(0);
      const orders = new Set(m1.slice(1).map((l) => l.split(",")[col]));
      expect(orders).toEqual(new Set(["12", "21"]));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
