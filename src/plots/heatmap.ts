import type { ChartConfiguration, Plugin } from "chart.js";
import type {} from "chartjs-chart-matrix";
import { plotFont, titleLines, type Panel } from "./render.js";

interface Cell {
  x: string;
  y: string;
  /** Row-normalised share. */
  v: number;
  /** Row total (0: the row has no data). */
  n: number;
}

/** Writes each cell's share (e.g. `42%`) in its middle when the cell is big enough to hold it. */
const cellText: Plugin<"matrix"> = {
  id: "maestroCellText",
  afterDatasetsDraw(chart) {
    const { ctx } = chart;
    const meta = chart.getDatasetMeta(0);
    const data = chart.data.datasets[0]!.data as unknown as Cell[];
    ctx.save();
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    meta.data.forEach((el, i) => {
      const { x, y, width, height } = el.getProps(["x", "y", "width", "height"], true) as {
        x: number;
        y: number;
        width: number;
        height: number;
      };
      const c = data[i]!;
      const text = c.n > 0 ? `${(100 * c.v).toFixed(0)}%` : "–";
      const size = Math.min(12, Math.floor(height * 0.6));
      if (size < 8) return;
      ctx.font = `${size}px ${plotFont}`;
      if (ctx.measureText(text).width > width - 2) return;
      ctx.fillStyle = c.v > 0.55 ? "white" : "#222";
      ctx.fillText(text, x + width / 2, y + height / 2);
    });
    ctx.restore();
  },
};

/**
 * A heatmap panel of a matrix (row = "from", column = "to"), a chartjs-chart-matrix chart: cells are
 * shaded white → blue by the row-normalised share and show it as a percentage; the right axis gives
 * each row's count. Labels are never cut: the axes grow (and the column labels turn) to fit them, and
 * the panel grows with the number of rows.
 */
export function heatmapPanel(
  title: string,
  rowLabels: readonly string[],
  labels: readonly string[],
  counts: readonly (readonly number[])[],
  rowLabel = "from",
  colLabel = "then",
): Panel {
  const cells: Cell[] = [];
  const totals = counts.map((row) => row.reduce((a, b) => a + b, 0));
  rowLabels.forEach((r, i) =>
    labels.forEach((l, j) => cells.push({ x: l, y: r, v: totals[i]! > 0 ? counts[i]![j]! / totals[i]! : 0, n: totals[i]! })),
  );
  const rowsPx = Math.max(18, Math.min(44, 360 / rowLabels.length));
  const longest = Math.max(...labels.map((l) => l.length));
  // room for the title and the column labels above the grid (turned labels need more)
  const head = 90 + (labels.length * Math.max(longest, 4) * 7.5 > 620 ? Math.min(longest, 40) * 5.5 : 0);
  const height = Math.round(head + rowsPx * rowLabels.length + 20);
  // cells at most 130 px wide: a small matrix sits in the middle instead of stretching across
  const width = 900;
  const side = Math.max(20, (width - 300 - Math.min(130, 560 / labels.length) * labels.length) / 2);
  const chart = {
    type: "matrix",
    data: {
      datasets: [
        {
          label: title,
          data: cells,
          backgroundColor: (c: { raw?: Cell }) => {
            const s = c.raw?.v ?? 0;
            const m = (a: number, b: number) => Math.round(a + (b - a) * s);
            // white → blue (#0072B2) by share
            return `rgb(${m(255, 0)},${m(255, 114)},${m(255, 178)})`;
          },
          borderColor: "#ccc",
          borderWidth: 1,
          width: (c: { chart: { chartArea?: { width: number } } }) => (c.chart.chartArea?.width ?? 0) / labels.length,
          height: (c: { chart: { chartArea?: { height: number } } }) => (c.chart.chartArea?.height ?? 0) / rowLabels.length,
        },
      ],
    },
    options: {
      layout: { padding: { left: side, right: side } },
      plugins: { title: { display: true, text: titleLines(title), font: { size: 15 } }, legend: { display: false } },
      scales: {
        x: {
          type: "category",
          labels: [...labels],
          position: "top",
          offset: true,
          grid: { display: false },
          ticks: { autoSkip: false, maxRotation: 60 },
          title: { display: true, text: `${colLabel} →` },
        },
        y: {
          type: "category",
          labels: [...rowLabels],
          // first row on top (chart.js draws a vertical category axis bottom-up by default)
          reverse: false,
          offset: true,
          grid: { display: false },
          ticks: { autoSkip: false },
          title: { display: true, text: `${rowLabel} ↓` },
        },
        n: {
          type: "category",
          axis: "y",
          labels: totals.map((t) => `n=${t}`),
          position: "right",
          reverse: false,
          offset: true,
          grid: { display: false },
          ticks: { autoSkip: false },
        },
      },
    },
    plugins: [cellText],
  } as unknown as ChartConfiguration;
  return { chart, height };
}
