#!/usr/bin/env node
// Rewrites the generated config reference tables in docs/ from the zod schema: the full table of
// docs/configs.md and each trainer page's own fields (every `<!-- config-reference:start [prefix ...] -->`
// block). Run after changing the schema; test/docs.test.ts fails while a page and the schema differ.
// Usage: npm run docs:config (builds first)
import "./lib/help.mjs"; // --help prints the comment above; bad options print it too
import fs from "node:fs";
import path from "node:path";
import { configReferenceBlocks, fillConfigReferences } from "../dist/config/docs.js";

const docs = path.resolve(import.meta.dirname, "..", "docs");
const pages = fs
  .readdirSync(docs, { recursive: true })
  .filter((f) => String(f).endsWith(".md"))
  .map(String)
  .sort();
let blocks = 0;
for (const rel of pages) {
  const file = path.join(docs, rel);
  const text = fs.readFileSync(file, "utf8");
  const n = configReferenceBlocks(text);
  if (n === 0) continue;
  blocks += n;
  const next = fillConfigReferences(text, `docs/${rel}`);
  if (next !== text) fs.writeFileSync(file, next);
  console.log(`docs/${rel}: ${n} config reference block${n === 1 ? "" : "s"}${next === text ? "" : " updated"}`);
}
if (!fs.readFileSync(path.join(docs, "configs.md"), "utf8").includes("<!-- config-reference:start -->")) {
  throw new Error("docs/configs.md has no config-reference markers");
}
console.log(`${blocks} blocks`);
