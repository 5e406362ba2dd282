import fs from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import { Rng } from "../src/core/rng.js";
import { runCli } from "./helpers.js";

/**
 * A generated recorded-output file (maestro's JSONL layout) with three models of rising cost and
 * accuracy: each item has a latent difficulty d; `small` is right when d < 0.45, `medium` when d < 0.65,
 * `large` when d < 0.9. The small model states a `#### n` final answer when right and mostly not when
 * wrong, so its answer text predicts whether escalating pays. Costs are recorded per call.
 */
export function writeThreeModelFile(file: string, n = 120, seed = 1, idPrefix = "g"): string {
  const rng = new Rng(`gen:${seed}`);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const d = rng.next();
    const a = 10 + rng.int(90);
    const answer = (ok: boolean, form: boolean) =>
      form ? `We add the numbers: ${a - 3} + 3 = ${a}.\n#### ${ok ? a : a + 1}` : `It might be about ${a + 2}, but I am not sure.`;
    const small = d < 0.45;
    lines.push(
      JSON.stringify({
        id: `${idPrefix}${i}`,
        prompt: `Problem ${i}: what is ${a - 3} plus 3?`,
        answer: String(a),
        models: {
          small: { text: answer(small, small || rng.next() < 0.2), correct: small, cost: 0.001 },
          medium: { text: answer(d < 0.65, true), correct: d < 0.65, cost: 0.004 },
          large: { text: answer(d < 0.9, true), correct: d < 0.9, cost: 0.02 },
        },
      }),
    );
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

export interface CurveJson {
  apgr: number | null;
  cpt50: number | null;
  cpt80: number | null;
  points: Array<{ x: number; accuracy: number; cost: number; knob?: number }>;
  baselines: Array<{ name: string; apgr: number | null; points: unknown[] }>;
  weak: { agent: string };
  strong: { agent: string };
  split: string;
}

/** Checks a recorded run trained on the three-model file and draws its curve (`maestro curve --json`): the curve's files and figures. */
export function checkCurve(run: string): CurveJson {
  const cfg = fs.readFileSync(path.join(run, "config.yaml"), "utf8");
  for (const m of ["small", "medium", "large"]) expect(cfg).toContain(`model: ${m}`);
  const c = runCli(["curve", run, "--json", "--points", "5"]);
  expect(c.status, c.stderr).toBe(0);
  const r = JSON.parse(c.stdout) as CurveJson;
  expect(r.split).toBe("test");
  expect(r.weak.agent).toBe("small");
  expect(r.strong.agent).toBe("large");
  expect(typeof r.apgr).toBe("number");
  expect(r).toHaveProperty("cpt50");
  expect(r).toHaveProperty("cpt80");
  expect(r.points.length).toBeGreaterThanOrEqual(5);
  expect(r.baselines.map((b) => b.name)).toEqual(["always-weak", "always-strong", "random", "oracle", "best-rule"]);
  for (const f of ["curve.csv", "curve.json", "curve.png"]) expect(fs.existsSync(path.join(run, "curve", f)), f).toBe(true);
  expect(fs.readFileSync(path.join(run, "curve", "curve.csv"), "utf8").split("\n")[0]).toBe("series,x,accuracy,cost,knob");
  return r;
}
