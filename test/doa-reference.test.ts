import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { removeTmpDirs, repoRoot, tmpDir } from "./helpers.js";

afterAll(removeTmpDirs);

const script = path.join(repoRoot, "scripts", "compare-doa-reference.mjs");
const run = (args: string[], cwd = repoRoot) => spawnSync(process.execPath, [script, ...args], { cwd, encoding: "utf8", timeout: 120_000 });

describe("scripts/compare-doa-reference.mjs", () => {
  it("reads the reference curves shipped in the repository and prints finite figures from any working directory", () => {
    expect(fs.existsSync(path.join(repoRoot, "data", "reference", "doa-mvp-baseline-curves.csv"))).toBe(true);
    const r = run(["--seeds", "2"], tmpDir("doa-cwd"));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("| update | published: maestro | published: DOA | intended: maestro | intended: DOA |");
    // the DOA columns are the reference file's values (upstream_as_is / fixed_termination, epoch 1)
    expect(r.stdout).toMatch(/^\| 1 \| [\d.]+ \| 1\.408 \| [\d.]+ \| 0\.831 \|$/m);
    expect(r.stdout).not.toMatch(/NaN|Infinity|undefined/);
  });

  it("a missing or malformed reference file is an error naming the file, not NaN figures", () => {
    const missing = path.join(tmpDir("doa"), "nope.csv");
    const r = run(["--ref", missing]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(missing);
    expect(r.stderr).toContain("not found");
    expect(r.stdout).toBe("");
    const bad = path.join(tmpDir("doa"), "bad.csv");
    fs.writeFileSync(
      bad,
      "variant,epoch,mean_batch_reward,sd_batch_reward,mean_success_rate,mean_episode_len,n_seeds\nupstream_as_is,1,x,0,0,0,20\n",
    );
    const b = run(["--ref", bad]);
    expect(b.status).toBe(2);
    expect(b.stderr).toContain(`${bad}: variant "upstream_as_is": expected epochs 1..50`);
  });
});
