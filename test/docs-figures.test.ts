import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/load.js";
import { solveOracle } from "../src/analysis/oracle.js";
import { repoRoot } from "./helpers.js";

// The figures of the docs must match the code: every measured table names the script that regenerates
// it, the oracle figures quoted in the text are the oracle's, and each bench-optimality table lists exactly
// the rows its command measures. The pages are read as one text (README.md, then docs/**.md), each page
// starting with its file name so that messages can name it.

const pageFiles = [
  "README.md",
  ...fs
    .readdirSync(path.join(repoRoot, "docs"), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`),
];
const lines: string[] = [];
/** The page and line within it of each line of `lines`. */
const origin: string[] = [];
for (const f of pageFiles) {
  fs.readFileSync(path.join(repoRoot, f), "utf8")
    .split("\n")
    .forEach((l, i) => {
      lines.push(l);
      origin.push(`${f}:${i + 1}`);
    });
  // a page break: no table or context runs across it
  lines.push("# (page break)");
  origin.push(`${f}:end`);
}
const readme = lines.join("\n");

interface Table {
  /** 0-based line of the header row. */
  start: number;
  end: number;
  header: string[];
  rows: string[][];
}

const cells = (line: string) =>
  line
    .replace(/^\|/, "")
    .replace(/\|$/, "")
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());

function tables(): Table[] {
  const out: Table[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.startsWith("|") || (i > 0 && lines[i - 1]!.startsWith("|"))) continue;
    let j = i;
    while (j < lines.length && lines[j]!.startsWith("|")) j++;
    out.push({ start: i, end: j, header: cells(lines[i]!), rows: lines.slice(i + 2, j).map(cells) });
    i = j;
  }
  return out;
}

/** A table of measured figures: some cell after the first is a plain number (possibly bold, ± or with a unit). */
const isMeasured = (t: Table) => t.rows.some((r) => r.slice(1).some((c) => /^\**-?\d[\d,.]*(e-?\d+)?\**( ± | s\b| \(|×|$)/.test(c)));

/** The text a table is introduced by: back to the previous heading or table, plus the lines right after it. */
function context(t: Table): string {
  let i = t.start - 1;
  while (i >= 0 && !lines[i]!.startsWith("#") && !lines[i]!.startsWith("|")) i--;
  let j = t.end;
  while (j < lines.length && j < t.end + 6 && !lines[j]!.startsWith("#") && !lines[j]!.startsWith("|")) j++;
  return lines.slice(i + 1, j).join("\n");
}

describe("the figures of README.md and docs/", () => {
  it("every table of measured figures names an existing script that regenerates it", () => {
    const measured = tables().filter(isMeasured);
    expect(measured.length).toBeGreaterThanOrEqual(10);
    for (const t of measured) {
      // a script that prints the figures, or the test that computes and checks them
      const sources = [...context(t).matchAll(/((?:scripts\/[\w.-]+\.mjs)|(?:test\/[\w.-]+\.test\.ts))/g)].map((m) => m[1]!);
      expect(
        sources.length,
        `${origin[t.start]} (${lines[t.start]}): no scripts/*.mjs (or test/*.test.ts) named next to the table`,
      ).toBeGreaterThan(0);
      for (const s of sources) expect(fs.existsSync(path.join(repoRoot, s)), `${s} (${origin[t.start]})`).toBe(true);
    }
  });

  it("the budget, J_R* and λ* quoted for each sim config are what `maestro oracle` computes", async () => {
    const quotes = [
      ...readme.matchAll(/`configs\/([\w-]+\.yaml)`:(?:(?!`configs\/)[\s\S])*?budget ([\d.]+) \(binds: J_R\* = ([\d.]+), λ\* = ([\d.]+)/g),
    ];
    expect(quotes.map((q) => q[1]).sort()).toEqual(["sim-bandit.yaml", "sim-budget.yaml", "sim-tiers-specialists.yaml", "sim-tiers.yaml"]);
    for (const [, file, budget, jr, lambda] of quotes) {
      const config = loadConfig(path.join(repoRoot, "configs", file!));
      const o = await solveOracle(config, file!);
      expect(o.budget, `${file} budget`).toBe(Number(budget));
      expect(o.mode).toBe("constrained");
      expect(o.budgetBinds, `${file} binds`).toBe(true);
      const digits = (s: string) => s.split(".")[1]?.length ?? 0;
      expect(o.taskReturn.toFixed(digits(jr!)), `${file} J_R*`).toBe(jr);
      expect(o.lambda.toFixed(digits(lambda!)), `${file} λ*`).toBe(lambda);
    }
  });

  it("each bench-optimality table lists the rows its command measures, with the oracle's value*", async () => {
    const benchTables = tables().filter(
      (t) => t.header.join("|") === "config|trainer|problem|value*|value / value*|J_C / d|final λ|episodes",
    );
    expect(benchTables.length).toBe(2);
    for (const t of benchTables) {
      // the command closest above the table
      const before = context(t).split(lines[t.start]!)[0]!;
      const cmds = [...before.matchAll(/`node scripts\/bench-optimality\.mjs ([^`]+)`/g)];
      expect(cmds.length, `${origin[t.start]}: the bench-optimality command of this table`).toBeGreaterThan(0);
      const args = cmds[cmds.length - 1]![1]!.split(/\s+/);
      const list = spawnSync(process.execPath, [path.join(repoRoot, "scripts", "bench-optimality.mjs"), ...args, "--list"], {
        cwd: repoRoot,
        encoding: "utf8",
      });
      expect(list.status, list.stderr).toBe(0);
      expect(
        t.rows.map((r) => `${r[0]} ${r[1]}`),
        `${origin[t.start]}`,
      ).toEqual(list.stdout.trim().split("\n"));
      const sets = args.flatMap((a, i) => (args[i - 1] === "--set" ? [a] : []));
      for (const r of t.rows) {
        const config = loadConfig(path.join(repoRoot, "configs", r[0]!), { sets: [`algo.name=${r[1]}`, ...sets] });
        const o = await solveOracle(config, r[0]!);
        expect(r[2], `${r[0]} ${r[1]} problem`).toBe(o.mode);
        expect(r[3], `${r[0]} ${r[1]} value*`).toBe(o.value.toFixed(4));
      }
    }
  });

  it("uses one form for commands: npx maestro", () => {
    const bare = lines
      .map((l, i) => [origin[i], l] as const)
      .filter(([, l]) =>
        /(?<!npx )(?<![\w/.-])maestro (train|eval|sweep|worker|plot|orchestrate|sim-server|oracle|config|completion|serve|curve)\b/.test(l),
      );
    expect(bare).toEqual([]);
  });
});
