#!/usr/bin/env node
// Checks the Markdown docs without building the site: every relative link of README.md and docs/ resolves
// (file and #anchor), and every page of docs/ is reachable by links from docs/index.md. Prints each problem
// as file:line and exits 1 if there is any. Usage: node scripts/check-docs.mjs
import "./lib/help.mjs"; // --help prints the comment above; bad options print it too
import path from "node:path";
import { deadLinks, markdownFiles, unreachable } from "./lib/doc-links.mjs";

const root = path.resolve(import.meta.dirname, "..");
const docs = path.join(root, "docs");
const problems = [
  ...deadLinks(root, [path.join(root, "README.md"), ...markdownFiles(docs)]),
  ...unreachable(docs, path.join(docs, "index.md")).map((f) => `${path.relative(root, f)}: no link from docs/index.md leads to this page`),
];
for (const p of problems) console.error(p);
if (problems.length) process.exit(1);
console.log(`docs: ${markdownFiles(docs).length} pages, every link resolves, every page reachable from docs/index.md`);
