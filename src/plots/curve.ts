import fs from "node:fs";
import path from "node:path";
import type { ChartConfiguration } from "chart.js";
import { combineCurves, curveRun, type CurveOptions, type CurveResult } from "../analysis/curve.js";
import type { CurvePoint } from "../analysis/metrics-routing.js";
import { InputError } from "../core/errors.js";
import { writeFileAtomic } from "../policy/io.js";
import { runCompletion } from "../run/status.js";
import { loadRunConfig } from "../run/resume.js";
import { poolCurveRun, type PoolCurveResult } from "../analysis/pool-curve.js";
import type { PoolPoint } from "../analysis/metrics-pool.js";
import { plotPoolCurve } from "./pool-curve.js";
import { palette, renderPanels, withAlpha } from "./render.js";

interface Line {
  label: string;
  points: CurvePoint[];
  colour: string;
  dash?: number[];
  radius?: number;
  width?: number;
  /** Marks only (no line between the points). */
  marks?: boolean;
}

const sortedBy = (ps: readonly CurvePoint[], key: "x" | "cost") => [...ps].sort((a, b) => a[key] - b[key]);

function panel(title: string, xLabel: string, lines: Line[], key: "x" | "cost", scale: number): ChartConfiguration {
  return {
    type: "scatter",
    data: {
      datasets: lines.map((l) => ({
        label: l.label,
        data: sortedBy(l.points, key).map((p) => ({ x: p[key] * scale, y: p.accuracy })),
        borderColor: l.colour,
        backgroundColor: withAlpha(l.colour, 0.8),
        pointRadius: l.radius ?? 0,
        pointStyle: l.marks ? "crossRot" : "circle",
        showLine: l.points.length > 1 && !l.marks,
        borderWidth: l.width ?? 2,
        borderDash: l.dash ?? [],
        clip: false,
      })),
    },
    options: {
      plugins: { title: { display: true, text: title, font: { size: 15 } }, legend: { display: true, position: "right" } },
      scales: {
        x: { type: "linear", title: { display: true, text: xLabel }, ...(key === "x" ? { min: 0, max: 1 } : { min: 0 }) },
        y: { title: { display: true, text: "accuracy" } },
      },
    },
  } as ChartConfiguration;
}

/**
 * The cost–quality PNG of `maestro curve`: accuracy on the axis the policy was trained for first (the share of
 * items that reached the strong model, or $ per 1,000 items; its title says so), with the points where the
 * learned curve falls below a baseline on it marked, then on the other axis; the learned policy (and, if
 * given, separately trained policies) beside every baseline.
 */
export async function plotCurve(r: CurveResult, file: string, extra: Array<{ label: string; points: CurvePoint[] }> = []): Promise<string> {
  await renderPanels(curvePanels(r, extra), file, 1000, 360);
  return file;
}

/** The two panels of {@link plotCurve}, the trained-for axis first. */
export function curvePanels(r: CurveResult, extra: Array<{ label: string; points: CurvePoint[] }> = []): ChartConfiguration[] {
  const b = (name: string) => r.baselines.find((x) => x.name === name);
  const lines: Line[] = [
    { label: r.knob ? `learned (${r.knob.name} swept)` : "learned", points: r.points, colour: palette[0]!, radius: 3, width: 3 },
    ...extra.map((e, i) => ({ label: e.label, points: e.points, colour: palette[(i + 5) % palette.length]!, radius: 4, width: 2 })),
    { label: b("best-rule")!.name + ` (${r.bestRule})`, points: b("best-rule")!.points, colour: palette[1]!, dash: [6, 4] },
    { label: "random mix (10 seeds)", points: b("random")!.points, colour: "#888888", dash: [3, 3] },
    { label: "per-item oracle", points: b("oracle")!.points, colour: palette[2]!, dash: [2, 2], width: 1 },
    { label: `always ${r.weak.agent}`, points: b("always-weak")!.points, colour: palette[4]!, radius: 7 },
    { label: `always ${r.strong.agent}`, points: b("always-strong")!.points, colour: palette[3]!, radius: 7 },
  ];
  const where = `${r.split === "test" ? "test" : "validation"} split, ${r.items} items`;
  const onDollars = r.trainedFor === "dollars";
  // the flags, at the learned curve's accuracy where it falls below a baseline (drawn on the trained-for axis only)
  const flagged: Line = {
    label: `below a baseline (by > ${r.tolerance})`,
    points: (r.below ?? []).map((b) => (onDollars ? { x: 0, cost: b.x, accuracy: b.learned } : { x: b.x, cost: 0, accuracy: b.learned })),
    colour: "#D00000",
    radius: 8,
    width: 3,
    marks: true,
  };
  const calls = (trained: boolean) =>
    panel(
      trained
        ? `TRAINED FOR strong-model calls: accuracy vs strong calls (${where})`
        : `accuracy vs strong-model calls (${where}; not the axis it was trained for)`,
      `share of items that reached ${r.strong.agent}`,
      trained && flagged.points.length > 0 ? [...lines, flagged] : lines,
      "x",
      1,
    );
  const dollars = (trained: boolean) =>
    panel(
      trained ? `TRAINED FOR dollars: accuracy vs $ (${where})` : `accuracy vs $ (${where}; not the axis it was trained for)`,
      "$ per 1,000 items (every call counted)",
      trained && flagged.points.length > 0 ? [...lines, flagged] : lines,
      "cost",
      1000,
    );
  return onDollars ? [dollars(true), calls(false)] : [calls(true), dollars(false)];
}

/** The curve's series as CSV rows: series, x, accuracy, cost, knob. */
export function curveCsv(r: CurveResult): string {
  const rows = ["series,x,accuracy,cost,knob"];
  const add = (name: string, ps: readonly CurvePoint[]) => {
    for (const p of sortedBy(ps, "x")) rows.push(`${name}${p.anchor ? "-anchor" : ""},${p.x},${p.accuracy},${p.cost},${p.knob ?? ""}`);
  };
  add("learned", r.points);
  for (const b of r.baselines) add(b.name, b.points);
  return rows.join("\n") + "\n";
}

export interface CurveCommandResult {
  result: CurveResult | PoolCurveResult;
  files: { csv: string; json: string; png: string };
  /** One line per run that has not finished training (also first in result.warnings). */
  unfinished: string[];
}

/**
 * `maestro curve <runDir..>`: one run (its policy; a knob sweep if budget-conditioned), or several runs
 * of policies that are not conditioned (e.g. a λ sweep of separately trained policies on the same data
 * and split), whose greedy points are joined into one curve. Writes curve.csv, curve.json and curve.png
 * to `out` (default `<runDir>/curve/`, or `curve/` in the runs' common parent folder).
 */
export async function curveCommand(runDirs: readonly string[], o: CurveOptions & { out?: string } = {}): Promise<CurveCommandResult> {
  if (runDirs.length === 0) throw new InputError("maestro curve: give a run folder");
  // a killed, interrupted or still-training run is said to be one; a run with no finished update is refused
  const unfinished = runDirs.map((d) => runCompletion(d).warning).filter((w): w is string => w !== undefined);
  const out = o.out ?? (runDirs.length === 1 ? path.join(runDirs[0]!, "curve") : path.join(commonParent(runDirs), "curve"));
  const files = { csv: path.join(out, "curve.csv"), json: path.join(out, "curve.json"), png: path.join(out, "curve.png") };
  if (runDirs.length === 1 && (await isPoolRunDir(runDirs[0]!))) {
    const r = await poolCurveRun(runDirs[0]!, o);
    const pool: PoolCurveResult = { ...r, warnings: [...unfinished, ...r.warnings] };
    fs.mkdirSync(out, { recursive: true });
    writeFileAtomic(files.csv, poolCurveCsv(pool));
    writeFileAtomic(files.json, JSON.stringify(pool, null, 2) + "\n");
    const where = `${pool.split === "test" ? "test" : "validation"} split, ${pool.items} items`;
    await plotPoolCurve(
      {
        title: `accuracy vs cost, ${pool.models.length} models (${where}; trained for ${pool.trainedFor})`,
        axis: "dollars",
        learned: [pool.learned],
        baselines: pool.baselines,
      },
      files.png,
    );
    return { result: pool, files, unfinished };
  }
  let result: CurveResult;
  if (runDirs.length === 1) result = await curveRun(runDirs[0]!, o);
  else {
    const parts: CurveResult[] = [];
    for (const d of runDirs) parts.push(await curveRun(d, o));
    result = combineCurves(parts);
  }
  result = { ...result, warnings: [...unfinished, ...result.warnings.filter((w) => !unfinished.includes(w))] };
  fs.mkdirSync(out, { recursive: true });
  writeFileAtomic(files.csv, curveCsv(result));
  writeFileAtomic(files.json, JSON.stringify(result, null, 2) + "\n");
  await plotCurve(result, files.png);
  return { result, files, unfinished };
}

/**
 * A free orchestration over three or more recorded models gets the N-model curve (src/analysis/pool-curve.ts);
 * cascades and routers keep the weak/strong curve of RouteLLM's metrics (cheapest and dearest model).
 */
async function isPoolRunDir(runDir: string): Promise<boolean> {
  const c = await loadRunConfig(runDir);
  return c.tasks.source === "recorded" && c.env.shape === "free" && c.agents.filter((a) => a.kind === "recorded").length >= 3;
}

/** An N-model curve's series as CSV rows: series, cost ($ per item), strong_share, accuracy, calls, param. */
export function poolCurveCsv(r: PoolCurveResult): string {
  const rows = ["series,cost,strong_share,accuracy,calls,param"];
  const add = (name: string, ps: readonly PoolPoint[]) => {
    for (const p of [...ps].sort((a, b) => a.cost - b.cost))
      rows.push(`${name},${p.cost},${p.strongShare},${p.accuracy},${p.calls},${p.param ?? ""}`);
  };
  add("learned", r.learned);
  for (const b of r.baselines) add(b.name, b.points);
  return rows.join("\n") + "\n";
}

function commonParent(dirs: readonly string[]): string {
  const parts = dirs.map((d) => path.resolve(d).split(path.sep));
  const common: string[] = [];
  for (let i = 0; ; i++) {
    const seg = parts[0]![i];
    if (seg === undefined || !parts.every((p) => p[i] === seg)) break;
    common.push(seg);
  }
  // the runs' common ancestor (never one of the runs itself)
  const c = common.join(path.sep) || path.sep;
  return dirs.some((d) => path.resolve(d) === c) ? path.dirname(c) : c;
}
