import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliPath, removeTmpDirs, repoRoot, runCli, tmpDir } from "./helpers.js";

afterAll(removeTmpDirs);

/**
 * Runs the CLI with stdout and stderr on pipes that nobody reads for `delayMs` (a slow consumer, such as
 * `| python -m json.tool` starting up), then reads them to the end.
 */
function runIntoSlowPipe(args: string[], delayMs = 400): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    // nothing is read for delayMs: the child's writes wait in the pipe (64 KiB), then block
    child.stdout.pause();
    child.stderr.pause();
    setTimeout(() => {
      child.stdout.resume();
      child.stderr.resume();
    }, delayMs);
    child.on("error", reject);
    // "close": the child exited and both pipes reached their end
    child.on("close", (code) =>
      resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }),
    );
  });
}

describe("output reaches a pipe whole", () => {
  let run = "";
  let tasks = "";
  const n = 700;
  beforeAll(() => {
    const dir = tmpDir("pipe");
    run = path.join(dir, "run");
    const r = runCli(["train", "configs/doa-mvp.yaml", "--run-dir", run, "--quiet", "--set", "train.updates=2", "--set", "log.plot=false"]);
    expect(r.status, r.stderr).toBe(0);
    tasks = path.join(dir, "tasks.jsonl");
    fs.writeFileSync(
      tasks,
      Array.from({ length: n }, (_, i) =>
        JSON.stringify({ id: `t${i}`, prompt: `Describe item number ${i} of a long list, in a few words` }),
      ).join("\n") + "\n",
    );
  }, 120_000);

  it("--json output far past 64 KiB parses completely", async () => {
    const r = await runIntoSlowPipe(["orchestrate", "--run", run, "--tasks", tasks, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(2 * 65536);
    const traces = JSON.parse(r.stdout) as Array<{ task: { id: string } }>;
    expect(traces).toHaveLength(n);
    expect(traces[n - 1]!.task.id).toBe(`t${n - 1}`);
  }, 120_000);

  it("a table far past 64 KiB arrives to its last line", async () => {
    const r = await runIntoSlowPipe(["orchestrate", "--run", run, "--tasks", tasks]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(65536);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.filter((l) => l.startsWith("task t"))).toHaveLength(n);
    expect(lines[lines.length - 1]).toMatch(new RegExp(`^${n} tasks: `));
  }, 120_000);

  it("an error after a large output still arrives, with its exit code", async () => {
    // the config reference is printed in full to a pipe; a bad command prints usage to stderr, exit 2
    const ok = await runIntoSlowPipe(["config"]);
    expect(ok.code).toBe(0);
    expect(ok.stdout.trimEnd().split("\n").pop()).toMatch(/^\| `knob` \|/);
    const bad = await runIntoSlowPipe(["trian"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Unknown command "trian"');
  }, 60_000);
});
