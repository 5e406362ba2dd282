#!/usr/bin/env node
// Bundles the CLI (dist/cli.js, compiled by tsc) into dist/bin/maestro.js, the `maestro` bin, with
// rolldown. Start-up of a run is dominated by loading modules: unbundled, `maestro train` opens ~340
// files (zod and yaml alone ~170); bundled, a handful of chunks (commands still load on use). Measured
// on configs/doa-mvp.yaml: −15% CPU time and −20 MiB peak memory (scripts/bench-startup-vs-doa.mjs).
// Packages with native code, WebAssembly or files found at run time stay external (loaded from
// node_modules as before). The chunks sit two levels below the package root, as dist/<part>/*.js do,
// so paths found from import.meta.url (agents/, the pool child, package.json) stay the same.
// Run by `npm run build`.
import "./lib/help.mjs"; // --help prints the comment above; bad options print it too
import fs from "node:fs";
import path from "node:path";
import { build } from "rolldown";

const root = path.resolve(import.meta.dirname, "..");
const outDir = path.join(root, "dist", "bin");
fs.rmSync(outDir, { recursive: true, force: true });
await build({
  input: { maestro: path.join(root, "dist", "cli.js") },
  platform: "node",
  cwd: root,
  logLevel: "warn",
  external: [
    /^node:/,
    /^@tensorflow\//, // CommonJS bundles loaded with require (policy/backend.ts), wasm binaries
    /^@napi-rs\//, // native canvas
    "dejavu-fonts-ttf", // font files resolved at run time
    "highs", // wasm
    "bullmq", // queue, its native msgpack extractor
    "jiti", // TypeScript loader of users' module agents: finds its own files at run time, loaded on first use
    "openai", // LLM SDKs, loaded on first use
    /^@anthropic-ai\//,
  ],
  output: {
    dir: outDir,
    format: "esm",
    entryFileNames: "[name].js",
    chunkFileNames: "[name]-[hash].js",
    sourcemap: false,
  },
});
fs.chmodSync(path.join(outDir, "maestro.js"), 0o755);
