import fs from "node:fs";
import path from "node:path";
import { Rng } from "../src/core/rng.js";

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
