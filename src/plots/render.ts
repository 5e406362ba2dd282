/**
 * src/plots — every PNG: one run, groups of seeds, sweeps, structure heatmaps. This file holds the
 * chart.js rendering; the other files choose what to draw. Plots aggregate (means, bands) but compute
 * nothing else: statistics come from src/analysis, data from the run folders.
 */
import fs from "node:fs";
import path from "node:path";
import type { ChartConfiguration } from "chart.js";

/** Colour-blind-safe palette (Okabe–Ito). */
export const palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"];

/** `#rrggbb` → `rgba(r,g,b,a)`. */
export function withAlpha(hex: string, a: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
}

let rendererCache: Map<string, import("chartjs-node-canvas").ChartJSNodeCanvas> | undefined;

async function renderer(width: number, height: number) {
  const { ChartJSNodeCanvas } = await import("chartjs-node-canvas");
  rendererCache ??= new Map();
  const key = `${width}x${height}`;
  let r = rendererCache.get(key);
  if (!r) {
    r = new ChartJSNodeCanvas({ width, height, backgroundColour: "white" });
    rendererCache.set(key, r);
  }
  return r;
}

/** A panel drawn directly on a node-canvas 2D context (e.g. a heatmap, which chart.js lacks). */
export interface CustomPanel {
  draw(ctx: import("canvas").CanvasRenderingContext2D, width: number, height: number): void;
}

export type Panel = ChartConfiguration | CustomPanel;

function isCustom(p: Panel): p is CustomPanel {
  return typeof (p as CustomPanel).draw === "function";
}

/**
 * Renders charts as panels stacked vertically into one PNG (chart.js through chartjs-node-canvas,
 * composed with node-canvas).
 */
export async function renderPanels(panels: Panel[], file: string, width = 900, panelHeight = 260): Promise<void> {
  const r = await renderer(width, panelHeight);
  const { createCanvas, loadImage } = await import("canvas");
  const canvas = createCanvas(width, panelHeight * panels.length);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "white";
  ctx.fillRect(0, 0, width, panelHeight * panels.length);
  for (let i = 0; i < panels.length; i++) {
    const p = panels[i]!;
    if (isCustom(p)) {
      ctx.save();
      ctx.translate(0, i * panelHeight);
      p.draw(ctx, width, panelHeight);
      ctx.restore();
    } else {
      const img = await r.renderToBuffer({ ...p, options: { animation: false, responsive: false, ...p.options } } as ChartConfiguration);
      ctx.drawImage(await loadImage(img), 0, i * panelHeight);
    }
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, await indexedPng(canvas));
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

/** A line chart of series with optional bands; `yLabel` and `title` label the axes. */
export function lineChart(title: string, xLabel: string, yLabel: string, series: Series[], yRange?: [number, number]): ChartConfiguration {
  const datasets: ChartConfiguration<"line">["data"]["datasets"] = [];
  series.forEach((s, i) => {
    const colour = s.colour ?? palette[i % palette.length]!;
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
      label: s.label,
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
  return {
    type: "line",
    data: { datasets },
    options: {
      plugins: {
        title: { display: true, text: title, font: { size: 15 } },
        legend: {
          display: series.length > 1 || series.some((s) => s.lo),
          labels: { usePointStyle: true, pointStyleWidth: 36, filter: (item) => !/\(band( hi)?\)$/.test(String(item.text)) },
        },
      },
      scales: {
        x: { type: "linear", title: { display: true, text: xLabel } },
        y: { title: { display: true, text: yLabel }, ...(yRange ? { min: yRange[0], max: yRange[1] } : {}) },
      },
    },
  } as ChartConfiguration;
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
): ChartConfiguration {
  return {
    type: "scatter",
    data: {
      datasets: groups.map((g, i) => {
        const colour = g.colour ?? palette[i % palette.length]!;
        return {
          label: g.label,
          data: g.points,
          borderColor: colour,
          backgroundColor: g.line ? colour : withAlpha(colour, 0.75),
          pointRadius: g.radius ?? 5,
          showLine: g.line ?? false,
          borderWidth: g.line ? 2 : 1,
          borderDash: g.line ? [6, 4] : [],
          clip: false,
        };
      }),
    },
    options: {
      plugins: { title: { display: true, text: title, font: { size: 15 } }, legend: { display: groups.length > 1, position: "right" } },
      scales: {
        x: { type: "linear", title: { display: true, text: xLabel } },
        y: { title: { display: true, text: yLabel }, ...(yRange ? { min: yRange[0], max: yRange[1] } : {}) },
      },
    },
  } as ChartConfiguration;
}

/**
 * Encodes a canvas as an 8-bit indexed PNG (about a third of the RGBA size): the 256 most frequent
 * colours (binned to 5 bits per channel, each bin represented by its first exact colour) form the
 * palette, every pixel takes the nearest palette colour. Charts have few colours, so this is lossless
 * to the eye.
 */
export async function indexedPng(canvas: import("canvas").Canvas): Promise<Buffer> {
  const { createCanvas } = await import("canvas");
  const { width: w, height: h } = canvas;
  const data = canvas.getContext("2d").getImageData(0, 0, w, h).data;
  // colours binned to 5 bits per channel (32768 bins), counted in typed arrays: this runs over every
  // pixel of every plot, so no Map or object per pixel
  const NB = 1 << 15;
  const bin = (i: number) => ((data[i]! >> 3) << 10) | ((data[i + 1]! >> 3) << 5) | (data[i + 2]! >> 3);
  const counts = new Int32Array(NB);
  const firstPixel = new Int32Array(NB).fill(-1);
  for (let i = 0; i < data.length; i += 4) {
    const k = bin(i);
    if (counts[k]++ === 0) firstPixel[k] = i;
  }
  // the chart colours themselves first (so thin lines keep their exact colour), then the most frequent
  // bins (ties: the bin seen first), each represented by the first pixel that fell into it
  const fixed: [number, number, number][] = [...palette, "#ffffff", "#666666", "#222222"].map((hex) => {
    const n = parseInt(hex.slice(1), 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  });
  const fixedBins = new Set(fixed.map(([r, g, b]) => ((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3)));
  const frequent: number[] = [];
  for (let k = 0; k < NB; k++) if (counts[k]! > 0 && !fixedBins.has(k)) frequent.push(k);
  frequent.sort((a, b) => counts[b]! - counts[a]! || firstPixel[a]! - firstPixel[b]!);
  const top: [number, number, number][] = [
    ...fixed,
    ...frequent.slice(0, 256 - fixed.length).map((k): [number, number, number] => {
      const i = firstPixel[k]!;
      return [data[i]!, data[i + 1]!, data[i + 2]!];
    }),
  ];
  const table = new Uint8ClampedArray(256 * 4);
  top.forEach(([r, g, b], i) => table.set([r, g, b, 255], 4 * i));
  const nearest = new Int16Array(NB).fill(-1);
  const out = createCanvas(w, h);
  const octx = out.getContext("2d", { pixelFormat: "A8" });
  const img = octx.createImageData(w, h);
  for (let i = 0, p = 0; i < data.length; i += 4, p++) {
    const k = bin(i);
    let v = nearest[k]!;
    if (v < 0) {
      let bd = Infinity;
      v = 0;
      for (let j = 0; j < top.length; j++) {
        const [r, g, b] = top[j]!;
        const d = (r - data[i]!) ** 2 + (g - data[i + 1]!) ** 2 + (b - data[i + 2]!) ** 2;
        if (d < bd) {
          bd = d;
          v = j;
        }
      }
      nearest[k] = v;
    }
    img.data[p] = v;
  }
  octx.putImageData(img, 0, 0);
  return out.toBuffer("image/png", { compressionLevel: 6, palette: table });
}
