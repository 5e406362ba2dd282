#!/usr/bin/env node
// Rewrites the config reference table in docs/configs.md from the zod schema (run after changing the schema;
// test/docs.test.ts fails while the two differ). Usage: npm run docs:config (builds first)
import "./lib/help.mjs"; // --help prints the comment above; bad options print it too
import fs from "node:fs";
import path from "node:path";
import { configReference } from "../dist/config/docs.js";

const file = path.resolve(import.meta.dirname, "..", "docs", "configs.md");
const text = fs.readFileSync(file, "utf8");
const re = /(<!-- config-reference:start -->\n)[\s\S]*?(\n<!-- config-reference:end -->)/;
if (!re.test(text)) throw new Error("docs/configs.md has no config-reference markers");
fs.writeFileSync(file, text.replace(re, (_m, a, b) => a + configReference() + b));
console.log("docs/configs.md config reference updated");
