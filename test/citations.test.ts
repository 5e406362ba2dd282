import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./helpers.js";

// Code and docs cite what a reader of the repository can open — a paper, a public docs page, a page of
// docs/ — or state the reason; never an issue number or a design document kept outside the repository.
const cite = (line: string) => /issue ?#?[0-9]+/i.test(line) || /DESIGN|design brief/.test(line);

function files(dir: string): string[] {
  return fs
    .readdirSync(path.join(repoRoot, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|mjs|js|md|yaml|sh)$/.test(e.name))
    .map((e) => path.relative(repoRoot, path.join(e.parentPath, e.name)));
}

/**
 * The text without the generated config-reference blocks of a docs page: they quote the schema's
 * descriptions (src/config/schema.ts), which this check reads itself.
 */
const withoutGenerated = (text: string) => text.replace(/<!-- config-reference:start[^>]*-->[\s\S]*?<!-- config-reference:end -->/g, "");

describe("citations", () => {
  it("no issue number or design document is cited in src/, docs/, configs/, scripts/, test/ or README.md", () => {
    const all = ["README.md", ...files("src"), ...files("docs"), ...files("configs"), ...files("scripts"), ...files("test")];
    expect(all.length).toBeGreaterThan(200);
    const found: string[] = [];
    for (const f of all) {
      if (f === "test/citations.test.ts") continue;
      withoutGenerated(fs.readFileSync(path.join(repoRoot, f), "utf8"))
        .split("\n")
        .forEach((line, i) => {
          if (cite(line)) found.push(`${f}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(found).toEqual([]);
  });
});
