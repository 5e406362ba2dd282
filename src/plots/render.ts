/**
 * src/plots — every PNG: one run, groups of seeds, sweeps, structure heatmaps. This file holds the
 * rendering (chart.js drawing on @napi-rs/canvas, Skia with prebuilt binaries shipped as npm packages,
 * so nothing is compiled at install); the other files choose what to draw. Plots aggregate (means,
 * bands) but compute nothing else: statistics come from src/analysis, data from the run folders.
 */
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import type { Chart as ChartJs, ChartConfiguration, ChartItem } from "chart.js";

/** Colour-blind-safe palette (Okabe–Ito). */
export const palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"];

/** `#rrggbb` of HSL (h in degrees, s and l in [0, 1]). */
function hsl(h: number, s: number, l: number): string {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    const c = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(255 * c)
      .toString(16)
      .padStart(2, "0");
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}

/**
 * Kelly's colours of maximum contrast (K. L. Kelly, "Twenty-two colors of maximum contrast", Color
 * Engineering 3(6), 1965), without white and black, in his order: each next colour differs most
 * from those before it.
 */
const kelly = [
  "#F3C300",
  "#875692",
  "#F38400",
  "#A1CAF1",
  "#BE0032",
  "#C2B280",
  "#848482",
  "#008856",
  "#E68FAC",
  "#0067A5",
  "#F99379",
  "#604E97",
  "#F6A600",
  "#B3446C",
  "#DCD300",
  "#882D17",
  "#8DB600",
  "#654522",
  "#E25822",
  "#2B3D26",
];

/**
 * `n` distinct colours for `n` series (e.g. the agents of a pool): the Okabe–Ito palette up to 8,
 * Kelly's 20 colours of maximum contrast up to 20, beyond that hues spread evenly around the colour
 * wheel with alternating lightness. No two series share a colour, whatever the pool size.
 */
export function seriesColours(n: number): string[] {
  if (n <= palette.length) return palette.slice(0, n);
  if (n <= kelly.length) return kelly.slice(0, n);
  return Array.from({ length: n }, (_, i) => hsl((i * 360) / n, 0.75, i % 2 === 0 ? 0.38 : 0.58));
}

/** `#rrggbb` → `rgba(r,g,b,a)`. */
export function withAlpha(hex: string, a: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
}

/** The font every plot uses, shipped in an npm package (dejavu-fonts-ttf) so text renders on machines without system fonts. */
export const plotFont = "maestro-sans";

/** Height of a chart panel without a long legend. */
const baseHeight = 260;

interface Kit {
  Chart: typeof ChartJs;
  createCanvas: typeof import("@napi-rs/canvas").createCanvas;
}
let kit: Promise<Kit> | undefined;

/** chart.js with only the pieces maestro draws (line, scatter, matrix; linear, log and category axes), and the plot font, loaded on first use. */
function loadKit(): Promise<Kit> {
  kit ??= (async () => {
    // Plots use only the bundled font: skip @napi-rs/canvas's scan of the system's font folders at
    // import (~50 ms, ~10 MiB), unless MAESTRO_PLOT_SYSTEM_FONTS=1 asks for them (they then draw the
    // characters DejaVu Sans lacks, e.g. CJK agent names).
    if (process.env.MAESTRO_PLOT_SYSTEM_FONTS !== "1") process.env.DISABLE_SYSTEM_FONTS_LOAD ??= "1";
    const [{ createCanvas, GlobalFonts }, cj, matrix] = await Promise.all([
      import("@napi-rs/canvas"),
      import("chart.js"),
      import("chartjs-chart-matrix"),
    ]);
    const fonts = createRequire(import.meta.url);
    for (const face of ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"]) {
      if (!GlobalFonts.registerFromPath(fonts.resolve(`dejavu-fonts-ttf/ttf/${face}`), plotFont)) {
        throw new Error(`plots: could not load the font dejavu-fonts-ttf/ttf/${face}`);
      }
    }
    cj.Chart.register(
      cj.LineController,
      cj.ScatterController,
      cj.LineElement,
      cj.PointElement,
      cj.LinearScale,
      cj.LogarithmicScale,
      cj.CategoryScale,
      cj.Filler,
      cj.Legend,
      cj.Title,
      cj.SubTitle,
      matrix.MatrixController,
      matrix.MatrixElement,
    );
    cj.Chart.defaults.font.family = plotFont;
    cj.Chart.defaults.color = "#555";
    return { Chart: cj.Chart, createCanvas };
  })();
  return kit;
}

/** One chart of a PNG; `height` (pixels) is the least height it needs, e.g. for a tall heatmap or a long legend. */
export type Panel = ChartConfiguration | { chart: ChartConfiguration; height: number };

const chartOf = (p: Panel): ChartConfiguration => ("chart" in p ? p.chart : p);

/** The least height of a panel (see {@link Panel}). */
export function panelHeight(p: Panel, base = baseHeight): number {
  return "chart" in p ? Math.max(p.height, base) : base;
}

/**
 * Draws one panel on a new `width` × `height` canvas; returns the canvas and the chart.js chart (for
 * reading its layout; the caller destroys it).
 */
export async function drawPanel(p: Panel, width = 900, height = panelHeight(p)) {
  const { Chart, createCanvas } = await loadKit();
  const cfg = chartOf(p);
  const canvas = createCanvas(width, height);
  // chart.js takes the canvas from the context; its Node platform (no DOM) draws at the canvas size
  const chart = new Chart(
    canvas.getContext("2d") as unknown as ChartItem,
    {
      ...cfg,
      options: { ...cfg.options, animation: false, responsive: false, devicePixelRatio: 1 },
    } as ChartConfiguration,
  );
  return { canvas, chart };
}

/**
 * Renders charts as panels stacked vertically into one PNG (each panel `width` × `panelHeight`, or
 * taller when it needs to be). The file is written atomically.
 */
export async function renderPanels(panels: Panel[], file: string, width = 900, basePanelHeight = baseHeight): Promise<void> {
  const { createCanvas } = await loadKit();
  const heights = panels.map((p) => panelHeight(p, basePanelHeight));
  const total = heights.reduce((a, b) => a + b, 0);
  const canvas = createCanvas(width, total);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "white";
  ctx.fillRect(0, 0, width, total);
  let y = 0;
  for (let i = 0; i < panels.length; i++) {
    const { canvas: sub, chart } = await drawPanel(panels[i]!, width, heights[i]!);
    ctx.drawImage(sub, 0, y);
    chart.destroy();
    y += heights[i]!;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, await canvas.encode("png"));
  fs.renameSync(tmp, file);
}

export interface Series {
  label: string;
  x: number[];
  y: number[];
  /** Optional band (e.g. ± std or a 95% CI). */
  lo?: number[];
  hi?: number[];
  colour?: string;
  dashed?: boolean;
}

/**
 * Legend placement that keeps the legend smaller than the plot: up to three short entries in a row
 * above the chart; more entries in a column on its right (at most a third of the width) when the
 * labels are short, else in rows below it, in a smaller font. `height` is the least panel height that
 * leaves the plot area at least as tall as the legend needs (labels are at most 72 characters, see
 * {@link shortLabel}).
 */
export function legendLayout(labels: readonly string[], width = 900) {
  const n = labels.length;
  const longest = Math.max(0, ...labels.map((l) => l.length));
  const charPx = 6.3; // DejaVu Sans at 11 px, a wide average
  if (n <= 3 && labels.reduce((a, l) => a + l.length * 7.2 + 60, 0) < width - 80) {
    return { options: { position: "top" as const, labels: { boxWidth: 36, font: { size: 12 }, padding: 10 } }, height: baseHeight };
  }
  if (longest <= 30) {
    return {
      options: { position: "right" as const, maxWidth: Math.round(width / 3), labels: { boxWidth: 24, font: { size: 11 }, padding: 6 } },
      height: Math.max(baseHeight, 90 + 17 * n),
    };
  }
  const perRow = Math.max(1, Math.floor((width - 40) / (longest * charPx + 40)));
  return {
    options: { position: "bottom" as const, labels: { boxWidth: 24, font: { size: 11 }, padding: 6 } },
    height: baseHeight + 17 * Math.ceil(n / perRow),
  };
}

/** Shortens a legend label to `max` characters with an ellipsis (the full text belongs in a table, e.g. sweep.md). */
export function shortLabel(s: string, max = 72): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** A chart title, in two lines when it is too long for one (split before a parenthesis or after a semicolon). */
export function titleLines(title: string, max = 88): string | string[] {
  if (title.length <= max) return title;
  const cuts = [...title.matchAll(/ \(|; /g)].map((m) => m.index!).filter((i) => i > 10 && i <= max);
  const at = cuts.length ? cuts[cuts.length - 1]! : title.lastIndexOf(" ", max);
  if (at <= 0) return title;
  return [title.slice(0, at + (title[at] === ";" ? 1 : 0)), title.slice(at + 1).trimStart()];
}

/** A line chart of series with optional bands; `yLabel` and `title` label the axes. */
export function lineChart(title: string, xLabel: string, yLabel: string, series: Series[], yRange?: [number, number]): Panel {
  const datasets: ChartConfiguration<"line">["data"]["datasets"] = [];
  const colours = seriesColours(series.length);
  series.forEach((s, i) => {
    const colour = s.colour ?? colours[i]!;
    if (s.lo && s.hi) {
      datasets.push({
        label: `${s.label} (band)`,
        data: s.x.map((x, j) => ({ x, y: s.lo![j]! })),
        borderWidth: 0,
        pointRadius: 0,
        fill: false,
        backgroundColor: withAlpha(colour, 0.18),
      });
      datasets.push({
        label: `${s.label} (band hi)`,
        data: s.x.map((x, j) => ({ x, y: s.hi![j]! })),
        borderWidth: 0,
        pointRadius: 0,
        fill: "-1",
        backgroundColor: withAlpha(colour, 0.18),
      });
    }
    datasets.push({
      label: shortLabel(s.label),
      data: s.x.map((x, j) => ({ x, y: s.y[j]! })),
      borderColor: colour,
      backgroundColor: colour,
      borderWidth: 2,
      borderDash: s.dashed ? [6, 4] : [],
      pointRadius: 0,
      pointStyle: "line",
      fill: false,
    });
  });
  const legend = legendLayout(series.map((s) => shortLabel(s.label)));
  const chart = {
    type: "line",
    data: { datasets },
    options: {
      plugins: {
        title: { display: true, text: titleLines(title), font: { size: 15 } },
        legend: {
          display: series.length > 1 || series.some((s) => s.lo),
          ...legend.options,
          labels: {
            ...legend.options.labels,
            usePointStyle: true,
            pointStyleWidth: legend.options.labels.boxWidth,
            filter: (item: { text: string }) => !/\(band( hi)?\)$/.test(String(item.text)),
          },
        },
      },
      scales: {
        x: { type: "linear", title: { display: true, text: xLabel } },
        y: { title: { display: true, text: yLabel }, ...(yRange ? { min: yRange[0], max: yRange[1] } : {}) },
      },
    },
  } as ChartConfiguration;
  return { chart, height: legend.height + (Array.isArray(titleLines(title)) ? 20 : 0) };
}

export interface Point {
  x: number;
  y: number;
}

/** A scatter chart: each group is one legend entry; `line` groups are drawn joined (e.g. a Pareto front). */
export function scatterChart(
  title: string,
  xLabel: string,
  yLabel: string,
  groups: { label: string; points: Point[]; colour?: string; line?: boolean; radius?: number }[],
  yRange?: [number, number],
): Panel {
  const colours = seriesColours(groups.length);
  const legend = legendLayout(groups.map((g) => shortLabel(g.label)));
  const chart = {
    type: "scatter",
    data: {
      datasets: groups.map((g, i) => {
        const colour = g.colour ?? colours[i]!;
        return {
          label: shortLabel(g.label),
          data: g.points,
          borderColor: colour,
          backgroundColor: g.line ? colour : withAlpha(colour, 0.75),
          pointRadius: g.radius ?? 5,
          pointStyle: g.line ? "line" : "circle",
          showLine: g.line ?? false,
          borderWidth: g.line ? 2 : 1,
          borderDash: g.line ? [6, 4] : [],
          clip: false,
        };
      }),
    },
    options: {
      plugins: {
        title: { display: true, text: titleLines(title), font: { size: 15 } },
        legend: { display: groups.length > 1, ...legend.options, labels: { ...legend.options.labels, usePointStyle: true } },
      },
      scales: {
        x: { type: "linear", title: { display: true, text: xLabel } },
        y: { title: { display: true, text: yLabel }, ...(yRange ? { min: yRange[0], max: yRange[1] } : {}) },
      },
    },
  } as ChartConfiguration;
  return { chart, height: legend.height + (Array.isArray(titleLines(title)) ? 20 : 0) };
}
