/**
 * The cost–quality PNG of a pool of N models: accuracy against $ per 1,000 items on a log axis (a pool's
 * prices span ~30×) or against the share of items that called the strong model; the learned curve(s)
 * beside every baseline of src/analysis/pool-baselines.ts.
 */
import type { ChartConfiguration, Plugin } from "chart.js";
import { accuracyAt, frontier, xOf } from "../analysis/metrics-pool.js";
import type { CostAxis, PoolBaseline, PoolPoint } from "../analysis/pool-baselines.js";
import { InputError } from "../core/errors.js";
import { plotFont, renderPanels, titleLines, withAlpha } from "./render.js";

export interface PoolCurvePlot {
  title: string;
  axis: CostAxis;
  /** The learned policy's curves, one per seed (may be empty). */
  learned: PoolPoint[][];
  /** Legend name of the learned curves. Default "learned". */
  learnedLabel?: string;
  baselines: PoolBaseline[];
}

interface XY {
  x: number;
  y: number;
}

/** Marker style and colour of the marked-point baselines (Okabe–Ito colours). */
const MARKS: Record<string, { colour: string; style: string; label?: string }> = {
  "cascade-k2": { colour: "#D55E00", style: "triangle", label: "cascade, stop at 2 agreeing" },
  "cascade-k3": { colour: "#D55E00", style: "rectRot", label: "cascade, stop at 3 agreeing" },
  "majority-all": { colour: "#CC79A7", style: "rect", label: "majority vote of the pool" },
  oracle: { colour: "#009E73", style: "star", label: "per-item oracle" },
  "random-uniform": { colour: "#888888", style: "crossRot", label: "uniformly random model" },
};
/** Dashed lines of the curve baselines. */
const LINES: Record<string, { colour: string; dash: number[]; label: string }> = {
  "agreement-rules": { colour: "#E69F00", dash: [8, 4], label: "agreement rules (val frontier)" },
  "prompt-router": { colour: "#56B4E9", dash: [4, 3], label: "prompt router (μ swept)" },
  random: { colour: "#888888", dash: [2, 3], label: "random: best model for a share p" },
};
const LEARNED = "#0072B2";

/** A tick label of the $ axis: 1-2-5 steps only, as few digits as the value needs. */
function dollarTick(v: number): string | null {
  const e = Math.floor(Math.log10(v) + 1e-9);
  const lead = Math.round(v / 10 ** e);
  if (![1, 2, 5].includes(lead) || Math.abs(v - lead * 10 ** e) > 1e-6 * v) return null;
  return `$${v.toFixed(Math.max(0, -e))}`;
}

/**
 * Writes each single model's name beside its dot: right of it, else left, above or below, whichever
 * first overlaps no label already placed and stays inside the plot.
 */
const pointNames: Plugin<"scatter"> = {
  id: "maestroPointNames",
  afterDatasetsDraw(chart) {
    const { ctx, chartArea } = chart;
    const placed: Array<[number, number, number, number]> = [];
    ctx.save();
    ctx.font = `11px ${plotFont}`;
    ctx.fillStyle = "#333";
    ctx.textBaseline = "middle";
    chart.data.datasets.forEach((ds, d) => {
      const names = (ds as unknown as { pointNames?: string[] }).pointNames;
      if (!names) return;
      chart.getDatasetMeta(d).data.forEach((el, i) => {
        const name = names[i];
        if (!name) return;
        const { x, y } = el.getProps(["x", "y"], true) as { x: number; y: number };
        const w = ctx.measureText(name).width;
        const h = 12;
        const tries: Array<[number, number]> = [
          [x + 8, y],
          [x - 8 - w, y],
          [x - w / 2, y - 12],
          [x - w / 2, y + 12],
          [x + 8, y - 11],
          [x + 8, y + 11],
          [x - 8 - w, y - 11],
          [x - 8 - w, y + 11],
          [x - w / 2, y - 24],
          [x - w / 2, y + 24],
        ];
        const fits = ([lx, ly]: [number, number]) =>
          lx >= chartArea.left &&
          lx + w <= chartArea.right &&
          ly - h / 2 >= chartArea.top &&
          ly + h / 2 <= chartArea.bottom &&
          placed.every(([px, py, pw, ph]) => lx + w < px || lx > px + pw || ly + h / 2 < py || ly - h / 2 > py + ph);
        const at = tries.find(fits) ?? tries[0]!;
        placed.push([at[0], at[1] - h / 2, w, h]);
        ctx.fillText(name, at[0], at[1]);
      });
    });
    ctx.restore();
  },
};

/**
 * The mean of several seeds' curves: of curves of one length (a shared knob grid) the frontier of their
 * pointwise mean, else the mean of their frontiers' accuracy on a grid over their common x range.
 */
function meanCurve(curves: readonly PoolPoint[][], axis: CostAxis, toX: (p: PoolPoint) => number, log: boolean): XY[] {
  const n = curves[0]!.length;
  if (curves.every((c) => c.length === n)) {
    const mean: PoolPoint[] = Array.from({ length: n }, (_, j) => {
      const avg = (key: "cost" | "strongShare" | "accuracy") => curves.reduce((a, c) => a + c[j]![key], 0) / curves.length;
      return { cost: avg("cost"), strongShare: avg("strongShare"), accuracy: avg("accuracy"), calls: 0 };
    });
    return frontier(mean, axis)
      .map((f) => ({ x: toX(f.point), y: f.accuracy }))
      .filter((p) => !log || p.x > 0);
  }
  const lo = Math.max(...curves.map((c) => Math.min(...c.map((p) => xOf(p, axis)))));
  const hi = Math.min(...curves.map((c) => Math.max(...c.map((p) => xOf(p, axis)))));
  if (!(hi > lo)) return [];
  const grid = Array.from({ length: 40 }, (_, j) => (log ? lo * (hi / lo) ** (j / 39) : lo + ((hi - lo) * j) / 39));
  const scale = toX({ cost: 1, strongShare: 1, accuracy: 0, calls: 0 });
  return grid.map((x) => ({ x: x * scale, y: curves.reduce((a, c) => a + accuracyAt(c, x, axis)!, 0) / curves.length }));
}

/**
 * Renders the curve PNG to `file` (written atomically): learned curves as lines (several seeds: thin lines
 * and a bold mean), single models as labelled dots, cascades, majority vote, the oracle and uniform random
 * as marked points, the agreement rules, the router and random routing as dashed lines, and the best single
 * model's accuracy as a dotted guide. On the $ axis points at $0 cannot be drawn on the log scale: they are
 * left out and the subtitle says how many.
 */
export async function plotPoolCurve(input: PoolCurvePlot, file: string): Promise<string> {
  const { axis } = input;
  if (axis !== "dollars" && axis !== "strong-calls")
    throw new InputError(`pool curve plot: axis ${String(axis)}: expected dollars or strong-calls`, undefined, "axis");
  const log = axis === "dollars";
  const toX = (p: PoolPoint) => (log ? p.cost * 1000 : p.strongShare);
  let hidden = 0;
  const xy = (ps: readonly PoolPoint[], sort = true): XY[] => {
    const out: XY[] = [];
    for (const p of ps) {
      if (!Number.isFinite(p.accuracy) || !Number.isFinite(toX(p)))
        throw new InputError(`pool curve plot: a point has accuracy ${p.accuracy} and x ${toX(p)}: expected finite numbers`);
      if (log && toX(p) <= 0) hidden++;
      else out.push({ x: toX(p), y: p.accuracy });
    }
    return sort ? out.sort((a, b) => a.x - b.x) : out;
  };
  const datasets: Record<string, unknown>[] = [];
  const all: XY[] = [];
  // a curve is drawn as its frontier (dominated points dropped, linear between the others): what the metrics read
  const front = (ps: readonly PoolPoint[]) => frontier(ps, axis).map((f) => f.point);
  const add = (ds: Record<string, unknown> & { data: XY[] }) => {
    datasets.push({ clip: false, showLine: false, ...ds });
    all.push(...ds.data);
  };

  // curve baselines: dashed lines
  for (const b of input.baselines.filter((x) => x.kind === "curve")) {
    const st = LINES[b.name] ?? { colour: "#999999", dash: [6, 4], label: b.name };
    const data = xy(front(b.points));
    add({
      label: st.label,
      data,
      borderColor: st.colour,
      backgroundColor: st.colour,
      borderWidth: 2,
      borderDash: st.dash,
      pointRadius: 0,
      showLine: true,
      pointStyle: "line",
    });
    // the operating points themselves (a frontier of one point is a dot, not an invisible line)
    add({
      label: `${st.label} (points)`,
      data,
      borderColor: st.colour,
      backgroundColor: st.colour,
      pointRadius: 3,
      pointStyle: "circle",
      legendHidden: true,
    });
  }
  // learned: thin seed lines and a bold mean
  const learned = input.learned.filter((c) => c.length > 0);
  const name = input.learnedLabel ?? "learned";
  if (learned.length === 1) {
    add({
      label: name,
      data: xy(front(learned[0]!)),
      borderColor: LEARNED,
      backgroundColor: LEARNED,
      borderWidth: 3,
      pointRadius: 0,
      showLine: true,
      pointStyle: "line",
    });
    add({
      label: `${name}: every operating point`,
      data: xy(learned[0]!),
      borderColor: LEARNED,
      backgroundColor: withAlpha(LEARNED, 0.5),
      pointRadius: 3,
      pointStyle: "circle",
    });
  } else if (learned.length > 1) {
    learned.forEach((c, i) =>
      add({
        label: i === 0 ? `${name}: ${learned.length} seeds` : `${name} seed ${i}`,
        data: xy(front(c)),
        borderColor: withAlpha(LEARNED, 0.35),
        backgroundColor: withAlpha(LEARNED, 0.35),
        borderWidth: 1,
        pointRadius: 0,
        showLine: true,
        pointStyle: "line",
        legendHidden: i > 0,
      }),
    );
    const mean = meanCurve(learned, axis, toX, log);
    add({
      label: `${name}: mean of seeds`,
      data: mean,
      borderColor: LEARNED,
      backgroundColor: LEARNED,
      borderWidth: 3.5,
      pointRadius: 0,
      showLine: true,
      pointStyle: "line",
    });
  }
  // single models: labelled dots
  const singles = input.baselines.filter((b) => b.kind === "single");
  const singleData: XY[] = [];
  const singleNames: string[] = [];
  for (const b of singles) {
    for (const p of b.points) {
      const pts = xy([p]);
      if (pts.length === 0) continue;
      // models at the same spot share one dot and one label
      const at = singleData.findIndex((q) => q.x === pts[0]!.x && q.y === pts[0]!.y);
      if (at >= 0) singleNames[at] += ` = ${b.name.replace(/^single:/, "")}`;
      else {
        singleData.push(pts[0]!);
        singleNames.push(b.name.replace(/^single:/, ""));
      }
    }
  }
  if (singleData.length > 0)
    add({
      label: "single models",
      data: singleData,
      pointNames: singleNames,
      borderColor: "#333333",
      backgroundColor: withAlpha("#333333", 0.8),
      pointRadius: 5,
      pointStyle: "circle",
    });
  // marked points
  for (const b of input.baselines.filter((x) => x.kind === "point")) {
    const st = MARKS[b.name] ?? { colour: "#555555", style: "circle" };
    add({
      label: st.label ?? b.name,
      data: xy(b.points),
      borderColor: st.colour,
      backgroundColor: withAlpha(st.colour, 0.85),
      pointRadius: 8,
      pointStyle: st.style,
      borderWidth: 2,
    });
  }
  // the best single model's accuracy
  let best: { name: string; p: PoolPoint } | undefined;
  for (const b of singles)
    for (const p of b.points) if (!best || p.accuracy > best.p.accuracy) best = { name: b.name.replace(/^single:/, ""), p };
  const xs = all.map((p) => p.x);
  const ys = all.map((p) => p.y);
  const xMin = xs.length ? Math.min(...xs) : log ? 0.01 : 0;
  const xMax = xs.length ? Math.max(...xs) : 1;
  const range = log ? { min: xMin / 1.4, max: xMax * 1.4 } : { min: 0, max: 1 };
  if (best) {
    datasets.push({
      label: `best single model: ${best.p.accuracy.toFixed(3)}`,
      data: [
        { x: range.min, y: best.p.accuracy },
        { x: range.max, y: best.p.accuracy },
      ],
      borderColor: "#333333",
      borderWidth: 1,
      borderDash: [1, 3],
      pointRadius: 0,
      showLine: true,
      pointStyle: "line",
      clip: true,
    });
  }
  const yLo = ys.length ? Math.min(...ys) : 0;
  const yHi = ys.length ? Math.max(...ys) : 1;
  const pad = Math.max(0.005, (yHi - yLo) * 0.06);
  const subtitle = [
    log ? "x: mean $ per 1,000 items (every call counts), log scale" : "x: share of items that called the strong (most expensive) model",
    "lines: each curve's frontier (dominated operating points dropped)",
    ...(hidden > 0 ? [`${hidden} point${hidden === 1 ? "" : "s"} at $0 not drawn on the log axis`] : []),
  ].join("; ");
  const chart = {
    type: "scatter",
    data: { datasets },
    options: {
      layout: { padding: { right: 10 } },
      plugins: {
        title: { display: true, text: titleLines(input.title), font: { size: 16 } },
        subtitle: { display: true, text: subtitle, font: { size: 11 }, padding: { bottom: 8 } },
        legend: {
          position: "right",
          labels: {
            usePointStyle: true,
            font: { size: 11 },
            padding: 8,
            filter: (item: { datasetIndex?: number }) =>
              !(datasets[item.datasetIndex ?? -1] as { legendHidden?: boolean } | undefined)?.legendHidden,
          },
        },
      },
      scales: {
        x: log
          ? {
              type: "logarithmic",
              ...range,
              title: { display: true, text: "$ per 1,000 items (log scale)" },
              ticks: { callback: (v: number | string) => dollarTick(Number(v)), autoSkip: false },
            }
          : { type: "linear", ...range, title: { display: true, text: "share of items that called the strong model" } },
        y: { min: Math.max(0, yLo - pad), max: Math.min(1, yHi + pad), title: { display: true, text: "accuracy" } },
      },
    },
    plugins: [pointNames],
  } as unknown as ChartConfiguration;
  await renderPanels([{ chart, height: 640 }], file, 1150);
  return file;
}
