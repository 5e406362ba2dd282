import { runSweepLocal, type SweepRunResult } from "./local.js";
import { loadSweep } from "./spec.js";

/** Prints the outcome of a sweep; throws (exit code 1) when any trial failed, after everything finished. */
export function reportSweep(r: Pick<SweepRunResult, "sweepDir" | "trials" | "skipped" | "ran" | "csv" | "md" | "plot">): void {
  console.log(`sweep: ${r.sweepDir} — ${r.trials.length} trials; ${r.ran} runs started, ${r.skipped} skipped (already done)`);
  for (const t of r.trials.slice(0, 10)) {
    const f = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : "-");
    console.log(
      `  #${t.rank} ${t.id} ${t.status.padEnd(10)} return ${f(t.return.mean)} [${f(t.return.lo)}, ${f(t.return.hi)}]  success ${f(t.success.mean, 2)}  cost ${f(t.cost.mean, 2)}  ${JSON.stringify(t.params)}`,
    );
  }
  if (r.trials.length > 10) console.log(`  ... ${r.trials.length - 10} more in ${r.md}`);
  console.log(`summary: ${r.csv}, ${r.md}` + (r.plot ? `\nplot: ${r.plot}` : ""));
  const failed = r.trials.filter((t) => t.status === "failed");
  if (failed.length) {
    for (const t of failed) {
      for (const s of t.seeds.filter((x) => x.status === "failed")) console.error(`failed: ${t.id} seed ${s.seed}: ${s.error ?? "failed"}`);
    }
    throw new Error(`${failed.length} of ${r.trials.length} trials failed (re-run the same command to retry them)`);
  }
}

export async function sweepCommand(
  file: string,
  o: { workers?: number; runsDir?: string; quiet?: boolean; queue?: string; dryRun?: boolean },
): Promise<void> {
  if (o.dryRun) {
    const s = loadSweep(file);
    console.log(
      `sweep ${s.name}: ${s.trials.length} trials × ${s.seeds.length} seeds (${s.seeds.join(", ")}) = ${s.trials.length * s.seeds.length} runs` +
        (s.duplicates ? ` (${s.duplicates} repeated random draws dropped)` : "") +
        `; valid against ${s.baseFile}`,
    );
    for (const t of s.trials) console.log(`  ${t.id}  ${JSON.stringify(t.params)}`);
    return;
  }
  if (o.queue) {
    const { runSweepQueue } = await import("./queue.js");
    reportSweep(
      await runSweepQueue(file, { url: o.queue, ...(o.runsDir ? { runsDir: o.runsDir } : {}), ...(o.quiet ? { quiet: o.quiet } : {}) }),
    );
    return;
  }
  reportSweep(await runSweepLocal(file, o));
}
