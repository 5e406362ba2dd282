/**
 * Exclusive locks on run folders and sweep folders, so that two processes never
 * write one folder: two `train --resume` of one run, a resume while the run is still going, two local
 * sweeps of one file. Built on proper-lockfile: the lock is the folder `<dir>/.lock` (mkdir is atomic),
 * whose mtime the holder refreshes every 10 s; a lock not refreshed for 60 s is stale (a holder on
 * another machine that died). On this machine a lock whose holder process is gone (kill -9) is taken
 * over at once: `<dir>/.lock-owner.json` records the holder's pid and host.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import lockfile from "proper-lockfile";
import { InputError } from "../core/errors.js";

export const LOCK_DIR = ".lock";
export const LOCK_OWNER = ".lock-owner.json";
/** Names a lock leaves in a folder (ignored when deciding whether a folder is empty). */
export const lockEntries: readonly string[] = [LOCK_DIR, LOCK_OWNER];

const STALE_MS = 60_000;
const UPDATE_MS = 10_000;

export interface LockOwner {
  pid: number;
  host: string;
  since: string;
  command: string;
}

/** The folder is held by another live process. */
export class FolderLockedError extends InputError {
  constructor(
    readonly dir: string,
    readonly owner: LockOwner | undefined,
    doing: string,
  ) {
    const who = owner
      ? `process ${owner.pid}${owner.host !== os.hostname() ? ` on ${owner.host}` : ""} (maestro ${owner.command}, since ${owner.since})`
      : "another process";
    super(
      `${dir}: in use by ${who}; cannot ${doing} it at the same time. Wait for that process to finish or stop it, then try again.`,
      dir,
    );
    this.name = "FolderLockedError";
  }
}

export interface FolderLock {
  readonly dir: string;
  /** Set when the lock was lost (its mtime changed under us: another process took it as stale). */
  compromised?: Error;
  release(): Promise<void>;
}

function readOwner(dir: string): LockOwner | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, LOCK_OWNER), "utf8")) as LockOwner;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The holder of this machine's lock is gone (killed): its lock can be taken over now. */
function deadHolder(owner: LockOwner | undefined): boolean {
  return owner !== undefined && owner.host === os.hostname() && owner.pid !== process.pid && !alive(owner.pid);
}

const options = (dir: string) => ({ lockfilePath: path.join(dir, LOCK_DIR), realpath: false, stale: STALE_MS, update: UPDATE_MS });

/**
 * Takes the lock of an existing folder or throws {@link FolderLockedError} naming the holder's pid.
 * `doing` says what this process wanted ("resume", "train into", "run the sweep in").
 */
export async function lockFolder(dir: string, doing: string): Promise<FolderLock> {
  const handle: { dir: string; compromised?: Error; release(): Promise<void> } = { dir, release: async () => {} };
  const opts = { ...options(dir), onCompromised: (e: Error) => void (handle.compromised = e) };
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dir, opts);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ELOCKED") throw e;
    const owner = readOwner(dir);
    if (!deadHolder(owner)) throw new FolderLockedError(dir, owner, doing);
    // the holder was killed (no chance to release): its lock is stale now, not in 60 s
    fs.rmSync(path.join(dir, LOCK_DIR), { recursive: true, force: true });
    try {
      release = await lockfile.lock(dir, opts);
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === "ELOCKED") throw new FolderLockedError(dir, readOwner(dir), doing);
      throw e2;
    }
  }
  const owner: LockOwner = {
    pid: process.pid,
    host: os.hostname(),
    since: new Date().toISOString(),
    command: process.argv.slice(2).join(" "),
  };
  fs.writeFileSync(path.join(dir, LOCK_OWNER), JSON.stringify(owner) + "\n");
  handle.release = async () => {
    if (readOwner(dir)?.pid === process.pid) fs.rmSync(path.join(dir, LOCK_OWNER), { force: true });
    try {
      await release();
    } catch {
      // already released or compromised: nothing left to undo
    }
  };
  return handle;
}

/** The live holder of a folder's lock, or undefined when nobody (alive) holds it. */
export function folderHolder(dir: string): LockOwner | { pid: undefined } | undefined {
  if (!fs.existsSync(path.join(dir, LOCK_DIR))) return undefined;
  let locked: boolean;
  try {
    locked = lockfile.checkSync(dir, options(dir));
  } catch {
    return undefined;
  }
  if (!locked) return undefined;
  const owner = readOwner(dir);
  if (deadHolder(owner)) return undefined;
  if (owner?.pid === process.pid) return undefined;
  return owner ?? { pid: undefined };
}
