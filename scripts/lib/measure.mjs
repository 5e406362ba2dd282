// One child process measured on its own, the same way for every benchmark that compares whole processes: a
// small Python wrapper runs it and reads its wall time, and its peak RSS and CPU time from
// getrusage(RUSAGE_CHILDREN), so a Node and a Python process are measured alike.
import { spawnSync } from "node:child_process";

const wrapper = `
import resource, subprocess, sys, time
t = time.perf_counter()
r = subprocess.run(sys.argv[2:], cwd=sys.argv[1], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
dt = time.perf_counter() - t
if r.returncode != 0:
    sys.stderr.write(r.stderr.decode()); sys.exit(r.returncode)
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(dt, u.ru_maxrss / 1024, u.ru_utime + u.ru_stime)
`;

/** Runs argv in cwd with `python` as the wrapper: wall seconds, peak RSS (MiB), CPU seconds (user + system). Throws with the child's stderr if it fails. */
export function measureProcess(python, cwd, argv) {
  const r = spawnSync(python, ["-c", wrapper, cwd, ...argv], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${argv.join(" ")} failed:\n${r.stderr}`);
  const [wall, rss, cpu] = r.stdout.trim().split(/\s+/).map(Number);
  return { wall, rss, cpu };
}
