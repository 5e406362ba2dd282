import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { configReference, configReferenceBlocks, configReferenceFor, fillConfigReferences } from "../src/config/docs.js";
import { repoRoot } from "./helpers.js";

const docsDir = path.join(repoRoot, "docs");
const pages = fs
  .readdirSync(docsDir, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith(".md"))
  .sort();
const read = (rel: string) => fs.readFileSync(path.join(docsDir, rel), "utf8");

describe("the generated config reference", () => {
  it("docs/configs.md holds the full reference generated from the schema", () => {
    const m = read("configs.md").match(/<!-- config-reference:start -->\n([\s\S]*?)\n<!-- config-reference:end -->/);
    expect(m, "docs/configs.md has the config-reference markers").not.toBeNull();
    expect(m![1]!.trim()).toBe(configReference().trim());
  });

  it("every generated block of docs/ (the trainer pages' parameters) matches the schema: npm run docs:config", () => {
    let blocks = 0;
    for (const rel of pages) {
      const text = read(rel);
      blocks += configReferenceBlocks(text);
      expect(fillConfigReferences(text, `docs/${rel}`), `docs/${rel} differs from the schema; run npm run docs:config`).toBe(text);
    }
    // configs.md, trainers.md and the seven trainer pages
    expect(blocks).toBeGreaterThanOrEqual(9);
    for (const t of ["reinforce", "ppo", "ppo-lagrangian", "p3o", "cpo", "macpo", "mappo-lagrangian"]) {
      expect(configReferenceBlocks(read(`trainers/${t}.md`)), `docs/trainers/${t}.md`).toBe(1);
    }
  });

  it("a block lists exactly the fields under its prefixes; a prefix no field has is an error naming the page", () => {
    const rows = configReferenceFor(["algo.p3o"]).split("\n").slice(2);
    expect(rows.length).toBeGreaterThan(3);
    for (const r of rows) expect(r).toMatch(/^\| `algo\.p3o(\.|`)/);
    expect(() => fillConfigReferences("<!-- config-reference:start algo.nope -->\n<!-- config-reference:end -->", "docs/x.md")).toThrow(
      "docs/x.md: config reference: no config field is named algo.nope or starts with algo.nope.",
    );
  });
});

describe("the docs pages", () => {
  const all = pages.map((rel) => read(rel)).join("\n");

  it("document every config in configs/", () => {
    for (const sub of ["", "sweeps"]) {
      for (const f of fs.readdirSync(path.join(repoRoot, "configs", sub)).filter((f) => f.endsWith(".yaml"))) {
        const name = `configs/${sub ? `${sub}/` : ""}${f}`;
        expect(read("configs.md"), name).toContain(`\`${name}\``);
        expect(all.split(name).length - 1, `${name} is described on a page beyond the configs table`).toBeGreaterThanOrEqual(2);
      }
    }
  });

  it("each trainer page has the same headings, in order", () => {
    for (const t of ["reinforce", "ppo", "ppo-lagrangian", "p3o", "cpo", "macpo", "mappo-lagrangian"]) {
      const heads = [...read(`trainers/${t}.md`).matchAll(/^## (.*)$/gm)].map((m) => m[1]);
      expect(heads, `docs/trainers/${t}.md`).toEqual(["Notes", "Can I use it?", "Example", "Results", "How to replicate", "Parameters"]);
    }
  });

  it("every scripts/*.mjs named in the docs exists, and every npm script named exists", () => {
    const text = `${all}\n${fs.readFileSync(path.join(repoRoot, "README.md"), "utf8")}`;
    for (const m of text.matchAll(/scripts\/([\w.-]+\.(?:mjs|sh))/g))
      expect(fs.existsSync(path.join(repoRoot, "scripts", m[1]!)), `scripts/${m[1]}`).toBe(true);
    const npmScripts = Object.keys(
      (JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts,
    );
    for (const m of text.matchAll(/npm run ([\w:-]+)/g)) expect(npmScripts, `npm run ${m[1]}`).toContain(m[1]);
  });
});

describe("README.md", () => {
  const readme = fs.readFileSync(path.join(repoRoot, "README.md"), "utf8");

  it("is a first page, not the manual: at most 300 lines", () => {
    expect(readme.split("\n").length).toBeLessThanOrEqual(300);
  });

  it("keeps the two set-up commands", () => {
    expect(readme).toMatch(/```bash\nnpm install\nnpx maestro train configs\/doa-mvp\.yaml\n```/);
  });
});
