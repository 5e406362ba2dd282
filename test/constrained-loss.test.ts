import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { lagrangianAdvantage } from "../src/algos/constraint.js";
import type { PreparedBatch } from "../src/algos/critics.js";
import type { DualStep, LossTerms, MinibatchTerms } from "../src/algos/on-policy.js";
import type { PpoLagrangianTrainer } from "../src/algos/ppo-lagrangian.js";
import { Rng } from "../src/core/rng.js";
import { buildEncoder, buildTrainer } from "../src/run/build.js";
import { loadConfig } from "../src/config/load.js";
import { selectBackend, tf } from "../src/policy/backend.js";
import { repoRoot } from "./helpers.js";

// The two constrained losses on a hand-made minibatch, against numbers computed by hand here.
// ε = 0.2; ratios: one inside the clip range, one above, one below.
const ratio = [1.1, 1.5, 0.6];
const advR = [1, 2, -1];
const advC = [0.5, -1, 2];
const eps = 0.2;

type Exposed = { policyLoss(mb: MinibatchTerms): LossTerms; dualStep(p: PreparedBatch): DualStep };

function minibatch(adv: ArrayLike<number> = advR): MinibatchTerms {
  return {
    ratio: tf.tensor1d(ratio),
    logRatio: tf.tensor1d(ratio.map(Math.log)),
    entropy: tf.tensor1d([0, 0, 0]),
    adv: tf.tensor1d(Float32Array.from(adv)),
    advC: tf.tensor1d(advC),
    size: 3,
  };
}

const clip = (r: number) => Math.min(Math.max(r, 1 - eps), 1 + eps);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** PPO's L^CLIP = mean min(ρA, clip(ρ)A). */
const lClip = (a: number[]) => mean(a.map((x, i) => Math.min(ratio[i]! * x, clip(ratio[i]!) * x)));

function trainer(sets: string[]) {
  const config = loadConfig(path.join(repoRoot, "configs", "sim-budget.yaml"), { sets: [`algo.ppo.clipRatio=${eps}`, ...sets] });
  const encoder = buildEncoder(config);
  return { config, t: buildTrainer(config, encoder, new Rng(1)) };
}

/** A prepared batch with the hand-made advantages, J_C and a mean episode length (P3O's 1/length scaling). */
function prepared(jc: number, lengths: number[]): PreparedBatch {
  const a = Float64Array.from(advR);
  const c = Float64Array.from(advC);
  const sv = (x: Float64Array) => ({ values: new Float64Array(x.length), advantages: x, returns: x });
  return { reward: sv(a), cost: sv(c), advR: a, advC: c, jc, meanLength: lengths.reduce((s, l) => s + l, 0) / lengths.length };
}

beforeAll(async () => {
  await selectBackend("auto");
});

const d = 2.5; // budget of sim-budget.yaml: the cost enters in budget units, A_C/d

describe("PPO-Lagrangian", () => {
  it("combines the advantages as (A_R − λ·A_C/d)/(1 + λ)", () => {
    for (const lam of [0, 0.5, 3]) {
      const got = lagrangianAdvantage(advR, advC, lam, d);
      advR.forEach((a, i) => expect(got[i]).toBeCloseTo((a - (lam * advC[i]!) / d) / (1 + lam), 6));
    }
  });

  it.each([0, 0.5, 3])("steps λ before the epochs and minimises −L^CLIP of the combined advantage at λ = %s", (lam) => {
    // plain dual ascent from λ_0 = lam at J_C = d: the step leaves λ where it is
    const { t } = trainer(["algo.name=ppo-lagrangian", "algo.dual.optimizer=plain", `algo.dual.lambdaInit=${lam}`]);
    const ex = t as unknown as Exposed;
    const step = ex.dualStep(prepared(d, [2]));
    expect(step.metrics.lambda).toBe(lam);
    const combined = advR.map((a, i) => (a - (lam * advC[i]!) / d) / (1 + lam));
    Array.from(step.advantage!).forEach((v, i) => expect(v).toBeCloseTo(combined[i]!, 6));
    expect((t as unknown as PpoLagrangianTrainer).lambda).toBe(lam);
    const got = tf.tidy(() => ex.policyLoss(minibatch(step.advantage)).loss.dataSync()[0]!);
    expect(got).toBeCloseTo(-lClip(combined), 5);
    t.dispose();
  });

  it("raises λ when J_C is over the budget", () => {
    const { t } = trainer(["algo.name=ppo-lagrangian", "algo.dual.optimizer=plain", "algo.dual.lambdaInit=0.5", "algo.dual.lambdaLr=0.2"]);
    const step = (t as unknown as Exposed).dualStep(prepared(1.5 * d, [2]));
    expect(step.metrics.lambda).toBeCloseTo(0.5 + 0.2 * 0.5, 12);
    t.dispose();
  });
});

describe("P3O loss", () => {
  const jc = 3.1; // J_C above the budget: the hinge is active
  const cases: Array<{ scale: string; clipCost: boolean; s: number }> = [
    { scale: "one", clipCost: true, s: 1 },
    { scale: "one", clipCost: false, s: 1 },
    { scale: "inverse-episode-length", clipCost: true, s: 1 / 2.5 },
    { scale: "one-minus-gamma", clipCost: true, s: 0 }, // sim-budget has γ_C = 1
  ];
  it.each(cases)("is −L_R^CLIP + κ·max(0, L_C/d + s·(J_C − d)/d) with scaling $scale, clipped cost surrogate $clipCost", (c) => {
    const kappa = 0.7;
    const { t } = trainer([
      "algo.name=p3o",
      "algo.p3o.kappaSchedule=fixed",
      `algo.p3o.kappa=${kappa}`,
      `algo.p3o.constraintScale=${c.scale}`,
      `algo.p3o.clipCostSurrogate=${c.clipCost}`,
    ]);
    const ex = t as unknown as Exposed;
    ex.dualStep(prepared(jc, [2, 3]));
    const lC = c.clipCost
      ? mean(advC.map((x, i) => Math.max(ratio[i]! * x, clip(ratio[i]!) * x)))
      : mean(advC.map((x, i) => ratio[i]! * x));
    const penalty = Math.max(0, lC / d + (c.s * (jc - d)) / d);
    const [loss, pen, active] = tf.tidy(() => {
      const r = ex.policyLoss(minibatch());
      return [r.loss.dataSync()[0]!, r.terms!.penalty!.dataSync()[0]!, r.terms!.penalty_active!.dataSync()[0]!];
    });
    expect(pen).toBeCloseTo(penalty, 5);
    expect(loss).toBeCloseTo(-lClip(advR) + kappa * penalty, 5);
    expect(active).toBe(penalty > 0 ? 1 : 0);
    t.dispose();
  });

  it("has no penalty when the surrogate and the constraint are well inside the budget", () => {
    const { t } = trainer(["algo.name=p3o", "algo.p3o.kappaSchedule=fixed", "algo.p3o.constraintScale=one"]);
    const ex = t as unknown as Exposed;
    ex.dualStep(prepared(0.5, [2]));
    const [loss, active] = tf.tidy(() => {
      const r = ex.policyLoss(minibatch());
      return [r.loss.dataSync()[0]!, r.terms!.penalty_active!.dataSync()[0]!];
    });
    expect(active).toBe(0);
    expect(loss).toBeCloseTo(-lClip(advR), 5);
    t.dispose();
  });
});
