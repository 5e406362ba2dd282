import path from "node:path";

/**
 * How the user started maestro, for the commands that messages suggest ("continue with: … train --resume
 * DIR"): `npx maestro` under npx, `maestro` when the bin was found on the PATH (npm link, a global
 * install), `node <path>` when the bin was run with node; in a program that uses maestro as a library,
 * `npx maestro`. A bare `maestro` works only after `npm link`. Child processes (seed and sweep runs)
 * inherit the parent's form through MAESTRO_COMMAND.
 */
export function commandName(): string {
  const set = process.env.MAESTRO_COMMAND;
  if (set) return set;
  if (process.env.npm_command === "exec" || process.env.npm_lifecycle_event === "npx") return "npx maestro";
  const script = process.argv[1];
  const base = script ? path.basename(script) : "";
  if (!script || (base !== "maestro" && base !== "maestro.js")) return "npx maestro";
  const dirs = (process.env.PATH ?? "")
    .split(path.delimiter)
    .filter(Boolean)
    .map((d) => path.resolve(d));
  if (base === "maestro" && dirs.includes(path.resolve(path.dirname(script)))) return "maestro";
  const rel = path.relative(process.cwd(), script);
  return `node ${rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : script}`;
}
