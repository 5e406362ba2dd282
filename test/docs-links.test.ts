import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error -- a plain .mjs module of scripts/ without type declarations
import { anchors, deadLinks, links, markdownFiles, slug, unreachable } from "../scripts/lib/doc-links.mjs";
import { repoRoot } from "./helpers.js";

const docs = path.join(repoRoot, "docs");

describe("the docs' links", () => {
  it("every relative link of README.md and docs/ resolves, file and #anchor", () => {
    const files: string[] = [path.join(repoRoot, "README.md"), ...markdownFiles(docs)];
    expect(files.length).toBeGreaterThan(20);
    expect(deadLinks(repoRoot, files)).toEqual([]);
  });

  it("every page of docs/ is reachable by links from docs/index.md", () => {
    expect(unreachable(docs, path.join(docs, "index.md")).map((f: string) => path.relative(repoRoot, f))).toEqual([]);
  });

  it("README.md links the index and every capability page it summarises", () => {
    const targets = new Set(
      links(fs.readFileSync(path.join(repoRoot, "README.md"), "utf8")).map((l: { target: string }) => l.target.split("#")[0]),
    );
    for (const page of [
      "index",
      "getting-started",
      "configs",
      "trainers",
      "agents",
      "routing",
      "serving",
      "sweeps",
      "plots",
      "failures",
      "benchmarks",
      "architecture",
    ]) {
      expect(targets, page).toContain(`docs/${page}.md`);
    }
  });
});

describe("the link checker", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-doclinks-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (rel: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  };

  it("names a missing page, a missing anchor and the line, and ignores code and external links", () => {
    write("docs/index.md", "# Home\n\n[a](a.md) and [b](sub/b.md#the-part)\n");
    write(
      "docs/a.md",
      "# A\n\n```bash\n# not a heading\n[x](gone.md)\n```\n\n`[y](gone.md)` [web](https://example.org/x.md)\n\nSee [gone](gone.md).\nSee [here](#not-a-heading).\n",
    );
    write("docs/sub/b.md", "# B\n\n## The `part`!\n\n[back](../index.md#home)\n");
    write("docs/orphan.md", "# Orphan\n");
    const files = markdownFiles(path.join(dir, "docs"));
    expect(deadLinks(dir, files)).toEqual([
      "docs/a.md:10: link to gone.md: no such file docs/gone.md",
      "docs/a.md:11: link to #not-a-heading: docs/a.md has no heading #not-a-heading",
    ]);
    expect(unreachable(path.join(dir, "docs"), path.join(dir, "docs", "index.md")).map((f: string) => path.relative(dir, f))).toEqual([
      "docs/orphan.md",
    ]);
  });

  it("makes GitHub's heading anchors", () => {
    expect(slug("The random CMDP family: do the defaults hold on a problem nobody tuned them for?")).toBe(
      "the-random-cmdp-family-do-the-defaults-hold-on-a-problem-nobody-tuned-them-for",
    );
    expect(slug("`--live` on serve, orchestrate and eval")).toBe("--live-on-serve-orchestrate-and-eval");
    expect([...anchors("# A\n## A\n## Measured: keys off and on\n")]).toEqual(["a", "a-1", "measured-keys-off-and-on"]);
  });
});
