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

const osReasons: Record<string, string> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOTDIR: "a part of the path is a file, not a folder",
  EISDIR: "it is a folder, not a file",
  ENOENT: "no such file or folder",
  EEXIST: "something already exists there",
  ENOTEMPTY: "the folder is not empty",
  EMFILE: "too many open files",
  EIO: "input/output error",
};

/** Is `e` an operating-system error (Node's ErrnoException with a code)? */
export function isOsError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === "string" && /^E[A-Z]+$/.test((e as NodeJS.ErrnoException).code!);
}

/**
 * An operating-system error wrapped with what maestro was doing, the path, and which option or config
 * field named that path (issue 12 item 12): `cannot write checkpoint runs/x/checkpoints/update-000003
 * (--run-dir): no space left on the device (ENOSPC)`.
 */
export class OsError extends Error {
  readonly code: string | undefined;
  constructor(
    readonly what: string,
    readonly target: string,
    cause: unknown,
    readonly source?: string,
  ) {
    const e = cause as NodeJS.ErrnoException;
    const code = isOsError(cause) ? e.code : undefined;
    const reason = code ? `${osReasons[code] ?? e.message} (${code}${e.syscall ? ` in ${e.syscall}` : ""}${e.path && e.path !== target ? ` of ${e.path}` : ""})` : (cause as Error)?.message ?? String(cause);
    super(`cannot ${what} ${target}${source ? ` (${source})` : ""}: ${reason}`);
    this.name = "OsError";
    this.code = code;
    this.cause = cause;
  }
}

/** Runs `fn`; an OS error it throws becomes an {@link OsError} (other errors pass through). */
export function withOsContext<T>(what: string, target: string, source: string | undefined, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isOsError(e)) throw new OsError(what, target, e, source);
    throw e;
  }
}
