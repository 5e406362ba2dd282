/**
 * The package as another project meets it: `npm pack` of this repository, the tarball installed into a
 * clean temporary folder (outside the repository, so nothing resolves to the checkout), then the complete
 * example of docs/library.md run there — train from a config object with an onUpdate callback, load the
 * run, solve — plus the `maestro` bin, the shipped configs and agents, and the TypeScript types.
 *
 * Slow-ish (an install of every dependency): npm is asked to use its cache only (`--offline`); where the
 * cache lacks a package (a machine that never installed it), it falls back to the registry.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../helpers.js";

const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as {
  name: string;
  version: string;
  bin: Record<string, string>;
};
const work = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-package-"));
const app = path.join(work, "app");
let tarball = "";
let packed: string[] = [];

function run(cmd: string, args: string[], cwd: string, timeout = 300_000) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout, env: { ...process.env, npm_config_update_notifier: "false" } });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", error: r.error };
}

/** The fenced ```js blocks of docs/library.md, by the file name on their first line (`// calc.mjs`). */
function docBlocks(): Record<string, string> {
  const text = fs.readFileSync(path.join(repoRoot, "docs", "library.md"), "utf8");
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/```js\n([\s\S]*?)```/g)) {
    const name = m[1]!.split("\n")[0]!.match(/^\/\/ (\S+\.mjs)$/)?.[1];
    if (name) out[name] = m[1]!;
  }
  return out;
}

beforeAll(() => {
  if (!fs.existsSync(path.join(repoRoot, "dist", "index.js")) || !fs.existsSync(path.join(repoRoot, "dist", "bin", "maestro.js"))) {
    throw new Error("dist/ missing: vitest builds it (test/setup/bundle.ts), or run `npm run build`");
  }
  // the dist/ as built (the test globalSetup builds it when stale); --ignore-scripts: no second build inside npm pack
  const p = run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], repoRoot);
  expect(p.status, p.stderr).toBe(0);
  const info = (JSON.parse(p.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>)[0]!;
  tarball = path.join(work, info.filename);
  packed = info.files.map((f) => f.path);

  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2));
  // a project of its own under git: the run's manifest must not report this project's commit as maestro's
  for (const args of [
    ["init", "-q"],
    ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "consumer"],
  ]) {
    expect(run("git", args, app).status).toBe(0);
  }
  // --ignore-scripts: tfjs-node's optional download of libtensorflow is skipped (maestro then runs on wasm)
  const flags = ["install", "--no-audit", "--no-fund", "--ignore-scripts"];
  let inst = run("npm", [...flags, "--offline", tarball], app, 600_000);
  if (inst.status !== 0 && /ENOTCACHED/.test(inst.stderr)) inst = run("npm", [...flags, "--prefer-offline", tarball], app, 600_000);
  expect(inst.status, inst.stderr).toBe(0);
}, 900_000);

afterAll(() => fs.rmSync(work, { recursive: true, force: true }), 300_000);

describe(`the npm package (${pkg.name})`, () => {
  it("ships the built library with its types, the bin, configs and agents (the module example too), and no sources or tests", () => {
    for (const f of [
      "package.json",
      "dist/index.js",
      "dist/index.d.ts",
      "dist/bin/maestro.js",
      "configs/doa-mvp.yaml",
      "configs/calculator-arithmetic.yaml",
      "agents/terminator.yaml",
      "agents/examples/calculator.ts",
      "agents/examples/money.ts",
    ]) {
      expect(packed, f).toContain(f);
    }
    expect(packed.filter((f) => /^(src|test|runs|node_modules)\//.test(f))).toEqual([]);
    expect(pkg.name).not.toBe("maestro");
    expect(Object.keys(pkg.bin)).toEqual(["maestro"]);
    const installed = JSON.parse(fs.readFileSync(path.join(app, "node_modules", pkg.name, "package.json"), "utf8")) as { version: string };
    expect(installed.version).toBe(pkg.version);
  });

  it("runs the complete example of docs/library.md: trains from a config object with onUpdate, loads the run, solves", () => {
    const blocks = docBlocks();
    expect(Object.keys(blocks).sort()).toEqual(["calc.mjs", "example.mjs"]);
    expect(blocks["example.mjs"]).toContain(`from "${pkg.name}"`);
    for (const [name, code] of Object.entries(blocks)) fs.writeFileSync(path.join(app, name), code);
    const r = run(process.execPath, ["example.mjs"], app);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    // onUpdate printed every 5th of the 20 updates
    expect(lines.filter((l) => /^update \d+\/20: return -?\d\.\d{3}, success \d\.\d{2}$/.test(l)).map((l) => l.split(":")[0])).toEqual([
      "update 5/20",
      "update 10/20",
      "update 15/20",
      "update 20/20",
    ]);
    const done = lines.find((l) => l.startsWith("completed: "));
    expect(done).toBeDefined();
    const runDir = done!.slice("completed: ".length).split(",")[0]!;
    expect(runDir).toMatch(/^runs\/library-example\/\d{8}-\d{6}-seed0$/);
    expect(Number(done!.match(/final success (\d\.\d\d)/)![1])).toBeGreaterThanOrEqual(0.8);
    expect(lines[lines.length - 1]).toBe("agents: calc → terminator; answer 14; success true; cost 0.01");

    // the run folder, made by the installed package: its module path absolute, its manifest the package's
    const dir = path.join(app, runDir);
    for (const f of ["config.yaml", "manifest.json", "metrics.csv", "summary.json"]) expect(fs.existsSync(path.join(dir, f)), f).toBe(true);
    expect(fs.readFileSync(path.join(dir, "config.yaml"), "utf8")).toContain(`module: ${path.join(fs.realpathSync(app), "calc.mjs")}`);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as {
      versions: { maestro: string };
      git: Record<string, unknown>;
    };
    expect(manifest.versions.maestro).toBe(pkg.version);
    expect(manifest.git).toEqual({});
  }, 300_000);

  it("the maestro bin of the installed package trains a shipped config, with TypeScript module agents", () => {
    const bin = path.join(app, "node_modules", ".bin", "maestro");
    const v = run(bin, ["--version"], app);
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe(pkg.version);
    const config = path.join(app, "node_modules", pkg.name, "configs", "calculator-arithmetic.yaml");
    const t = run(bin, ["train", config, "--run-dir", "runs/calc", "--set", "train.updates=2", "--set", "log.plot=false"], app);
    expect(t.status, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/done: 2 updates/);
    const summary = JSON.parse(fs.readFileSync(path.join(app, "runs", "calc", "summary.json"), "utf8")) as { status: string };
    expect(summary.status).toBe("completed");
  }, 120_000);

  it("its TypeScript types check a consumer's code (train, loadConfig, loadOrchestrator, a module agent)", () => {
    fs.writeFileSync(
      path.join(app, "check.ts"),
      `import { train, loadConfig, loadOrchestrator, type ModuleAgentInput, type ModuleAgentResult, type RunSummary, type OrchestrationTrace } from "${pkg.name}";
export function agent(input: ModuleAgentInput): ModuleAgentResult {
  return { answer: input.task.prompt.length, cost: 0.1, tokens: { input: 1, output: 1 } };
}
export async function main(): Promise<OrchestrationTrace> {
  const config = loadConfig({ name: "x" }, { dir: "." });
  const s: RunSummary = await train({ config, onUpdate: (row, total) => console.log(row.update, total) });
  const o = await loadOrchestrator(s.runDir);
  return o.solve("task");
}
// @ts-expect-error: a module agent's result needs a numeric cost
export const bad: ModuleAgentResult = { cost: "1" };
`,
    );
    fs.writeFileSync(
      path.join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "NodeNext",
          moduleResolution: "NodeNext",
          target: "ES2022",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ["check.ts"],
      }),
    );
    const tsc = path.join(repoRoot, "node_modules", "typescript", "bin", "tsc");
    const r = run(process.execPath, [tsc, "-p", "tsconfig.json"], app);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  }, 120_000);
});
