import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { configReference } from "../src/config/docs.js";
import { repoRoot } from "./helpers.js";

describe("README", () => {
  it("holds the config reference generated from the schema", () => {
    const readme = fs.readFileSync(path.join(repoRoot, "README.md"), "utf8");
    const m = readme.match(/<!-- config-reference:start -->\n([\s\S]*?)\n<!-- config-reference:end -->/);
    expect(m, "README has the config-reference markers").not.toBeNull();
    expect(m![1]!.trim()).toBe(configReference().trim());
  });

  it("documents every config in configs/ that exists", () => {
    const readme = fs.readFileSync(path.join(repoRoot, "README.md"), "utf8");
    for (const f of fs.readdirSync(path.join(repoRoot, "configs")).filter((f) => f.endsWith(".yaml"))) {
      expect(readme, f).toContain(`configs/${f}`);
    }
  });
});
