/**
 * The newcomer walk-through: every command of docs/getting-started.md (its fenced ```sh blocks, in
 * order) run in a fresh copy of the repository, so the page cannot drift from the program. A renamed
 * option, command or config makes its step exit non-zero and this test fail, naming the step.
 *
 * The copy holds the files git tracks (plus new files not yet added, as a clone of the working tree
 * would), without dist/ or runs/. One step is replaced, and only one: `npm install`, which would download
 * every dependency, reuses this checkout's node_modules (a symlink) and then does what its `prepare`
 * script does, `npm run build` — the long step (tsc and the bundle of the `maestro` command; ~20–60 s).
 * Every other line runs as written, through `bash -c`, with the copy as working folder.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../helpers.js";

const page = path.join(repoRoot, "docs", "getting-started.md");

/** The commands of the page's ```sh blocks, one per line (blank lines and # comments dropped, `\` continuations joined). */
function shellSteps(markdown: string): string[] {
  const steps: string[] = [];
  for (const m of markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    const joined = m[1]!.replace(/\\\n\s*/g, "");
    for (const line of joined.split("\n")) {
      const cmd = line.trim();
      if (cmd !== "" && !cmd.startsWith("#")) steps.push(cmd);
    }
  }
  return steps;
}

/** A copy of the working tree as a clone would have it: git's tracked and not-ignored files, nothing built. */
function copyOfRepository(dest: string): void {
  const r = spawnSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: repoRoot, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ls-files failed: ${r.stderr}`);
  for (const f of r.stdout.split("\0").filter(Boolean)) {
    const from = path.join(repoRoot, f);
    if (!fs.existsSync(from) || fs.statSync(from).isDirectory()) continue; // deleted in the working tree, or a submodule
    fs.mkdirSync(path.dirname(path.join(dest, f)), { recursive: true });
    fs.copyFileSync(from, path.join(dest, f));
  }
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-getting-started-"));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function run(cmd: string, cwd: string, timeout: number) {
  // npx must run this package's own bin, as on a user's machine: no npm_* variables of the test runner's npm
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("npm_")));
  const r = spawnSync("bash", ["-c", cmd], {
    cwd,
    encoding: "utf8",
    timeout,
    env: { ...env, npm_config_update_notifier: "false", CI: "true" },
  });
  return { status: r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? `\n${r.error.message}` : ""}` };
}

describe("docs/getting-started.md", () => {
  it("extracts the page's commands: one install step first, every maestro command with a concrete path", () => {
    expect(
      shellSteps(
        "text\n```sh\nnpm install\n```\n```text\nnot run\n```\n```sh\n# comment\nnpx maestro a \\\n  --b c\n\nnpx maestro d\n```\n",
      ),
    ).toEqual(["npm install", "npx maestro a --b c", "npx maestro d"]);
    const steps = shellSteps(fs.readFileSync(page, "utf8"));
    expect(steps[0]).toBe("npm install");
    expect(steps.filter((s) => s === "npm install")).toHaveLength(1);
    expect(steps.length).toBeGreaterThan(8);
    // a placeholder such as <run> cannot run: the page names its run folders
    for (const s of steps) expect(s, s).not.toMatch(/<[a-zA-Z]+>/);
  });

  it("runs every command of the page in order in a fresh copy of the repository", () => {
    const repo = path.join(work, "maestro");
    copyOfRepository(repo);
    expect(fs.existsSync(path.join(repo, "dist")), "the copy starts without dist/").toBe(false);
    const done: string[] = [];
    for (const step of shellSteps(fs.readFileSync(page, "utf8"))) {
      if (step === "npm install") {
        // replaced, see the comment at the top: this checkout's node_modules, then the `prepare` script (LONG: tsc + bundle)
        fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(repo, "node_modules"), "dir");
        const b = run("npm run build", repo, 600_000);
        expect(b.status, `npm install (its build step) failed:\n${b.out}`).toBe(0);
      } else {
        const r = run(step, repo, 300_000);
        expect(
          r.status,
          `docs/getting-started.md step ${done.length + 1} \`${step}\` failed (after: ${done.join("; ") || "nothing"}):\n${r.out}`,
        ).toBe(0);
      }
      done.push(step);
    }
    // what the page says the steps leave behind
    const run1 = path.join(repo, "runs", "getting-started", "doa-mvp");
    for (const f of ["config.yaml", "manifest.json", "metrics.csv", "summary.json", "plots/learning-curve.png", "plots/structure.png"]) {
      expect(fs.existsSync(path.join(run1, f)), f).toBe(true);
    }
    const summary = JSON.parse(fs.readFileSync(path.join(run1, "summary.json"), "utf8")) as { updates: number; status: string };
    expect(summary).toMatchObject({ updates: 60, status: "completed" }); // extended by the --resume step
  }, 900_000);
});
