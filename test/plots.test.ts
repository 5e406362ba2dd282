import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { loadConfig } from "../src/config/load.js";
import { train } from "../src/run/train.js";
import { structureRecord, mergeRecords, structureSummary } from "../src/analysis/structure.js";
import { groupRuns } from "../src/plots/group.js";
import { heatmapPanel } from "../src/plots/heatmap.js";
import { plotPaths } from "../src/plots/command.js";
import { drawPanel, lineChart, palette, plotFont, renderPanels, scatterChart, seriesColours, type Series } from "../src/plots/render.js";
import { structurePanels } from "../src/plots/run.js";
import { formatParam, legendLabels } from "../src/plots/sweep.js";
import type { TrialOutcome } from "../src/sweep/summary.js";
import { isPng, removeTmpDirs, runCli, tmpDir } from "./helpers.js";

const require = createRequire(import.meta.url);

/** Pixels of a canvas region that are not (near) white. */
function inkIn(
  canvas: { getContext(t: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } },
  x: number,
  y: number,
  w: number,
  h: number,
): number {
  const d = canvas.getContext("2d").getImageData(x, y, w, h).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i + 3]! > 0 && d[i]! + d[i + 1]! + d[i + 2]! < 600) n++;
  return n;
}

describe("plot renderer (@napi-rs/canvas: what a fresh machine installs)", () => {
  it("renders a PNG with text in the bundled font, with no native build and no node-canvas", async () => {
    // the renderer a fresh `npm install` gets: prebuilt Skia from npm; node-canvas is not a dependency
    expect(() => require.resolve("canvas")).toThrow();
    expect(() => require.resolve("chartjs-node-canvas")).toThrow();
    const dir = tmpDir("render");
    const file = path.join(dir, "p", "chart.png");
    const x = [1, 2, 3, 4];
    await renderPanels([lineChart("Return per episode — λ ≤ 0.5", "update", "return", [{ label: "run", x, y: [0, 1, 0.5, 2] }])], file);
    expect(isPng(file)).toBe(true);
    const { GlobalFonts, loadImage, createCanvas } = await import("@napi-rs/canvas");
    expect(GlobalFonts.has(plotFont)).toBe(true);
    const img = await loadImage(fs.readFileSync(file));
    expect([img.width, img.height]).toEqual([900, 260]);
    const c = createCanvas(img.width, img.height);
    c.getContext("2d").drawImage(img, 0, 0);
    // the title (top 30 px, centred) is drawn: text needs a font, which the plots bring themselves
    expect(inkIn(c, 250, 0, 400, 30)).toBeGreaterThan(200);
    // no temp file left behind
    expect(fs.readdirSync(path.dirname(file))).toEqual(["chart.png"]);
  });

  it("gives distinct colours to any number of series", () => {
    expect(seriesColours(8)).toEqual(palette);
    for (const n of [1, 2, 9, 10, 13, 20, 21, 40, 64]) {
      const c = seriesColours(n);
      expect(c).toHaveLength(n);
      expect(new Set(c.map((x) => x.toLowerCase())).size).toBe(n);
      for (const x of c) expect(x).toMatch(/^#[0-9a-f]{6}$/i);
    }
    // lines of a 10-agent pool get 10 different colours
    const series: Series[] = Array.from({ length: 10 }, (_, i) => ({ label: `agent-${i}`, x: [0, 1], y: [i, i] }));
    const p = lineChart("usage", "update", "share", series);
    const colours = ("chart" in p ? p.chart : p).data.datasets.map((d) => d.borderColor);
    expect(new Set(colours).size).toBe(10);
  });

  it("heatmap: long agent names are never cut, in a pool of 13", async () => {
    const agents = [
      "retrieval-augmented-researcher",
      "code-reviewer",
      "mathematician-with-a-long-name",
      ...Array.from({ length: 9 }, (_, i) => `agent-${i}`),
      "terminator",
    ];
    const counts = [agents.map((_, j) => j + 1), ...agents.map((_, i) => agents.map((_, j) => (i + j) % 3))];
    const panel = heatmapPanel("Agent transitions", ["(episode start)", ...agents], agents, counts);
    const { chart } = await drawPanel(panel);
    try {
      const x = chart.scales.x!;
      const y = chart.scales.y!;
      // every label is shown whole (no ellipsis, none skipped)
      expect(x.ticks.map((t) => t.label)).toEqual(agents);
      expect(y.ticks.map((t) => t.label)).toEqual(["(episode start)", ...agents]);
      // and fits in the canvas: the y axis is wide enough for the longest name, the turned x labels stay below the title
      const ctx = chart.ctx;
      ctx.font = `12px ${plotFont}`;
      expect(y.width).toBeGreaterThanOrEqual(ctx.measureText("mathematician-with-a-long-name").width);
      expect(y.left).toBeGreaterThanOrEqual(0);
      expect(x.top).toBeGreaterThanOrEqual((chart as unknown as { titleBlock: { bottom: number } }).titleBlock.bottom - 1);
      expect(chart.chartArea.height / 14).toBeGreaterThanOrEqual(14); // rows stay readable
    } finally {
      chart.destroy();
    }
  });

  it("legends stay smaller than the plot: many entries, long labels", async () => {
    const long = (i: number) => `lr=${formatParam(0.000112 * (i + 1))}, entropyCoef=0.019, hidden=[128,128], costPenalty=0.${i}`;
    const x = Array.from({ length: 40 }, (_, i) => i + 1);
    for (const labels of [Array.from({ length: 8 }, (_, i) => long(i)), Array.from({ length: 14 }, (_, i) => `agent-${i}`)]) {
      const series: Series[] = labels.map((label, i) => ({ label, x, y: x.map((v) => v * i) }));
      for (const p of [
        lineChart("curves", "update", "return", series),
        scatterChart(
          "pareto",
          "cost",
          "success",
          labels.map((label, i) => ({ label, points: [{ x: i, y: i }] })),
        ),
      ]) {
        const { chart } = await drawPanel(p);
        try {
          const legend = chart.legend!;
          const area = chart.chartArea;
          if (legend.position === "right") expect(legend.width).toBeLessThan(area.width);
          else expect(legend.height).toBeLessThan(area.height);
          expect(area.height).toBeGreaterThan(150);
          // every entry is drawn
          expect(legend.legendItems!.length).toBe(labels.length);
        } finally {
          chart.destroy();
        }
      }
    }
  });
});

describe("multi-head structure", () => {
  const heads = [
    { name: "agent", choices: ["solver", "terminator"] },
    { name: "tier", choices: ["small", "large"] },
  ];

  it("counts the second head's choices per step and per agent, and merges and summarises them", () => {
    const episodes = [
      { agents: ["solver", "solver", "terminator"], options: [{ tier: "small" }, { tier: "large" }, { tier: "small" }] },
      { agents: ["solver"], options: [{ tier: "large" }] },
    ];
    const r = structureRecord(1, ["solver", "terminator"], episodes, heads);
    expect(r.heads).toEqual({
      tier: {
        choices: ["small", "large"],
        usage: [2, 2],
        byAgent: [
          [1, 2],
          [1, 0],
        ],
      },
    });
    const m = mergeRecords([r, { ...r, update: 2 }]);
    expect(m.heads!.tier!.usage).toEqual([4, 4]);
    expect(m.heads!.tier!.byAgent).toEqual([
      [2, 4],
      [2, 0],
    ]);
    expect((structureSummary([r]) as { final: { heads: unknown } }).final.heads).toEqual(r.heads);
    // one head: nothing extra
    expect(structureRecord(1, ["solver", "terminator"], episodes).heads).toBeUndefined();
    // the plots show the second head's usage over training and by agent
    const titles = structurePanels([r, { ...r, update: 2 }], "x").map((p) =>
      String(("chart" in p ? p.chart : p).options?.plugins?.title?.text),
    );
    expect(titles.some((t) => t.includes('Head "tier": share of steps'))).toBe(true);
    expect(titles.some((t) => t.includes('Head "tier" by agent'))).toBe(true);
  });

  it("a multi-head run logs the tier head in structure.jsonl and plots it", () => {
    const dir = tmpDir("tiers");
    const run = path.join(dir, "run");
    const r = runCli([
      "train",
      "configs/sim-tiers.yaml",
      "--run-dir",
      run,
      "--quiet",
      "--set",
      "train.updates=2",
      "--set",
      "train.episodesPerUpdate=16",
      "--set",
      "log.plot=true",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const lines = fs
      .readFileSync(path.join(run, "structure.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { heads?: { tier?: { usage: number[] } }; usage: number[] });
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      // every step took a tier
      expect(l.heads!.tier!.usage.reduce((a, b) => a + b, 0)).toBe(l.usage.reduce((a, b) => a + b, 0));
    }
    expect(isPng(path.join(run, "plots", "structure.png"))).toBe(true);
  });
});

describe("sweep legends", () => {
  it("label trials by the parameters that differ, not by ids", () => {
    const t = (id: string, params: Record<string, unknown>) => ({ id, params }) as unknown as TrialOutcome;
    const labels = legendLabels([
      t("t32ab7788a3", { "algo.lr": 0.000112, "policy.hidden": [64, 64], "reward.costPenalty": 0.1 }),
      t("t3d776f8414", { "algo.lr": 0.0046, "policy.hidden": [64, 64], "reward.costPenalty": 0.2 }),
    ]);
    expect(labels.get("t32ab7788a3")).toBe("lr=1.1e-4, costPenalty=0.1");
    expect(labels.get("t3d776f8414")).toBe("lr=0.0046, costPenalty=0.2");
    expect(formatParam(3)).toBe("3");
    expect(formatParam(0.123456)).toBe("0.12");
    expect(formatParam("relu")).toBe("relu");
  });
});

describe("maestro plot groups only runs that differ in the seed", () => {
  const dir = tmpDir("group");
  const runs = path.join(dir, "runs");
  const make = async (name: string, file: string, seed: number, sets: string[] = []) => {
    const config = loadConfig(file, { seed, sets: ["train.updates=3", "train.episodesPerUpdate=4", "log.plot=false", ...sets] });
    const runDir = path.join(runs, name);
    await train({ config, runDir });
    return runDir;
  };
  let made: Promise<string[]> | undefined;
  const setup = () =>
    (made ??= (async () => [
      await make("doa-mvp/a-seed0", "configs/doa-mvp.yaml", 0),
      await make("doa-mvp/b-seed1", "configs/doa-mvp.yaml", 1),
      await make("doa-mvp/c-seed1-again", "configs/doa-mvp.yaml", 1), // the same seed again
      await make("doa-mvp/d-seed0-lr", "configs/doa-mvp.yaml", 0, ["algo.lr=0.003"]),
      await make("doa-mvp/e-seed2-lr", "configs/doa-mvp.yaml", 2, ["algo.lr=0.003", "log.episodeSample=0"]), // output settings do not split groups
      await make("doa-mvp-published/f-seed0", "configs/doa-mvp-published.yaml", 0),
    ])());

  it("groups by resolved config apart from the seed, drops a repeated seed, and labels groups by what differs", async () => {
    const all = await setup();
    const g = groupRuns(all.slice(0, 5));
    expect(g.groups.map((x) => x.runDirs.map((d) => path.basename(d)))).toEqual([
      ["a-seed0", "c-seed1-again"],
      ["d-seed0-lr", "e-seed2-lr"],
    ]);
    expect(g.groups.map((x) => x.label)).toEqual(["lr=0.001", "lr=0.003"]);
    expect(g.differing).toEqual(["algo.lr"]);
    expect(g.duplicates.map((d) => path.basename(d.dropped))).toEqual(["b-seed1"]);
    // different configs entirely: labelled by name
    const h = groupRuns([all[0]!, all[5]!]);
    expect(h.groups.map((x) => x.label)).toEqual(["doa-mvp", "doa-mvp-published"]);
  });

  it("`maestro plot runs/<name>` and `maestro plot runs` draw one line per configuration and say so", async () => {
    await setup();
    const notes: string[] = [];
    const files = await plotPaths([path.join(runs, "doa-mvp")], { note: (m) => notes.push(m) });
    expect(files).toEqual([path.join(runs, "doa-mvp", "plots", "learning-curve.png")]);
    expect(isPng(files[0]!)).toBe(true);
    expect(notes.join("\n")).toContain(
      "4 runs in 2 configurations (runs are averaged only when their configs are equal apart from the seed); they differ in algo.lr",
    );
    expect(notes.join("\n")).toMatch(/b-seed1: same config and seed as .*c-seed1-again/);
    const r = runCli(["plot", runs]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("5 runs in 3 configurations");
    expect(r.stdout).toContain(`plot: ${path.join(runs, "plots", "learning-curve.png")}`);
    // one seed group of equal configs: one mean band, no note
    const one: string[] = [];
    await plotPaths([path.join(runs, "doa-mvp-published")], { note: (m) => one.push(m) });
    expect(one).toEqual([]);
  });

  it("`plot --metric` with an unknown column fails, lists the columns, and writes nothing", async () => {
    await setup();
    const out = path.join(dir, "out.png");
    for (const target of [path.join(runs, "doa-mvp", "a-seed0"), path.join(runs, "doa-mvp-published")]) {
      const before = fs.existsSync(path.join(target, "plots"));
      const r = runCli(["plot", target, "--metric", "lamda"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("--metric lamda: no such column in metrics.csv; the runs have: update, episodes, env_steps, return_mean");
      expect(fs.existsSync(path.join(target, "plots"))).toBe(before);
      const o = runCli(["plot", target, "--metric", "lamda", "--out", out]);
      expect(o.code).toBe(2);
      expect(fs.existsSync(out)).toBe(false);
    }
    // a known column still plots
    const ok = runCli(["plot", path.join(runs, "doa-mvp", "a-seed0"), "--metric", "entropy", "--out", out]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(isPng(out)).toBe(true);
    // the config file of a run is needed to group it with others
    const bare = path.join(dir, "bare");
    fs.mkdirSync(path.join(bare, "r1"), { recursive: true });
    fs.mkdirSync(path.join(bare, "r2"), { recursive: true });
    for (const r of ["r1", "r2"]) fs.copyFileSync(path.join(runs, "doa-mvp", "a-seed0", "metrics.csv"), path.join(bare, r, "metrics.csv"));
    fs.writeFileSync(path.join(bare, "r1", "config.yaml"), YAML.stringify({ seed: 0 }));
    const b = runCli(["plot", bare]);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain(`${path.join(bare, "r2")}: no config.yaml`);
  });
});

afterAll(removeTmpDirs);
