import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot, runCli } from "./helpers.js";

const docs = fs.readFileSync(path.join(repoRoot, "docs", "cli.md"), "utf8");
/** GitHub's anchors of the page's headings. */
const anchors = new Set(
  [...docs.matchAll(/^##+ (.+)$/gm)].map((m) =>
    m[1]!
      .trim()
      .toLowerCase()
      .replace(/[^a-z0-9 -]/g, "")
      .replace(/ /g, "-"),
  ),
);
const shell = { npm_command: "", npm_lifecycle_event: "", MAESTRO_COMMAND: "" };

describe("--help of every command has examples and names its docs page", () => {
  const commands: Array<[string, string]> = [
    ["train", "train"],
    ["eval", "eval"],
    ["orchestrate", "orchestrate"],
    ["serve", "serve"],
    ["curve", "curve"],
    ["sweep", "sweep-and-worker"],
    ["worker", "sweep-and-worker"],
    ["plot", "plot"],
    ["oracle", "oracle"],
    ["sim-server", "sim-server"],
    ["config", "config-and-completion"],
  ];
  it.each(commands)("%s --help", (cmd, section) => {
    const r = runCli([cmd, "--help"], { env: shell });
    expect(r.status, r.stderr).toBe(0);
    const examples = r.stdout.slice(r.stdout.indexOf("Examples:"));
    expect(r.stdout).toContain("Examples:");
    // examples in the form the user typed, for this command
    expect(examples).toContain(`node dist/bin/maestro.js ${cmd}`);
    expect(r.stdout).toContain(`Docs: docs/cli.md#${section}`);
    expect(anchors.has(section), `docs/cli.md has a section #${section}`).toBe(true);
  });

  it("the top-level help names the docs page", () => {
    const r = runCli(["--help"], { env: shell });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("Docs: docs/cli.md");
  });
});

describe("node scripts/*.mjs --help prints usage, not a stack trace", () => {
  const scripts = fs.readdirSync(path.join(repoRoot, "scripts")).filter((f) => f.endsWith(".mjs"));
  it.each(scripts)("%s", (name) => {
    const r = spawnSync(process.execPath, [path.join("scripts", name), "--help"], { cwd: repoRoot, encoding: "utf8", timeout: 60_000 });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith(`usage: node scripts/${name} [options]\n\n`)).toBe(true);
    // the script's own header comment follows, not an empty usage
    expect(r.stdout.trim().split("\n").length).toBeGreaterThan(3);
  });

  it("a bad option prints the message and the usage, exit 2", () => {
    const r = spawnSync(process.execPath, ["scripts/bench-startup-vs-doa.mjs", "--no-such-option"], { cwd: repoRoot, encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error: Unknown option '--no-such-option'/);
    expect(r.stderr).toContain("usage: node scripts/bench-startup-vs-doa.mjs");
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});
