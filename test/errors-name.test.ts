import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, removeTmpDirs, repoRoot, runCli, simLlmRawConfig, tmpDir } from "./helpers.js";
import YAML from "yaml";

afterAll(removeTmpDirs);

/** The environment of `node dist/bin/maestro.js …` typed in a shell (the test runner may run under npx). */
const plainShell = { npm_command: "", npm_lifecycle_event: "", MAESTRO_COMMAND: "" };

describe("errors name the thing", () => {
  let group = "";
  let run = "";
  beforeAll(() => {
    group = tmpDir("errname");
    run = path.join(group, "a-run");
    const r = runCli(["train", "configs/doa-mvp.yaml", "--run-dir", run, "--quiet", "--set", "train.updates=2", "--set", "log.plot=false"]);
    expect(r.status, r.stderr).toBe(0);
  }, 120_000);

  it("eval of a config file says it is a config and how to train it, not ENOTDIR", () => {
    const r = runCli(["eval", "configs/doa-mvp.yaml"], { env: plainShell });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("configs/doa-mvp.yaml: is a config file, not a run folder");
    expect(r.stderr).toContain("node dist/bin/maestro.js train configs/doa-mvp.yaml");
    expect(r.stderr).not.toContain("ENOTDIR");
    // the other commands that take a run folder say the same
    for (const args of [
      ["orchestrate", "--run", "configs/doa-mvp.yaml", "--task", "x"],
      ["curve", "configs/doa-mvp.yaml"],
    ]) {
      const o = runCli(args);
      expect(o.status, args.join(" ")).toBe(2);
      expect(o.stderr).toContain("is a config file, not a run folder");
    }
  });

  it("a folder that does not exist is called missing, with the nearest name", () => {
    const r = runCli(["eval", path.join(group, "a-rum")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${path.join(group, "a-rum")}: no such folder (did you mean "a-run"?)`);
    expect(r.stderr).not.toContain("no config.yaml");
    const o = runCli(["orchestrate", "--run", path.join(group, "nothing-here"), "--task", "x"]);
    expect(o.status).toBe(2);
    expect(o.stderr).toContain("no such folder");
  });

  it("a folder of runs given where one run is expected names one of them", () => {
    const r = runCli(["orchestrate", "--run", group, "--task", "x"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${group}: a folder of 1 run, not one run folder; give one of them (e.g. ${run})`);
  });

  it("resume hints print the command as it was invoked", () => {
    const asNode = runCli(["train", "--resume", run], { env: plainShell });
    expect(asNode.status).toBe(0);
    expect(asNode.stdout).toContain(`To train it further: node dist/bin/maestro.js train --resume ${run} --set train.updates=`);
    const asNpx = runCli(["train", "--resume", run], { env: { npm_command: "exec", npm_lifecycle_event: "npx" } });
    expect(asNpx.stdout).toContain(`To train it further: npx maestro train --resume ${run}`);
  });

  it("a dead LLM endpoint: the error names the base URL and suggests the simulated server", async () => {
    const dir = tmpDir("deadllm");
    const port = await freePort(); // nothing listens there
    const baseURL = `http://127.0.0.1:${port}/v1`;
    const cfg = path.join(dir, "llm.yaml");
    fs.writeFileSync(cfg, YAML.stringify(simLlmRawConfig({ name: "dead", baseURL, apiKeyEnv: "MAESTRO_TEST_KEY", dir })));
    const r = runCli(["train", cfg, "--run-dir", path.join(dir, "run"), "--quiet"], {
      env: { ...plainShell, MAESTRO_TEST_KEY: "sk-test" },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`model fast at ${baseURL}:`);
    expect(r.stderr).toContain(`Check that the LLM server is up (${baseURL}; a local simulated one: node dist/bin/maestro.js sim-server)`);
    expect(r.stderr).toContain(`then continue with: node dist/bin/maestro.js train --resume ${path.join(dir, "run")}`);
  }, 120_000);

  it("npm install on Node 20.19 meets every locked package's engines.node (no EBADENGINE)", () => {
    const semver = createRequire(import.meta.url)("semver") as { satisfies(v: string, r: string): boolean };
    const lock = JSON.parse(fs.readFileSync(path.join(repoRoot, "package-lock.json"), "utf8")) as {
      packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
    };
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { engines: { node: string } };
    // the lowest Node the package says it runs on
    expect(semver.satisfies("20.19.0", pkg.engines.node)).toBe(true);
    const bad = Object.entries(lock.packages)
      .filter(
        ([k, v]) => k !== "" && v.engines && !Array.isArray(v.engines) && v.engines.node && !semver.satisfies("20.19.0", v.engines.node),
      )
      .map(([k, v]) => `${k}@${v.version} needs node ${(v.engines as { node: string }).node}`);
    expect(bad).toEqual([]);
  });
});
