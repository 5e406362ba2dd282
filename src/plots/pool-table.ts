import type { PoolCurveResult } from "../analysis/pool-curve.js";
import { accuracyAt, firstReach } from "../analysis/metrics-pool.js";
import { belowLines, trainedForText } from "./cost-axis.js";

const f = (v: number | null | undefined, d = 3) => (v === null || v === undefined ? "-" : v.toFixed(d));
const pct = (v: number | null | undefined) => (v === null || v === undefined ? "-" : `${(100 * v).toFixed(1)}%`);

/**
 * The table `maestro curve` prints for a pool of N models: per policy, accuracy at the best single model's
 * $, the share of its $ at which the curve first reaches its accuracy, the $-axis area measure, and the
 * cheapest and best operating points; then the flags on the axis the policy was trained for.
 */
export function printPoolCurve(r: PoolCurveResult, unfinished: readonly string[]): void {
  const bestModel = r.models.find((m) => m.agent === r.best)!;
  console.log(`${r.split === "test" ? "test" : "VALIDATION"} split: ${r.items} items; ${r.models.length} models (cheapest ${r.cheapest}, most accurate ${r.best} ${f(bestModel.accuracy, 4)} at $${f(bestModel.cost * 1000, 3)}/1k items, strong = most expensive ${r.strong})`);
  console.log(`trained for: ${trainedForText(r.trainedFor)}; shape ${r.shape}${r.knob ? `; knob ${r.knob.name} swept over [${f(r.knob.min)}, ${f(r.knob.max)}], ${r.learned.length} operating points` : ""}`);
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
