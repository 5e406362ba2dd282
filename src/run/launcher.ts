/**
 * Stop when the launcher goes away. `npx maestro serve &` followed by `kill %1` signals npm, which
 * does not pass SIGTERM on to the command it started: the real server kept running, orphaned, on its
 * port. Long-running commands (serve, sim-server, worker, train) call {@link exitWithLauncher} at
 * start; when the package-manager launcher that started them (npm/npx/pnpm/yarn/bun, through any
 * `sh -c` wrapper between) exits, the process raises SIGTERM on itself, so its own SIGTERM handling
 * (drain, save the run's state) runs exactly as if the signal had been passed on.
 *
 * Only launchers are watched, not any parent: `nohup node dist/bin/maestro.js serve &` from a script
 * that then exits is meant to keep running. MAESTRO_NO_LAUNCHER_WATCH=1 turns the watch off.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

interface Proc {
  pid: number;
  ppid: number;
  argv: string[];
}

/** pid, parent pid and command line of a process (Linux /proc; elsewhere `ps`); undefined if it is gone. */
function readProc(pid: number): Proc | undefined {
  if (fs.existsSync("/proc/self/stat")) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      // the command name (field 2) may hold spaces and parentheses: the fields after its last ")"
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const raw = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
      // a process that set its title (npm: "npm exec maestro ...") may have one space-joined string
      let argv = raw.split("\0").filter((s) => s !== "");
      if (argv.length === 1) argv = argv[0]!.split(" ");
      // the name set with the title (npm: "npm exec maest…") when the command line says nothing
      if (argv.length === 0) argv = fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim().split(" ");
      return { pid, ppid, argv };
    } catch {
      return undefined;
    }
  }
  try {
    const out = execFileSync("ps", ["-o", "ppid=,args=", "-p", String(pid)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    const m = /^(\d+)\s+(.*)$/.exec(out);
    return m ? { pid, ppid: Number(m[1]), argv: m[2]!.split(/\s+/) } : undefined;
  } catch {
    return undefined;
  }
}

const launcherName = /^(npm|npx|pnpm|pnpx|yarn|bun|bunx)(-cli)?(\.c?js)?$/;
const shells = new Set(["sh", "bash", "dash", "zsh", "ash", "ksh"]);

/** What a process is to us: a package-manager launcher, a `sh -c` wrapper, or anything else. */
export function classify(argv: readonly string[]): "launcher" | "wrapper" | "other" {
  const names = argv.slice(0, 2).map((a) => path.basename(a));
  // npm run as `node .../npm-cli.js exec ...` or with its title set to "npm exec ..."
  if (launcherName.test(names[0] ?? "") || (/^node(js)?$/.test(names[0] ?? "") && launcherName.test(names[1] ?? ""))) return "launcher";
  if (shells.has(names[0] ?? "") && argv[1] === "-c") return "wrapper";
  return "other";
}

/**
 * The launcher chain above this process: its ancestors while they are `sh -c` wrappers or launchers,
 * if at least one of them is a launcher (else []). At most 6 levels up.
 */
export function launcherChain(startPid: number = process.ppid): Array<{ pid: number; argv: string[] }> {
  const chain: Proc[] = [];
  let pid = startPid;
  for (let depth = 0; depth < 6 && pid > 1; depth++) {
    const p = readProc(pid);
    if (!p || classify(p.argv) === "other") break;
    chain.push(p);
    pid = p.ppid;
  }
  return chain.some((p) => classify(p.argv) === "launcher") ? chain.map(({ pid, argv }) => ({ pid, argv })) : [];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, it is just not ours
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Watches the launcher chain (once a second, on an unref'd timer): when a process of it exits, or this
 * process is re-parented, writes one line to stderr and sends SIGTERM to this process. Returns a
 * function that stops watching; does nothing when no launcher started this process.
 */
export function exitWithLauncher(command: string, o: { intervalMs?: number; log?: (line: string) => void } = {}): () => void {
  if (process.env.MAESTRO_NO_LAUNCHER_WATCH === "1") return () => undefined;
  let chain = launcherChain();
  let ppid = process.ppid;
  // a launcher caught while it sets its title can read as "other": look again on the first ticks
  let lookAgain = chain.length === 0 ? 5 : 0;
  const log = o.log ?? ((line: string) => process.stderr.write(line + "\n"));
  if (process.env.MAESTRO_DEBUG) log(`${command}: launcher chain ${JSON.stringify(chain)} (parent pid ${ppid})`);
  const timer = setInterval(() => {
    if (chain.length === 0) {
      if (lookAgain-- <= 0) return clearInterval(timer);
      chain = launcherChain();
      ppid = process.ppid;
      return;
    }
    const gone = chain.find((p) => !alive(p.pid));
    if (!gone && process.ppid === ppid) return;
    clearInterval(timer);
    const who = gone ?? chain[0]!;
    log(`${command}: its launcher (${who.argv.slice(0, 3).join(" ")}, pid ${who.pid}) went away; stopping as on SIGTERM`);
    process.kill(process.pid, "SIGTERM");
  }, o.intervalMs ?? 1000);
  timer.unref();
  return () => clearInterval(timer);
}
