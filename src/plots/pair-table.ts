import { operatingOf, type CurveResult } from "../analysis/curve.js";
import type { DollarMetrics } from "../analysis/metrics-pool.js";
import type { CurveMetrics } from "../analysis/metrics-routing.js";
import { belowLines, trainedForText } from "./cost-axis.js";

const f = (v: number | null | undefined, d = 3) => (v === null || v === undefined ? "-" : v.toFixed(d));
const usd = (v: number | null) => (v === null ? "-" : (v * 1000).toFixed(2));
const pct = (v: number | null | undefined) =>
  v === null || v === undefined ? "-" : `${Math.abs(v) < 0.0005 ? "0" : (100 * v).toFixed(0)}%`;

/**
 * The table `maestro curve` prints for a weak/strong pair (router, cascade): the axis the policy was trained
 * for, then per policy RouteLLM's figures on the strong-calls axis (APGR, CPT, $ saved at the strong model's
 * accuracy), the $-axis figures (APGR$, accuracy at the more accurate model's $, the share of its $ at which its
 * accuracy is reached) and the operating points; then the flags on the trained-for axis.
 */
export function printPairCurve(r: CurveResult, unfinished: readonly string[], runs: number): void {
  console.log(
    `${r.split === "test" ? "test" : "VALIDATION"} split: ${r.items} items; weak ${r.weak.agent} (accuracy ${f(r.weak.accuracy)}, $${usd(r.weak.cost)}/1k), strong ${r.strong.agent} (accuracy ${f(r.strong.accuracy)}, $${usd(r.strong.cost)}/1k); shape ${r.shape}`,
  );
  console.log(`trained for: ${trainedForText(r.trainedFor)}; the best hand rule is chosen and the learned curve flagged on that axis`);
  if (r.knob)
    console.log(
      `knob: ${r.knob.name} swept over [${f(r.knob.min)}, ${f(r.knob.max)}] (cost unit ${r.knob.costUnit.toPrecision(4)}), ${r.points.filter((p) => !p.anchor).length} operating points`,
    );
  const ops = r.operating.map((o) => o.x);
  const mark = (axis: CurveResult["trainedFor"]) => (r.trainedFor === axis ? "*" : " ");
  console.log(
    `${"".padEnd(16)} ${`strong-calls axis${mark("strong-calls")}`.padEnd(29)} ${`$ axis${mark("dollars")}`.padEnd(24)} operating points (share of strong calls)`,
  );
  console.log(
    `${"policy".padEnd(16)} ${"APGR".padStart(6)} ${"CPT50".padStart(6)} ${"CPT80".padStart(6)} ${"saved@s".padStart(8)} ${"APGR$".padStart(6)} ${"acc@s$".padStart(7)} ${"$share@s".padStart(9)} ` +
      ops.map((x) => `acc@${x}  $/1k@${x}`).join(" "),
  );
  const row = (name: string, m: CurveMetrics, d: DollarMetrics, op: Array<{ accuracy: number | null; cost: number | null }>) =>
    console.log(
      `${name.padEnd(16)} ${f(m.apgr).padStart(6)} ${f(m.cpt50).padStart(6)} ${f(m.cpt80).padStart(6)} ${pct(m.savedAtStrong).padStart(8)} ` +
        `${f(d.apgrDollars).padStart(6)} ${f(d.accuracyAtBestCost).padStart(7)} ${pct(d.costShareAtBestAccuracy).padStart(9)} ` +
        op.map((o) => `${f(o.accuracy).padStart(7)} ${usd(o.cost).padStart(8)}`).join(" "),
    );
  row("learned", r, r.dollars, r.operating);
  for (const b of r.baselines) row(b.name, b, b.dollars, operatingOf(b, ops));
  console.log(
    `(* the axis it was trained for; acc@s$ = accuracy at the more accurate model's $, $share@s = share of its $ at which its accuracy is first reached)`,
  );
  const scores = r.ruleScores.map((x) => `${x.name} ${f(x.score)}`).join(", ");
  console.log(
    `best hand rule (chosen on validation by ${r.ruleScores[0]?.measure ?? "-"}, ${r.trainedFor} axis): ${r.bestRule} (${scores})`,
  );
  console.log(
    `learned curve vs random mix (strong-calls axis): smallest margin ${r.vsRandom.margin >= 0 ? "+" : ""}${r.vsRandom.margin.toFixed(4)} at x = ${r.vsRandom.x.toFixed(3)}`,
  );
  for (const l of belowLines(r.below, r.trainedFor, r.tolerance)) console.log(l);
  for (const w of r.warnings.filter((x) => !unfinished.includes(x))) console.log(`warning: ${w}`);
  if (unfinished.length > 0) console.log(`(${unfinished.length} of ${runs} run(s) not finished: see the warning above the table)`);
}
