/**
 * `maestro curve <runDirs..>`: the cost–quality curve of runs on recorded outputs (src/plots/curve.ts
 * computes and draws it), and the tables printed for it: weak/strong (APGR, CPT, operating points) or a
 * pool of N models.
 */
import type { Argv } from "yargs";
import { accuracyAt, firstReach } from "../analysis/metrics-pool.js";
import type { PoolCurveResult } from "../analysis/pool-curve.js";
import { belowLines, trainedForText } from "../plots/cost-axis.js";
import { curveCommand } from "../plots/curve.js";
import { printPairCurve } from "../plots/pair-table.js";
import { helpOf, type ArgsOf } from "./args.js";

const fixed = (v: number | null | undefined, d = 3) => (v === null || v === undefined ? "-" : v.toFixed(d));
const pct = (v: number | null | undefined) => (v === null || v === undefined ? "-" : `${(100 * v).toFixed(1)}%`);

export function builder(y: Argv) {
  return helpOf(
    y
      .positional("runDirs", {
        type: "string",
        array: true,
        demandOption: true,
        describe: "A run folder (or several runs of non-conditioned policies on the same data and split).",
      })
      .option("points", {
        type: "number",
        default: 21,
        describe: "Knob values swept (evenly spaced; up to as many more fill gaps in the x axis).",
      })
      .option("split", {
        type: "string",
        choices: ["test", "val"],
        default: "test",
        describe: "Evaluate on the test split (reported figures) or the validation split (for tuning).",
      })
      .option("out", { type: "string", describe: "Folder for curve.csv, curve.json, curve.png (default: <runDir>/curve/)." })
      .option("tolerance", {
        type: "number",
        default: 0.005,
        describe: "Accuracy margin under which a baseline above the learned curve (on the axis it was trained for) is not flagged.",
      })
      .option("json", { type: "boolean", default: false, describe: "Print one JSON object (apgr, cpt50, cpt80, points, baselines, ...)." }),
    "curve",
    [
      ["curve runs/gsm8k-cascade/<run>", "test-split curve, APGR, CPT and baselines"],
      ["curve runs/gsm8k-router/<run> --split val --json", "validation split, as JSON"],
    ],
  );
}

export type Args = ArgsOf<typeof builder>;

export async function handler(a: Args): Promise<void> {
  const {
    result: res,
    files,
    unfinished,
  } = await curveCommand(a.runDirs as string[], {
    points: a.points,
    split: a.split as "test" | "val",
    tolerance: a.tolerance,
    ...(a.out ? { out: a.out } : {}),
  });
  if (a.json) {
    console.log(JSON.stringify(res, null, 2));
    return;
  }
  for (const w of unfinished) console.log(`warning: ${w}`);
  if ("kind" in res) printPoolCurve(res, unfinished);
  else printPairCurve(res, unfinished, a.runDirs.length);
  console.log(`wrote ${files.csv}, ${files.json}, ${files.png}`);
}

/**
 * The table `maestro curve` prints for a pool of N models: per policy, accuracy at the best single model's
 * $, the share of its $ at which the curve first reaches its accuracy, the $-axis area measure, and the
 * cheapest and best operating points; then the flags on the axis the policy was trained for.
 */
function printPoolCurve(r: PoolCurveResult, unfinished: readonly string[]): void {
  const f = fixed;
  const bestModel = r.models.find((m) => m.agent === r.best)!;
  console.log(
    `${r.split === "test" ? "test" : "VALIDATION"} split: ${r.items} items; ${r.models.length} models (cheapest ${r.cheapest}, most accurate ${r.best} ${f(bestModel.accuracy, 4)} at $${f(bestModel.cost * 1000, 3)}/1k items, strong = most expensive ${r.strong})`,
  );
  console.log(
    `trained for: ${trainedForText(r.trainedFor)}; shape ${r.shape}${r.knob ? `; knob ${r.knob.name} swept over [${f(r.knob.min)}, ${f(r.knob.max)}], ${r.learned.length} operating points` : ""}`,
  );
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
  for (const l of belowLines(r.below, r.trainedFor, r.tolerance)) console.log(l);
  for (const w of r.warnings.filter((x) => !unfinished.includes(x))) console.log(`warning: ${w}`);
}
