import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildInputs, buildOutputs, repoRoot, staleBuildReason } from "./setup/bundle.js";

/** The test globalSetup rebuilds dist/ only when a build output is missing or older than an input. */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-bundle-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function touch(rel: string, secondsAgo: number): void {
  const f = path.join(dir, rel);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  if (!fs.existsSync(f)) fs.writeFileSync(f, "");
  const t = new Date(Date.now() - secondsAgo * 1000);
  fs.utimesSync(f, t, t);
}

describe("staleBuildReason", () => {
  it("names a missing output, then an input newer than the oldest output, and is undefined when the build is fresh", () => {
    touch("src/run/train.ts", 100);
    touch("src/core/deep/x.ts", 100);
    for (const i of buildInputs.filter((i) => i !== "src")) touch(i, 100);
    expect(staleBuildReason(dir)).toBe(`${buildOutputs[0]} is missing`);
    for (const o of buildOutputs) touch(o, 50);
    expect(staleBuildReason(dir)).toBeUndefined();
    // a source edited after the build, deep in src/
    touch("src/core/deep/x.ts", 10);
    expect(staleBuildReason(dir)).toBe(`${path.join("src", "core", "deep", "x.ts")} is newer than the build`);
    for (const o of buildOutputs) touch(o, 5);
    expect(staleBuildReason(dir)).toBeUndefined();
    // one output older than an input (tsc ran, the bundle step did not)
    touch("dist/bin/maestro.js", 20);
    expect(staleBuildReason(dir)).toBe(`${path.join("src", "core", "deep", "x.ts")} is newer than the build`);
    touch("dist/bin/maestro.js", 1);
    touch("package.json", 0);
    expect(staleBuildReason(dir)).toBe("package.json is newer than the build");
  });

  it("finds this repository's build fresh once the globalSetup has run", () => {
    expect(staleBuildReason(repoRoot)).toBeUndefined();
  });
});
