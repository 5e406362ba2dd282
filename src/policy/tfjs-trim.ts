import Module, { createRequire } from "node:module";

const requireCjs = createRequire(import.meta.url);

/**
 * The union package's Node bundle requires tfjs-layers, tfjs-converter, tfjs-data and the webgl
 * backend only to re-export them; maestro uses none of them (tfjs-core ops, their gradients and the
 * cpu/wasm/node backends). When @tensorflow/tfjs-node is not installed (it needs them: its callbacks
 * extend tfjs-layers classes), they are registered as empty modules before the bundle loads, which
 * saves ~90 ms and ~8 MB at every start (scripts/bench-startup-vs-doa.mjs).
 *
 * Only maestro's own processes (the CLI and the sweep pool children) call this, first thing: a program
 * that imports maestro as a library may use those packages itself, so importing maestro never does it.
 * It lives apart from backend.ts because that module loads tfjs as it is imported.
 */
export function skipUnusedTfjsPackages(): void {
  try {
    requireCjs.resolve("@tensorflow/tfjs-node");
    return;
  } catch {
    // not installed: the union bundle is all that loads
  }
  const cache = requireCjs.cache;
  for (const [name, versionKey] of [
    ["@tensorflow/tfjs-layers", "version_layers"],
    ["@tensorflow/tfjs-converter", "version_converter"],
    ["@tensorflow/tfjs-data", "version_data"],
    ["@tensorflow/tfjs-backend-webgl", "version_webgl"],
  ] as const) {
    let file: string;
    try {
      file = requireCjs.resolve(name);
    } catch {
      continue;
    }
    if (cache[file]) continue;
    const m = new Module(file);
    m.filename = file;
    m.loaded = true;
    m.exports = { [versionKey]: "(not loaded by maestro)" };
    cache[file] = m;
  }
}
