import { describe, expect, it } from "vitest";
import { gae } from "../src/algos/buffer.js";
import { calibrationLambda, LagrangeMultiplier, type LagrangeOptions } from "../src/algos/lagrange.js";
import { approxKl, clipFraction, clippedSurrogate, costSurrogate } from "../src/algos/surrogate.js";
import { tf } from "../src/policy/backend.js";

describe("GAE", () => {
  it("matches a hand-computed example", () => {
    // r = [1, 0, 2], V = [0.5, 1.0, 1.5], γ = 0.9, λ = 0.8, terminal after the last step:
    // δ2 = 2 − 1.5 = 0.5                 A2 = 0.5
    // δ1 = 0 + 0.9·1.5 − 1.0 = 0.35      A1 = 0.35 + 0.72·0.5  = 0.71
    // δ0 = 1 + 0.9·1.0 − 0.5 = 1.4       A0 = 1.4  + 0.72·0.71 = 1.9112
    const { advantages, returns } = gae([1, 0, 2], [0.5, 1.0, 1.5], 0.9, 0.8);
    expect(Array.from(advantages)).toEqual([expect.closeTo(1.9112, 12), expect.closeTo(0.71, 12), expect.closeTo(0.5, 12)]);
    expect(Array.from(returns)).toEqual([expect.closeTo(2.4112, 12), expect.closeTo(1.71, 12), expect.closeTo(2.0, 12)]);
  });

  it("with λ = 1 gives Monte-Carlo returns and with λ = 0 one-step TD errors", () => {
    const mc = gae([1, 0, 2], [0.5, 1.0, 1.5], 0.9, 1);
    expect(mc.returns[0]).toBeCloseTo(1 + 0.9 * 0 + 0.81 * 2, 12);
    const td = gae([1, 0, 2], [0.5, 1.0, 1.5], 0.9, 0);
    expect(td.advantages[1]).toBeCloseTo(0.35, 12);
  });
});

describe("clipped surrogates on a hand-made batch", () => {
  // ρ = [0.5, 1.0, 1.5, 1.3], A = [1, −1, 2, −2], ε = 0.2
  const ratio = [0.5, 1.0, 1.5, 1.3];
  const adv = [1, -1, 2, -2];
  const run = (f: (r: tf.Tensor1D, a: tf.Tensor1D) => tf.Scalar) => tf.tidy(() => f(tf.tensor1d(ratio), tf.tensor1d(adv)).dataSync()[0]!);

  it("PPO: mean min(ρA, clip(ρ)A)", () => {
    // rows: min(0.5, 0.8) = 0.5; −1; min(3, 2.4) = 2.4; min(−2.6, −2.4) = −2.6 → mean −0.175
    expect(run((r, a) => clippedSurrogate(r, a, 0.2))).toBeCloseTo(-0.175, 6);
  });

  it("P3O cost surrogate: pessimistic mean max(ρA_C, clip(ρ)A_C), or plain mean ρA_C", () => {
    // rows: max(0.5, 0.8) = 0.8; −1; max(3, 2.4) = 3; max(−2.6, −2.4) = −2.4 → mean 0.1
    expect(run((r, a) => costSurrogate(r, a, 0.2, true))).toBeCloseTo(0.1, 6);
    // (0.5 − 1 + 3 − 2.6)/4 = −0.025
    expect(run((r, a) => costSurrogate(r, a, 0.2, false))).toBeCloseTo(-0.025, 6);
  });

  it("clip fraction and approximate KL", () => {
    expect(run((r) => clipFraction(r, 0.2))).toBeCloseTo(0.75, 6);
    expect(tf.tidy(() => approxKl(tf.tensor1d([0, 0])).dataSync()[0]!)).toBe(0);
    // k3(log ρ = ln 2) = (2 − 1) − ln 2
    expect(tf.tidy(() => approxKl(tf.tensor1d([Math.log(2)])).dataSync()[0]!)).toBeCloseTo(1 - Math.log(2), 6);
  });
});

describe("Lagrange multiplier updates on a scripted cost sequence (d = 1)", () => {
  const base: LagrangeOptions = {
    init: 0,
    lr: 0.5,
    max: 2,
    kp: 1,
    optimizer: "plain",
    budget: 1,
    pid: { kp: 1, ki: 0.5, kd: 2, dDelay: 2, pEmaAlpha: 0.5, dEmaAlpha: 0.5 },
  };

  it("every optimiser steps on the relative violation (J_C − d)/d: the same λ path on any cost scale", () => {
    for (const optimizer of ["plain", "adam", "pid", "pi"] as const) {
      const costs = [3, 0, 1.5, 5, 0.2];
      const unit = new LagrangeMultiplier({ ...base, optimizer, init: 0.5, max: 100 });
      const scaled = new LagrangeMultiplier({ ...base, optimizer, init: 0.5, max: 100, budget: 250 });
      const a = costs.map((c) => unit.update(c));
      const b = costs.map((c) => scaled.update(250 * c));
      b.forEach((x, i) => expect(x).toBeCloseTo(a[i]!, 12));
    }
  });

  it("pi: u = max(λ_0, I), I ← max(0, I + η·u·Δ), λ = clamp(I + K_P·u·Δ) from I = λ_0", () => {
    const m = new LagrangeMultiplier({ ...base, optimizer: "pi", init: 0.5, lr: 0.5, kp: 1, max: 100 });
    // λ_0 = 0.5. Δ = 2, u = 0.5: I = 0.5 + 0.5·0.5·2 = 1, λ = 1 + 0.5·2 = 2;
    // Δ = −1, u = I = 1: I = 1 − 0.5 = 0.5, λ = clamp(0.5 − 1) = 0
    expect(m.update(3)).toBeCloseTo(2, 12);
    expect(m.update(0)).toBe(0);
    expect(m.state().pi!.integral).toBeCloseTo(0.5, 12);
    // a long slack drives I and λ to 0, and a violation lifts them again at once
    for (let i = 0; i < 10; i++) m.update(0);
    expect(m.lambda).toBe(0);
    expect(m.update(2)).toBeCloseTo(0.25 + 0.5, 12);
    const copy = new LagrangeMultiplier({ ...base, optimizer: "pi", init: 0.5, lr: 0.5, kp: 1, max: 100 });
    copy.restore(JSON.parse(JSON.stringify(m.state())));
    expect(copy.update(1.3)).toBe(m.update(1.3));
  });

  it("pi: above λ_0 the step is relative, so an underestimated λ_0 grows geometrically", () => {
    const m = new LagrangeMultiplier({ ...base, optimizer: "pi", init: 0.5, lr: 0.5, kp: 0, max: 100 });
    // a constant violation Δ = 1: I_k = 0.5·1.5^k (with the fixed unit λ_0 it would be 0.5 + 0.25·k)
    for (let k = 1; k <= 8; k++) expect(m.update(2)).toBeCloseTo(0.5 * 1.5 ** k, 9);
    // below λ_0 the pace is λ_0's again: from I = 0.2 a slack Δ = −1 takes 0.25, not 0.1
    m.restore({ ...m.state(), pi: { integral: 0.2, unit: 0.5 } });
    expect(m.update(0)).toBe(0);
  });

  it("init null: λ starts from the first calibration, later calibrations change nothing", () => {
    const m = new LagrangeMultiplier({ ...base, optimizer: "pi", init: null, lr: 1, kp: 0, max: 100 });
    m.calibrate({ lambda0: 0.3, unit: 9 });
    expect(m.lambda).toBeCloseTo(0.3, 12);
    m.calibrate({ lambda0: 7, unit: 7 });
    expect(m.lambda).toBeCloseTo(0.3, 12);
    expect(m.update(2)).toBeCloseTo(0.3 + 0.3, 12); // steps in units of λ_0
    // a non-positive estimate (reward does not grow with cost) starts at 0, and pi steps in the fallback unit
    const n = new LagrangeMultiplier({ ...base, optimizer: "pi", init: null, lr: 1, kp: 0, max: 100 });
    n.calibrate({ lambda0: -1, unit: 0.2 });
    expect(n.lambda).toBe(0);
    expect(n.update(2)).toBeCloseTo(0.2, 12);
    // an explicit init ignores the calibration
    const f = new LagrangeMultiplier({ ...base, init: 0.25 });
    f.calibrate({ lambda0: 3, unit: 3 });
    expect(f.lambda).toBe(0.25);
  });

  it("calibrationLambda: the slope of A_R on A_C, times d, on the loss's advantage scale", () => {
    // a one-step problem: three actions with cost 1, 2, 3 and success 0.2, 0.5, 0.6 (+ outcome noise
    // uncorrelated with cost): the slope is cov/var over the rows
    const advC = [-1, 0, 1, -1, 0, 1];
    const advR = [-0.2, 0.1, 0.2, -0.2, 0.1, 0.2].map((r, i) => r + (i < 3 ? 0.05 : -0.05));
    // mean(A_C) = 0: slope = Σ r·c / Σ c² = (0.15 + 0.25 + 0.25 + 0.15)/4 = 0.2
    expect(calibrationLambda(advR, advC, 1, 1, 1).lambda0).toBeCloseTo(0.2, 12);
    expect(calibrationLambda(advR, advC, 2.5, 1, 1).lambda0).toBeCloseTo(0.5, 12);
    expect(calibrationLambda(advR, advC, 1, 4, 2).lambda0).toBeCloseTo(0.4, 12);
    // unit = std(A_R)·d/std(A_C)
    const mr = advR.reduce((a, r) => a + r, 0) / 6;
    const sr = Math.sqrt(advR.reduce((a, r) => a + (r - mr) ** 2, 0) / 6);
    expect(calibrationLambda(advR, advC, 2, 1, 1).unit).toBeCloseTo((sr * 2) / Math.sqrt(4 / 6), 12);
    expect(calibrationLambda([1, 2], [3, 3], 1, 1, 1)).toEqual({ lambda0: 0, unit: 1 }); // no cost variation
  });

  it("plain: λ ← clamp(λ + η(J_C − d), 0, λ_max)", () => {
    const m = new LagrangeMultiplier(base);
    // 0 + 0.5·2 = 1; 1 − 0.5 = 0.5; 0.5 + 0.25 = 0.75; 0.75 + 2 → clamp 2; stays 2; 2 − 0.5·1 = 1.5; → 0
    expect([3, 0, 1.5, 5, 5, 0, -10].map((c) => m.update(c))).toEqual([1, 0.5, 0.75, 2, 2, 1.5, 0]);
  });

  it("adam: Adam on −λ(J_C − d), then clamp", () => {
    const m = new LagrangeMultiplier({ ...base, optimizer: "adam", lr: 0.1, max: 100 });
    // step 1: g = −2, m̂ = −2, v̂ = 4 → λ = 0 + 0.1·2/2 = 0.1
    expect(m.update(3)).toBeCloseTo(0.1, 9);
    // step 2: g = +1, m = 0.9·(−0.2) + 0.1 = −0.08, v = 0.999·0.004 + 0.001 = 0.004996
    //   m̂ = −0.08/0.19, v̂ = 0.004996/0.001999 → λ = 0.1 + 0.1·(0.08/0.19)/√(0.004996/0.001999)
    const expected = 0.1 + (0.1 * (0.08 / 0.19)) / Math.sqrt(0.004996 / (1 - 0.999 ** 2));
    expect(m.update(0)).toBeCloseTo(expected, 7); // ε = 1e-8 in the denominator
    expect(expected).toBeCloseTo(0.126634, 5);
  });

  it("pid: P with EMA, I clamped at 0, delayed derivative of the smoothed cost", () => {
    const m = new LagrangeMultiplier({ ...base, optimizer: "pid", max: 100 });
    // the delay queue starts as [0] (OmniSafe's PIDLagrangian): the first dDelay updates compare with 0
    // 1: Δ=2  I=1    P=1     C_D=1.5    D=1.5−0=1.5      λ = 1 + 1 + 3 = 5
    // 2: Δ=−1 I=0.5  P=0     C_D=0.75   D=0.75−0=0.75    λ = 0 + 0.5 + 1.5 = 2
    // 3: Δ=.5 I=0.75 P=0.25  C_D=1.125  D=max(0,1.125−1.5)=0 λ = 1.0
    // 4: Δ=4  I=2.75 P=2.125 C_D=3.0625 D=3.0625−0.75 (C_D two updates ago) = 2.3125  λ = 2.125+2.75+4.625 = 9.5
    const got = [3, 0, 1.5, 5].map((c) => m.update(c));
    expect(got.map((x) => Number(x.toFixed(9)))).toEqual([5, 2, 1, 9.5]);
    // the state round-trips through JSON (checkpoints)
    const copy = new LagrangeMultiplier({ ...base, optimizer: "pid", max: 100 });
    copy.restore(JSON.parse(JSON.stringify(m.state())));
    expect(copy.update(2)).toBe(m.update(2));
  });
});
