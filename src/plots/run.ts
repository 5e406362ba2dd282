import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { readMetrics, type MetricsRow } from "../run/metrics.js";
import { graphMetrics, mergeRecords, readStructure } from "../analysis/structure.js";
import { heatmapPanel } from "./heatmap.js";
import { lineChart, palette, renderPanels, type Panel, type Series } from "./render.js";

export function col(rows: MetricsRow[], name: string): number[] {
  return rows.map((r) => r[name]!);
}

/** The run's cost budget (config env.budget), if it has one. */
export function runBudget(runDir: string): number | undefined {
  const file = path.join(runDir, "config.yaml");
  if (!fs.existsSync(file)) return undefined;
  const cfg = YAML.parse(fs.readFileSync(file, "utf8")) as { env?: { budget?: number } } | null;
  const b = cfg?.env?.budget;
  return typeof b === "number" ? b : undefined;
}

/** A horizontal dashed reference line across `x` (e.g. the budget d). */
export function refLine(label: string, x: number[], y: number, colour = "#000000"): Series {
  return { label, x: [x[0] ?? 0, x[x.length - 1] ?? 1], y: [y, y], colour, dashed: true };
}

/**
 * The plots of one run, in `<runDir>/plots/`:
 * - learning-curve.png: return (band ± std over the batch), success rate, cost per update (with the
 *   budget line when the config has env.budget) and, for constrained trainers, λ per update;
 * - structure.png: the agent-transition heatmap of the last 10% of updates, agent usage over
 *   training and the graph metrics (density, cycle rate) per update (from structure.jsonl).
 * Returns the files written.
 */
export async function plotRunFiles(runDir: string): Promise<string[]> {
  const { columns, rows } = readMetrics(path.join(runDir, "metrics.csv"));
  const x = col(rows, "update");
  const ret = col(rows, "return_mean");
  const sd = col(rows, "return_std");
  const name = path.basename(path.resolve(runDir));
  const budget = runBudget(runDir);
  const costSeries: Series[] = [{ label: "mean episode cost", x, y: col(rows, "cost_mean"), colour: palette[1] }];
  if (budget !== undefined) costSeries.push(refLine(`budget d = ${budget}`, x, budget));
  const panels: Panel[] = [
    lineChart(`Return per episode — ${name}`, "update", "return", [
      {
        label: "mean return (band: ± std over the batch)",
        x,
        y: ret,
        lo: ret.map((v, i) => v - sd[i]!),
        hi: ret.map((v, i) => v + sd[i]!),
      },
    ]),
    lineChart(
      "Success rate",
      "update",
      "success rate",
      [{ label: "success", x, y: col(rows, "success_rate"), colour: palette[2] }],
      [0, 1],
    ),
    lineChart(budget !== undefined ? "Episode cost against the budget" : "Episode cost", "update", "cost", costSeries),
  ];
  if (columns.includes("lambda")) {
    panels.push(lineChart("Lagrange multiplier λ", "update", "λ", [{ label: "λ", x, y: col(rows, "lambda"), colour: palette[3] }]));
  }
  const jobs: [Panel[], string][] = [[panels, path.join(runDir, "plots", "learning-curve.png")]];
  const structure = readStructure(path.join(runDir, "structure.jsonl"));
  if (structure.length > 0) jobs.push([structurePanels(structure, name), path.join(runDir, "plots", "structure.png")]);
  // drawn together: one PNG is encoded (off the main thread) while the next is drawn
  await Promise.all(jobs.map(([p, f]) => renderPanels(p, f)));
  return jobs.map(([, f]) => f);
}

/** plots/learning-curve.png (and structure.png) of one run; returns the learning-curve file. */
export async function plotRun(runDir: string): Promise<string> {
  return (await plotRunFiles(runDir))[0]!;
}

/** Share of each entry of `counts` in its total (0 when the total is 0). */
const shares = (counts: readonly number[]) => {
  const t = counts.reduce((a, b) => a + b, 0);
  return counts.map((v) => (t ? v / t : 0));
};

/**
 * The structure panels of a run: the agent-transition heatmap of the last 10% of updates, agent usage
 * over training, the graph metrics per update, and for multi-head runs each further head's usage over
 * training and which choice each agent took (e.g. model tier by agent).
 */
export function structurePanels(structure: ReturnType<typeof readStructure>, name: string): Panel[] {
  const w = Math.max(1, Math.round(structure.length / 10));
  const last = mergeRecords(structure.slice(-w));
  const g = graphMetrics(last);
  const agents = last.agents;
  const ux = structure.map((r) => r.update);
  const usage: Series[] = agents.map((a, i) => ({ label: a, x: ux, y: structure.map((r) => shares(r.usage)[i]!) }));
  const per = structure.map((r) => graphMetrics(r));
  const window = `updates ${structure[structure.length - w]!.update}–${last.update}`;
  const panels: Panel[] = [
    heatmapPanel(
      `Agent transitions, ${window}: density ${g.density.toFixed(2)}, ` +
        `${g.simple_cycles} cycle${g.simple_cycles === 1 ? "" : "s"}, hubs: ${g.hub_agents.join(", ") || "none"}`,
      ["(episode start)", ...agents],
      agents,
      [last.starts, ...last.transitions],
    ),
    lineChart(`Agent usage over training — ${name}`, "update", "share of steps", usage, [0, 1]),
  ];
  for (const [head, h] of Object.entries(last.heads ?? {})) {
    const series: Series[] = h.choices.map((c, k) => ({
      label: `${head} ${c}`,
      x: ux,
      y: structure.map((r) => (r.heads?.[head] ? shares(r.heads[head].usage)[k]! : 0)),
    }));
    panels.push(lineChart(`Head "${head}": share of steps per choice`, "update", "share of steps", series, [0, 1]));
    panels.push(heatmapPanel(`Head "${head}" by agent, ${window}`, agents, h.choices, h.byAgent, "agent", head));
  }
  panels.push(
    lineChart(
      "Emergent structure per update",
      "update",
      "value",
      [
        { label: "graph density", x: ux, y: per.map((m) => m.density) },
        { label: "episodes revisiting an agent", x: ux, y: per.map((m) => m.cycle_rate) },
      ],
      [0, 1],
    ),
  );
  return panels;
}
