/**
 * Users' own code: a JavaScript or TypeScript module named by an agent definition (`kind: module`) or a
 * task evaluator (`tasks.evaluator: {kind: module}`), and one of its exports.
 *
 * JavaScript (.js, .mjs, .cjs) is loaded with Node's own `import()`; TypeScript (.ts, .mts, .cts)
 * through jiti (https://github.com/unjs/jiti), which strips the types at load time, so a user's agent
 * needs no build step. Importing is asynchronous, and a module may fail to load or lack the export, so
 * it happens once, before a run starts (`loadUserModules` in src/run/build.ts), with errors naming the
 * file and field; the runtime objects are then built synchronously from the already-checked exports.
 */
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { InputError } from "../core/errors.js";
import { didYouMean } from "../core/suggest.js";

/** A module file (absolute once a config is loaded) and the name of one of its exports. */
export interface ModuleRef {
  module: string;
  export: string;
}

/** Where a module reference was written: the file (agent file or config) and the field path inside it. */
export interface ModuleOrigin {
  file: string;
  /** Field path of the reference, e.g. `agents[2]` or `tasks.evaluator` (`""` for a whole agent file). */
  field: string;
}

/** Where each definition object holding a module reference came from (set when a config is validated). */
const origins = new WeakMap<object, ModuleOrigin>();

export function setModuleOrigin(def: object, origin: ModuleOrigin): void {
  origins.set(def, origin);
}

/** `file: field.sub` for messages, from the recorded origin of `def` (or `fallback`). */
export function moduleWhere(def: object, sub: string, fallback: ModuleOrigin): string {
  const o = origins.get(def) ?? fallback;
  return `${o.file}: ${o.field ? `${o.field}.${sub}` : sub}`;
}

/** File name endings loaded through jiti (TypeScript). */
const typescript = /\.(ts|mts|cts)$/i;

/**
 * Resolves the `module` path of a definition against `baseDir` (the folder of the file it is written
 * in) and checks that the file exists, so a typo is reported when the config loads.
 */
export function resolveModuleFile(spec: string, baseDir: string, where: string): string {
  const file = path.resolve(baseDir, spec);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new InputError(
      `${where}: module file not found: ${file}${path.isAbsolute(spec) ? "" : ` ("${spec}" is resolved from ${baseDir})`}`,
      file,
    );
  }
  if (!stat.isFile()) throw new InputError(`${where}: ${file} is a folder; name the module file (.js, .mjs, .cjs, .ts, .mts)`, file);
  return file;
}

const loaded = new Map<string, unknown>();
const keyOf = (r: ModuleRef) => `${r.module}#${r.export}`;

/** Imports a module file (once per process) and returns its namespace. */
async function importFile(file: string): Promise<Record<string, unknown>> {
  if (typescript.test(file)) {
    const { createJiti } = await import("jiti");
    // module objects are kept by this process's own cache (below); jiti's transpile cache stays on
    const jiti = createJiti(import.meta.url, { moduleCache: true });
    return (await jiti.import(file)) as Record<string, unknown>;
  }
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}

/**
 * The export `ref.export` of `ref.module`, imported on first use. `where` (`file: field`) names the
 * reference in errors: a module that does not load (syntax error, missing dependency, a throw at the top
 * level) or has no such export (the message lists the exports it has).
 */
export async function importModuleExport(ref: ModuleRef, where: string): Promise<unknown> {
  const key = keyOf(ref);
  if (loaded.has(key)) return loaded.get(key);
  let ns: Record<string, unknown>;
  try {
    ns = await importFile(ref.module);
  } catch (e) {
    const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new InputError(`${where}: cannot load module ${ref.module}: ${msg}`, ref.module);
  }
  const value = ns[ref.export];
  if (value === undefined) {
    const names = Object.keys(ns).filter((k) => k !== "__esModule" && ns[k] !== undefined);
    throw new InputError(
      `${where}: ${ref.module} has no export "${ref.export}"${didYouMean(ref.export, names)} (it exports: ${names.length > 0 ? names.join(", ") : "nothing"})`,
      ref.module,
    );
  }
  loaded.set(key, value);
  return value;
}

/** The export of a module already imported by {@link importModuleExport}. */
export function loadedModuleExport(ref: ModuleRef, who: string): unknown {
  const key = keyOf(ref);
  if (!loaded.has(key)) {
    throw new Error(
      `${who}: module ${ref.module} (export "${ref.export}") is not loaded yet: await loadUserModules(config) before building the run`,
    );
  }
  return loaded.get(key);
}

/** What a value is, for shape errors: `a string`, `an object with keys a, b`, `a class`. */
export function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "function") return isClass(v) ? `a class (${v.name || "anonymous"})` : "a function";
  if (typeof v === "object") {
    const keys = Object.keys(v as object);
    return keys.length > 0 ? `an object with ${keys.join(", ")}` : "an empty object";
  }
  return `${typeof v === "undefined" ? "undefined" : `a ${typeof v}`} (${JSON.stringify(v)})`;
}

/** Whether a function is a class constructor (calling it without `new` throws). */
export function isClass(f: unknown): boolean {
  return typeof f === "function" && /^class[\s{]/.test(Function.prototype.toString.call(f));
}

/**
 * The callable of an export: the export itself when it is a plain function, else its `method` (an
 * object such as a class instance holding a connection). Anything else is an InputError saying what the
 * export is and what is expected.
 */
export function callableOf<F extends (...args: never[]) => unknown>(value: unknown, method: string, where: string, expected: string): F {
  if (typeof value === "function" && !isClass(value)) return value as F;
  if (value !== null && typeof value === "object") {
    const m = (value as Record<string, unknown>)[method];
    if (typeof m === "function") return m.bind(value) as F;
    throw new InputError(`${where}: the export is ${describeValue(value)} without a ${method}() method; expected ${expected}`);
  }
  const hint = isClass(value) ? ` (export an instance, e.g. \`export const x = new ${(value as { name: string }).name}()\`)` : "";
  throw new InputError(`${where}: the export is ${describeValue(value)}; expected ${expected}${hint}`);
}
