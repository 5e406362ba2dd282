import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

function pkgVersion(name: string): string | undefined {
  // walk up from the package root: works for a checkout and for an installed package
  let dir = packageRoot;
  for (;;) {
    const file = path.join(dir, "node_modules", name, "package.json");
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }).version;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

export function maestroVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(packageRoot, "package.json"), "utf8")) as { version: string }).version;
}

/** Only a checkout of maestro itself has a git state: an installed package must not report the enclosing project's commit. */
const isCheckout = () => fs.existsSync(path.join(packageRoot, ".git"));

// one git process for both facts (each spawn costs ~15 ms of a run's start-up): the v2 porcelain header
// "# branch.oid <commit>" (or "(initial)"), then one line per changed tracked file
const statusArgs = ["status", "--porcelain=v2", "--branch", "--untracked-files=no"];

/** The commit of a checkout and whether tracked files differ from it ({} outside a checkout or without git). */
export interface GitState {
  commit?: string;
  dirty?: boolean;
}

function parseStatus(out: string | undefined): GitState {
  const lines = out === undefined ? [] : out.split("\n").filter(Boolean);
  const oid = lines.find((l) => l.startsWith("# branch.oid "))?.slice("# branch.oid ".length);
  const commit = oid && /^[0-9a-f]{7,}$/.test(oid) ? oid : undefined;
  const status = lines.filter((l) => !l.startsWith("#")).join("\n");
  return commit ? { commit, dirty: status.length > 0 } : {};
}

/** {@link GitState}, read now. */
export function gitState(): GitState {
  if (!isCheckout()) return {};
  try {
    return parseStatus(
      execFileSync("git", statusArgs, { cwd: packageRoot, stdio: ["ignore", "pipe", "ignore"] })
        .toString()
        .trim(),
    );
  } catch {
    return {};
  }
}

/**
 * {@link GitState} from a git process that runs while the caller goes on: a run starts it before loading
 * tfjs and its backend, so that git's ~50–80 ms (wall, on a busy machine) overlap them. Never rejects.
 */
export function gitStateInBackground(): Promise<GitState> {
  if (!isCheckout()) return Promise.resolve({});
  return new Promise((resolve) => {
    execFile("git", statusArgs, { cwd: packageRoot }, (err, stdout) => resolve(err ? {} : parseStatus(stdout.trim())));
  });
}

export interface Manifest {
  name: string;
  seed: number;
  backend: string;
  startTime: string;
  command: string[];
  versions: Record<string, string | undefined>;
  git: { commit?: string; dirty?: boolean };
  resumes: string[];
}

/**
 * The facts a run records about how it was made (versions, backend, seed, git commit, start time);
 * `git` when the caller read it already ({@link gitStateInBackground}), else it is read now.
 */
export function makeManifest(name: string, seed: number, backend: string, git: GitState = gitState()): Manifest {
  return {
    name,
    seed,
    backend,
    startTime: new Date().toISOString(),
    command: process.argv.slice(1),
    versions: {
      maestro: maestroVersion(),
      node: process.versions.node,
      "@tensorflow/tfjs": pkgVersion("@tensorflow/tfjs"),
      "@tensorflow/tfjs-backend-wasm": pkgVersion("@tensorflow/tfjs-backend-wasm"),
      "@tensorflow/tfjs-node": pkgVersion("@tensorflow/tfjs-node"),
    },
    git,
    resumes: [],
  };
}
