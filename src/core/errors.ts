import type { z } from "zod";

/**
 * An error in user input (config, dataset, agent definition, sweep file): names the file, the path
 * inside it and what was expected (DESIGN §5). The CLI prints `message` alone, without a stack.
 */
export class InputError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "InputError";
  }
}

/** Dotted path of a zod issue, e.g. `algo.lr` or `tasks.items[2]`. */
export function issuePath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || "(top level)";
}

/** Turns a zod error into an {@link InputError} listing every problem as `file: field: message`. */
export function zodToInputError(file: string, error: z.ZodError, prefix = ""): InputError {
  const lines = error.issues.map((iss) => {
    let field = issuePath([...(prefix ? prefix.split(".") : []), ...iss.path]);
    let msg = iss.message;
    if (iss.code === "unrecognized_keys") {
      const keys = (iss as { keys: string[] }).keys;
      field = keys.map((k) => (field === "(top level)" ? k : `${field}.${k}`)).join(", ");
      msg = `unknown field${keys.length > 1 ? "s" : ""} (not in the schema; check the spelling)`;
    }
    return `${file}: ${field}: ${msg}`;
  });
  const first = error.issues[0];
  return new InputError(lines.join("\n"), file, first ? issuePath(first.path) : undefined);
}
