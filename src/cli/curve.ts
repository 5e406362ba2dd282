/**
 * `maestro curve <runDirs..>`: the cost–quality curve of runs on recorded outputs (src/plots/curve.ts
 * computes and draws it), and the tables printed for it: weak/strong (APGR, CPT, operating points) or a
 * pool of N models.
 */
import type { Argv } from "yargs";
import type { CurveResult } from "../analysis/curve.js";
import { operatingOf } from "../analysis/curve.js";
import { accuracyAt, firstReach } from "../analysis/metrics-pool.js";
import type { PoolCurveResult } from "../analysis/pool-curve.js";
import { curveCommand } from "../plots/curve.js";
import { helpOf, type ArgsOf } from "./args.js";

const fixed = (v: number | null | undefined, d = 3) => (v === null || v === undefined ? "-" : v.toFixed(d));
const pct = (v: number | null | undefined) => (v === null || v === undefined ? "-" : `${(100 * v).toFixed(1)}%`);

export function builder(y: Argv) {
  return helpOf(
    y
      .positional("runDirs", { type: "string", array: true, demandOption: true, describe: "A run folder (or several runs of non-conditioned policies on the same data and split)." })
      .option("points", { type: "number", default: 21, describe: "Knob values swept (evenly spaced; up to as many more fill gaps in the x axis)." })
      .option("split", { type: "string", choices: ["test", "val"], default: "test", describe: "Evaluate on the test split (reported figures) or the validation split (for tuning)." })
      .option("out", { type: "string", describe: "Folder for curve.csv, curve.json, curve.png (default: <runDir>/curve/)." })
      .option("json", { type: "boolean", default: false, describe: "Print one JSON object (apgr, cpt50, cpt80, points, baselines, ...)." }),
    "curve",
    [["curve runs/gsm8k-cascade/<run>", "test-split curve, APGR, CPT and baselines"], ["curve runs/gsm8k-router/<run> --split val --json", "validation split, as JSON"]],
  );
}

export type Args = ArgsOf<typeof builder>;

export async function handler(a: Args): Promise<void> {
  const { result: res, files, unfinished } = await curveCommand(a.runDirs as string[], {
    points: a.points,
    split: a.split as "test" | "val",
    ...(a.out ? { out: a.out } : {}),
  });
  if (a.json) {
    console.log(JSON.stringify(res, null, 2));
    return;
  }
  for (const w of unfinished) console.log(`warning: ${w}`);
  if ("kind" in res) printPoolCurve(res, unfinished);
  else {
    printCurve(res, unfinished);
    if (unfinished.length > 0) console.log(`(${unfinished.length} of ${a.runDirs.length} run(s) not finished: see the warning above the table)`);
  }
  console.log(`wrote ${files.csv}, ${files.json}, ${files.png}`);
}

/** The weak/strong table: per policy APGR, CPT, the share saved at the strong model's accuracy and the operating points. */
function printCurve(r: CurveResult, unfinished: readonly string[]): void {
  const f = (v: number | null, d = 3) => (v === null ? "-" : v.toFixed(d));
  const usd = (v: number | null) => (v === null ? "-" : (v * 1000).toFixed(2));
  console.log(`${r.split === "test" ? "test" : "VALIDATION"} split: ${r.items} items; weak ${r.weak.agent} (accuracy ${f(r.weak.accuracy)}), strong ${r.strong.agent} (accuracy ${f(r.strong.accuracy)}); shape ${r.shape}`);
  if (r.knob) console.log(`knob: ${r.knob.name} swept over [${f(r.knob.min)}, ${f(r.knob.max)}] (cost unit ${r.knob.costUnit.toPrecision(4)}), ${r.points.filter((p) => !p.anchor).length} operating points`);
  const ops = r.operating.map((o) => o.x);
  console.log(`${"policy".padEnd(16)} ${"APGR".padStart(6)} ${"CPT50".padStart(6)} ${"CPT80".padStart(6)} ${"saved@s".padStart(8)} ` + ops.map((x) => `acc@${x}  $/1k@${x}`).join(" "));
  const row = (name: string, m: { apgr: number | null; cpt50: number | null; cpt80: number | null; savedAtStrong: number | null }, op: Array<{ accuracy: number | null; cost: number | null }>) =>
    console.log(
      `${name.padEnd(16)} ${f(m.apgr).padStart(6)} ${f(m.cpt50).padStart(6)} ${f(m.cpt80).padStart(6)} ${(m.savedAtStrong === null ? "-" : `${Math.abs(m.savedAtStrong) < 0.005 ? "0" : (100 * m.savedAtStrong).toFixed(0)}%`).padStart(8)} ` +
        op.map((o) => `${f(o.accuracy).padStart(7)} ${usd(o.cost).padStart(8)}`).join(" "),
    );
  row("learned", r, r.operating);
  for (const b of r.baselines) row(b.name, b, operatingOf(b, ops));
  console.log(`learned curve vs random mix: smallest margin ${r.vsRandom.margin >= 0 ? "+" : ""}${r.vsRandom.margin.toFixed(4)} at x = ${r.vsRandom.x.toFixed(3)} (${r.vsRandom.margin >= -1e-12 ? "at or above it everywhere" : "dips below it"})`);
  console.log(`best hand rule (chosen on validation): ${r.bestRule}`);
  for (const w of r.warnings.filter((x) => !unfinished.includes(x))) console.log(`warning: ${w}`);
}

/**
 * The table `maestro curve` prints for a pool of N models: per policy, accuracy at the best single model's
 * $, the share of its $ at which the curve first reaches its accuracy, the $-axis area measure, and the
 * cheapest and best operating points; then the flags on the axis the policy was trained for.
 */
function printPoolCurve(r: PoolCurveResult, unfinished: readonly string[]): void {
  const f = fixed;
  const bestModel = r.models.find((m) => m.agent === r.best)!;
  console.log(`${r.split === "test" ? "test" : "VALIDATION"} split: ${r.items} items; ${r.models.length} models (cheapest ${r.cheapest}, most accurate ${r.best} ${f(bestModel.accuracy, 4)} at $${f(bestModel.cost * 1000, 3)}/1k items, strong = most expensive ${r.strong})`);
  console.log(`trained for: ${r.trainedFor === "dollars" ? "dollars (every call's $)" : "strong-model calls (RouteLLM's count)"}; shape ${r.shape}${r.knob ? `; knob ${r.knob.name} swept over [${f(r.knob.min)}, ${f(r.knob.max)}], ${r.learned.length} operating points` : ""}`);
  const head = `${"policy".padEnd(22)} ${"acc@best$".padStart(9)} ${"$share@bestacc".padStart(14)} ${"APGR$".padStart(6)} ${"APGRcalls".padStart(9)} ${"best acc".padStart(8)} ${"$/1k".padStart(7)}`;
  console.log(head);
  const row = (name: string, pts: PoolCurveResult["learned"], d: PoolCurveResult["dollars"], calls: number | null) => {
    const top = [...pts].sort((a, b) => b.accuracy - a.accuracy || a.cost - b.cost)[0];
    console.log(
      `${name.slice(0, 22).padEnd(22)} ${f(d.accuracyAtBestCost, 4).padStart(9)} ${pct(d.costShareAtBestAccuracy).padStart(14)} ${f(d.apgrDollars).padStart(6)} ${f(calls).padStart(9)} ${f(top?.accuracy, 4).padStart(8)} ${f(top ? top.cost * 1000 : null, 3).padStart(7)}`,
    );
  };
  row("learned", r.learned, r.dollars, r.strongCalls.apgr);
  for (const b of r.baselines) row(b.name, b.points, b.dollars, null);
  const bestAcc = bestModel.accuracy;
  const reach = firstReach(r.learned, bestAcc, "dollars");
  console.log(
    `learned: ${f(accuracyAt(r.learned, bestModel.cost, "dollars"), 4)} accuracy at ${r.best}'s $; reaches its accuracy ${f(bestAcc, 4)} at ${reach === null ? "no point of the curve" : `$${f(reach * 1000, 3)}/1k (${pct(reach / bestModel.cost)} of its $)`}`,
  );
  if (r.below.length === 0) console.log(`on the ${r.trainedFor} axis it was trained for, the learned curve is at or above every baseline (tolerance ${r.tolerance})`);
  else {
    console.log(`BELOW A BASELINE on the ${r.trainedFor} axis it was trained for (tolerance ${r.tolerance}):`);
    for (const b of r.below.slice(0, 12)) console.log(`  ${b.baseline} at x = ${r.trainedFor === "dollars" ? `$${f(b.x * 1000, 3)}/1k` : f(b.x)}: learned ${f(b.learned, 4)} < ${f(b.baselineAccuracy, 4)} (by ${f(b.margin, 4)})`);
    if (r.below.length > 12) console.log(`  ... ${r.below.length - 12} more in curve.json ("below")`);
  }
  for (const w of r.warnings.filter((x) => !unfinished.includes(x))) console.log(`warning: ${w}`);
}
