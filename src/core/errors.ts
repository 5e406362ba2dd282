import type { z } from "zod";
import { knownFields, nearest } from "./suggest.js";

/**
 * An error in user input (config, dataset, agent definition, sweep file): names the file, the path
 * inside it and what was expected. The CLI prints `message` alone, without a stack.
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

export interface ZodErrorContext {
  /** Path prefix of the parsed value inside the file (e.g. `agents.2`). */
  prefix?: string;
  /** The schema and the value it rejected: an unknown field gets the nearest known field suggested. */
  schema?: z.ZodType;
  raw?: unknown;
  /**
   * Where the value of a field came from when that was not the file itself, e.g. `--set algo.lr=abc`
   * for a value given on the command line; the message then names that instead of the file.
   */
  sourceOf?(field: string): string | undefined;
}

/**
 * Turns a zod error into an {@link InputError} listing every problem as `file: field: message` (or
 * `--set key=value: message` for a value from the command line), with "did you mean" for unknown fields.
 */
export function zodToInputError(file: string, error: z.ZodError, ctx: ZodErrorContext | string = {}): InputError {
  const c: ZodErrorContext = typeof ctx === "string" ? { prefix: ctx } : ctx;
  const prefix = c.prefix ? c.prefix.split(".") : [];
  const lines = error.issues.map((iss) => {
    let fields = [issuePath([...prefix, ...iss.path])];
    let msg = iss.message;
    if (iss.code === "unrecognized_keys") {
      const keys = (iss as { keys: string[] }).keys;
      fields = keys.map((k) => (fields[0] === "(top level)" ? k : `${fields[0]}.${k}`));
      msg = `unknown field${keys.length > 1 ? "s" : ""} (not in the schema; check the spelling)`;
      if (c.schema) {
        const known = knownFields(c.schema, iss.path, c.raw);
        const base = issuePath([...prefix, ...iss.path]);
        const hints = keys.flatMap((k) => {
          const n = nearest(k, known);
          return n === undefined ? [] : [`"${base === "(top level)" ? n : `${base}.${n}`}"`];
        });
        if (hints.length > 0) msg += `; did you mean ${hints.join(", ")}?`;
      }
    }
    const field = fields.join(", ");
    const source = fields.map((f) => c.sourceOf?.(f)).find((x) => x !== undefined);
    if (source === undefined) return `${file}: ${field}: ${msg}`;
    // `--set algo.lr=abc: expected number`; a sub-field of the value keeps its path
    return fields.length === 1 && source.includes(` ${field}=`) ? `${source}: ${msg}` : `${source}: ${field}: ${msg}`;
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
  return (
    e instanceof Error && typeof (e as NodeJS.ErrnoException).code === "string" && /^E[A-Z]+$/.test((e as NodeJS.ErrnoException).code!)
  );
}

/**
 * An operating-system error wrapped with what maestro was doing, the path, and which option or config
 * field named that path: `cannot write checkpoint runs/x/checkpoints/update-000003
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
    const reason = code
      ? `${osReasons[code] ?? e.message} (${code}${e.syscall ? ` in ${e.syscall}` : ""}${e.path && e.path !== target ? ` of ${e.path}` : ""})`
      : ((cause as Error)?.message ?? String(cause));
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
