import { describe, expect, it } from "vitest";
import { Rng } from "../src/core/rng.js";
import {
  backtrackingLineSearch,
  conjugateGradient,
  cpoDirection,
  cpoJointStep,
  cpoStep,
  dot,
  fisherVectorProduct,
  flatParams,
  logitsJvp,
  setFlatParams,
  unflatten,
  type CpoStepOptions,
} from "../src/algos/cpo-step.js";
import { selectBackend, tf } from "../src/policy/backend.js";
import { CategoricalPolicy, oneHot } from "../src/policy/policy.js";

await selectBackend("cpu");

/** Dense symmetric matrix-vector product. */
function matVec(A: number[][], v: ArrayLike<number>): Float64Array {
  return Float64Array.from(A.map((row) => row.reduce((s, a, j) => s + a * v[j]!, 0)));
}

/** Exact solve by Gaussian elimination with partial pivoting. */
function solve(A: number[][], b: ArrayLike<number>): Float64Array {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[piv]![c]!)) piv = r;
    [M[c], M[piv]] = [M[piv]!, M[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r]![c]! / M[c]![c]!;
      for (let k = c; k <= n; k++) M[r]![k] = M[r]![k]! - f * M[c]![k]!;
    }
  }
  return Float64Array.from(M.map((row, i) => row[n]! / row[i]!));
}

describe("conjugate gradient", () => {
  it("solves a 6×6 SPD system to 1e-9 of the exact solution in n iterations", () => {
    const rng = new Rng("cg");
    const n = 6;
    const R = Array.from({ length: n }, () => Array.from({ length: n }, () => rng.normal()));
    // A = RᵀR + 0.5·I (symmetric positive definite)
    const A = Array.from({ length: n }, (_, i) =>
      Array.from({ length: n }, (_, j) => R.reduce((s, row) => s + row[i]! * row[j]!, 0) + (i === j ? 0.5 : 0)),
    );
    const b = Float64Array.from({ length: n }, () => rng.normal());
    const exact = solve(A, b);
    const { x, iterations } = conjugateGradient((v) => matVec(A, v), b, 50, 1e-24);
    expect(iterations).toBeLessThanOrEqual(n + 1);
    for (let i = 0; i < n; i++) expect(x[i]).toBeCloseTo(exact[i]!, 9);
    // with fewer iterations it is only an approximation (the test can fail)
    const rough = conjugateGradient((v) => matVec(A, v), b, 2);
    const err = Math.sqrt(rough.x.reduce((s, xi, i) => s + (xi - exact[i]!) ** 2, 0));
    expect(err).toBeGreaterThan(1e-6);
  });
});

/** A tiny tanh policy: 3 inputs → 4 hidden → 3 actions (35 parameters). */
function tinyPolicy(activation: "tanh" | "relu" = "tanh"): CategoricalPolicy {
  return new CategoricalPolicy(3, 3, { hidden: [4], activation, init: "orthogonal", outputGain: 1 }, new Rng(`tiny-${activation}`));
}

/** The Fisher of the mean KL, built explicitly: (1/N) Σ_t J_tᵀ(diag p_t − p_t p_tᵀ)J_t with J by central differences of the logits. */
function explicitFisher(policy: CategoricalPolicy, x: tf.Tensor2D): number[][] {
  const vars = policy.variables;
  const theta = flatParams(vars);
  const P = theta.length;
  const n = x.shape[0];
  const K = policy.numActions;
  const logitsAt = (th: Float64Array): Float64Array => {
    setFlatParams(vars, th);
    const t = tf.tidy(() => policy.net.apply(x));
    const out = Float64Array.from(t.dataSync());
    t.dispose();
    return out;
  };
  const h = 1e-3;
  const J: Float64Array[] = []; // J[i] = ∂logits/∂θ_i (n·K)
  for (let i = 0; i < P; i++) {
    const tp = Float64Array.from(theta);
    tp[i] = tp[i]! + h;
    const tm = Float64Array.from(theta);
    tm[i] = tm[i]! - h;
    const lp = logitsAt(tp);
    const lm = logitsAt(tm);
    J.push(lp.map((v, j) => (v - lm[j]!) / (2 * h)));
  }
  setFlatParams(vars, theta);
  const p0 = tf.tidy(() => tf.softmax(policy.net.apply(x)));
  const p = Float64Array.from(p0.dataSync());
  p0.dispose();
  const F = Array.from({ length: P }, () => new Array<number>(P).fill(0));
  for (let t = 0; t < n; t++) {
    for (let i = 0; i < P; i++) {
      for (let j = i; j < P; j++) {
        let s = 0;
        for (let a = 0; a < K; a++) {
          const pa = p[t * K + a]!;
          const ja = J[i]![t * K + a]!;
          let mj = pa * J[j]![t * K + a]!;
          for (let b = 0; b < K; b++) mj -= pa * p[t * K + b]! * J[j]![t * K + b]!;
          s += ja * mj;
        }
        F[i]![j] = F[i]![j]! + s / n;
        if (j !== i) F[j]![i] = F[i]![j]!;
      }
    }
  }
  return F;
}

describe("Fisher-vector products", () => {
  const x = tf.tensor2d([0.5, -1, 0.3, 1.2, 0.1, -0.7, -0.4, 0.9, 1.5, 0, 0.2, -0.3, 0.8, -1.1, 0.6], [5, 3]);

  it("forward-mode J·v matches a central difference of the logits (tanh and relu)", () => {
    for (const act of ["tanh", "relu"] as const) {
      const policy = tinyPolicy(act);
      const vars = policy.variables;
      const theta = flatParams(vars);
      const v = Float64Array.from({ length: theta.length }, (_, i) => Math.sin(i + 1));
      const tv = unflatten(vars, v);
      const jv = tf.tidy(() => logitsJvp(policy.net, x, tv).jv);
      const got = Array.from(jv.dataSync());
      tf.dispose([jv, ...tv]);
      const h = 1e-3;
      setFlatParams(
        vars,
        theta.map((t, i) => t + h * v[i]!),
      );
      const lp = tf.tidy(() => policy.net.apply(x));
      setFlatParams(
        vars,
        theta.map((t, i) => t - h * v[i]!),
      );
      const lm = tf.tidy(() => policy.net.apply(x));
      setFlatParams(vars, theta);
      const fd = Array.from(tf.tidy(() => tf.div(tf.sub(lp, lm), 2 * h)).dataSync());
      tf.dispose([lp, lm]);
      got.forEach((g, i) => expect(Math.abs(g - fd[i]!)).toBeLessThan(2e-3 * (1 + Math.abs(fd[i]!))));
      policy.dispose();
    }
  });

  it("analytic and finite-difference FVPs match an explicitly built Fisher matrix of a tiny policy", () => {
    const policy = tinyPolicy();
    const F = explicitFisher(policy, x);
    const P = F.length;
    const v = Float64Array.from({ length: P }, (_, i) => Math.cos(0.7 * i) - 0.2);
    const exact = matVec(F, v);
    const norm = Math.sqrt(dot(exact, exact));
    expect(norm).toBeGreaterThan(1e-3);
    const damping = 0.1;
    const analytic = fisherVectorProduct(policy.net, x, v, "analytic", damping);
    const fd = fisherVectorProduct(policy.net, x, v, "finite-difference", damping, 1e-2);
    // stated tolerance: relative L2 error ≤ 1e-3 (analytic: exact up to float32 and the reference's own
    // finite-difference Jacobian); ≤ 2e-2 for the finite difference of gradients (float32 gradients)
    const relErr = (got: Float64Array) => Math.sqrt(got.reduce((s, g, i) => s + (g - damping * v[i]! - exact[i]!) ** 2, 0)) / norm;
    expect(relErr(analytic)).toBeLessThan(1e-3);
    expect(relErr(fd)).toBeLessThan(2e-2);
    // the parameters are unchanged after the finite-difference product
    expect(Array.from(flatParams(policy.variables))).toEqual(Array.from(flatParams(tinyPolicy().variables)));
    policy.dispose();
  });
});

describe("CPO dual: the five cases on hand-set (g, b, c, H)", () => {
  const delta = 1; // ½xᵀHx ≤ 1
  function direction(g: number[], b: number[], c: number, H: number[][]) {
    const x = solve(H, g);
    const p = solve(H, b);
    return cpoDirection({ x, p, q: dot(g, x), r: dot(g, p), s: dot(b, p), bNormSq: dot(b, b), c, delta });
  }
  /** Brute-force optimum of max gᵀx s.t. c + bᵀx ≤ 0, ½xᵀHx ≤ δ over a fine polar grid of the ellipse. */
  function bruteForce(g: number[], b: number[], c: number, H: number[][]): { value: number; feasible: boolean } {
    let best = -Infinity;
    for (let i = 0; i < 2000; i++) {
      const ang = (2 * Math.PI * i) / 2000;
      const u = [Math.cos(ang), Math.sin(ang)];
      const uHu = dot(u, matVec(H, u));
      const rMax = Math.sqrt((2 * delta) / uHu);
      for (let k = 0; k <= 400; k++) {
        const xk = [(u[0]! * rMax * k) / 400, (u[1]! * rMax * k) / 400];
        if (c + dot(b, xk) <= 1e-12) best = Math.max(best, dot(g, xk));
      }
    }
    return { value: best, feasible: best > -Infinity };
  }
  const H = [
    [2, 0.5],
    [0.5, 1],
  ];

  it("case 4: b = 0 and c < 0 → the TRPO step √(2δ/q)·H⁻¹g", () => {
    const d = direction([1, 1], [0, 0], -1, H);
    expect(d.optimCase).toBe(4);
    const x = solve(H, [1, 1]);
    const alpha = Math.sqrt((2 * delta) / dot([1, 1], x));
    expect(d.step[0]).toBeCloseTo(alpha * x[0]!, 6);
    expect(d.step[1]).toBeCloseTo(alpha * x[1]!, 6);
    expect(0.5 * dot(d.step, matVec(H, d.step))).toBeCloseTo(delta, 6);
  });

  it("case 3: feasible and the whole trust region satisfies the constraint → TRPO step", () => {
    const d = direction([1, 1], [1, 0], -3, H);
    expect(d.optimCase).toBe(3);
    expect(0.5 * dot(d.step, matVec(H, d.step))).toBeCloseTo(delta, 6);
    expect(dot([1, 1], d.step)).toBeCloseTo(bruteForce([1, 1], [1, 0], -3, H).value, 3);
  });

  it("case 2: feasible, the constraint cuts the trust region → the constrained optimum (by hand with H = I)", () => {
    // max x1 + x2 s.t. x1 ≤ 0.5, x1² + x2² ≤ 2 → x = (0.5, √1.75)
    const d = direction([1, 1], [1, 0], -0.5, [
      [1, 0],
      [0, 1],
    ]);
    expect(d.optimCase).toBe(2);
    expect(d.step[0]).toBeCloseTo(0.5, 6);
    expect(d.step[1]).toBeCloseTo(Math.sqrt(1.75), 6);
    expect(d.nu).toBeCloseTo(1 - 0.5 / Math.sqrt(1.75), 6);
    // and on the non-diagonal H, against brute force
    const e = direction([1, 2], [1, 1], -0.8, H);
    expect(e.optimCase).toBe(2);
    expect(dot([1, 2], e.step)).toBeCloseTo(bruteForce([1, 2], [1, 1], -0.8, H).value, 2);
    expect(-0.8 + dot([1, 1], e.step)).toBeLessThanOrEqual(1e-6);
    expect(0.5 * dot(e.step, matVec(H, e.step))).toBeLessThanOrEqual(delta + 1e-6);
  });

  it("case 1: infeasible but recoverable → the best point of the feasible part (by hand with H = I)", () => {
    // max x1 + x2 s.t. x1 ≤ −0.5, x1² + x2² ≤ 2 → x = (−0.5, √1.75)
    const d = direction([1, 1], [1, 0], 0.5, [
      [1, 0],
      [0, 1],
    ]);
    expect(d.optimCase).toBe(1);
    expect(d.step[0]).toBeCloseTo(-0.5, 6);
    expect(d.step[1]).toBeCloseTo(Math.sqrt(1.75), 6);
    const e = direction([1, 2], [1, 1], 0.6, H);
    expect(e.optimCase).toBe(1);
    expect(dot([1, 2], e.step)).toBeCloseTo(bruteForce([1, 2], [1, 1], 0.6, H).value, 2);
    expect(0.6 + dot([1, 1], e.step)).toBeLessThanOrEqual(1e-6);
  });

  it("case 0: no feasible point in the trust region → infeasible recovery −√(2δ/s)·H⁻¹b", () => {
    const d = direction([1, 1], [1, 0], 3, H);
    expect(d.optimCase).toBe(0);
    expect(bruteForce([1, 1], [1, 0], 3, H).feasible).toBe(false);
    const p = solve(H, [1, 0]);
    const nu = Math.sqrt((2 * delta) / dot([1, 0], p));
    expect(d.step[0]).toBeCloseTo(-nu * p[0]!, 6);
    expect(d.step[1]).toBeCloseTo(-nu * p[1]!, 6);
    // the step decreases the cost as much as the trust region allows, ignoring the reward
    expect(0.5 * dot(d.step, matVec(H, d.step))).toBeCloseTo(delta, 6);
  });
});

describe("CPO line search", () => {
  const x = tf.tensor2d([0.5, -1, 0.3, 1.2, 0.1, -0.7, -0.4, 0.9, 1.5, 0, 0.2, -0.3], [4, 3]);
  const opts: CpoStepOptions = {
    targetKl: 0.01,
    cgIters: 10,
    cgDamping: 0.01,
    fvp: "analytic",
    fdEpsilon: 1e-3,
    lineSearchSteps: 1,
    lineSearchDecay: 0.5,
  };

  function batch() {
    const a = oneHot([0, 1, 2, 0], 3);
    return {
      x,
      actions: a,
      oldLogp: tf.tidy(() => tf.sum(tf.mul(tf.logSoftmax(tinyPolicy().net.apply(x)), a), 1)) as tf.Tensor1D,
      weights: tf.ones([4]) as tf.Tensor1D,
      advR: tf.tensor1d([1, -0.5, 0.8, -1]),
      advC: tf.tensor1d([0.2, -0.1, 0.4, -0.5]),
    };
  }

  it("rejects a step that breaks the KL bound and restores the parameters", () => {
    const policy = tinyPolicy();
    const theta0 = flatParams(policy.variables);
    const huge = Float64Array.from({ length: theta0.length }, (_, i) => 5 * Math.sin(i));
    let evaluated = 0;
    const res = backtrackingLineSearch({
      evaluate: (frac) => {
        evaluated++;
        setFlatParams(
          policy.variables,
          theta0.map((t, i) => t + frac * huge[i]!),
        );
        return { kl: 0.5, surrR: 1, surrC: 0 }; // reward improves, cost unchanged, KL far above δ
      },
      restore: () => setFlatParams(policy.variables, theta0),
      base: { surrR: 0, surrC: 0 },
      c: -1,
      optimCase: 2,
      delta: 0.01,
      steps: 3,
      decay: 0.5,
    });
    expect(evaluated).toBe(3);
    expect(res.accepted).toBe(0);
    expect(Array.from(flatParams(policy.variables))).toEqual(Array.from(theta0));
    policy.dispose();
  });

  it("on a real policy: a step beyond the trust region is rejected with one trial, backtracking finds one inside", () => {
    const b = batch();
    const policy = tinyPolicy();
    const theta0 = flatParams(policy.variables);
    const p0 = tf.tidy(() => tf.softmax(policy.net.apply(x)));
    const klNow = () => {
      const t = tf.tidy(() => tf.mean(tf.sum(tf.mul(p0, tf.sub(tf.log(p0), tf.logSoftmax(policy.net.apply(x)))), 1)));
      const v = t.dataSync()[0]!;
      t.dispose();
      return v;
    };
    // a proposal sized for δ = 1 (cpoStep with a huge trust region), checked against δ = 1e-3
    const big = cpoStep(policy.net, b, -1, { ...opts, targetKl: 1, lineSearchSteps: 1 });
    const step = flatParams(policy.variables).map((t, i) => t - theta0[i]!);
    expect(Math.sqrt(dot(step, step))).toBeGreaterThan(0);
    expect(big.lineSearch.accepted).toBe(1);
    const search = (steps: number) =>
      backtrackingLineSearch({
        evaluate: (frac) => {
          setFlatParams(
            policy.variables,
            theta0.map((t, i) => t + frac * step[i]!),
          );
          return { kl: klNow(), surrR: 1, surrC: 0 };
        },
        restore: () => setFlatParams(policy.variables, theta0),
        base: { surrR: 0, surrC: 0 },
        c: -1,
        optimCase: 2,
        delta: 1e-3,
        steps,
        decay: 0.5,
      });
    const rejected = search(1);
    expect(rejected.accepted).toBe(0);
    expect(Array.from(flatParams(policy.variables))).toEqual(Array.from(theta0));
    const backtracked = search(20);
    expect(backtracked.accepted).toBeGreaterThan(1);
    expect(backtracked.kl).toBeLessThanOrEqual(1e-3);
    expect(klNow()).toBeCloseTo(backtracked.kl, 9);
    // cpoStep itself with δ = 1e-3 ends inside the bound with a non-negative reward improvement
    const policy3 = tinyPolicy();
    const ok = cpoStep(policy3.net, b, -1, { ...opts, targetKl: 1e-3, lineSearchSteps: 15 });
    expect(ok.lineSearch.accepted).toBeGreaterThanOrEqual(1);
    expect(ok.lineSearch.kl).toBeLessThanOrEqual(1e-3);
    expect(ok.lineSearch.surrImprove).toBeGreaterThanOrEqual(0);
    tf.dispose([p0, b.actions, b.oldLogp, b.weights, b.advR, b.advC]);
    policy.dispose();
    policy3.dispose();
  });

  it("rejects a step that raises the cost surrogate by more than max(−c, 0)", () => {
    const res = backtrackingLineSearch({
      evaluate: () => ({ kl: 0, surrR: 1, surrC: 0.3 }),
      restore: () => {},
      base: { surrR: 0, surrC: 0 },
      c: -0.2, // slack 0.2 < rise 0.3
      optimCase: 2,
      delta: 0.01,
      steps: 4,
      decay: 0.5,
    });
    expect(res.accepted).toBe(0);
    const ok = backtrackingLineSearch({
      evaluate: () => ({ kl: 0, surrR: 1, surrC: 0.3 }),
      restore: () => {},
      base: { surrR: 0, surrC: 0 },
      c: -0.5,
      optimCase: 2,
      delta: 0.01,
      steps: 4,
      decay: 0.5,
    });
    expect(ok.accepted).toBe(1);
  });
});

describe("CPO step of several heads at once (macpo's joint step)", () => {
  const x = tf.tensor2d([0.5, -1, 0.3, 1.2, 0.1, -0.7, -0.4, 0.9, 1.5, 0, 0.2, -0.3], [4, 3]);
  const opts: CpoStepOptions = {
    targetKl: 0.01,
    cgIters: 10,
    cgDamping: 0.01,
    fvp: "analytic",
    fdEpsilon: 1e-3,
    lineSearchSteps: 15,
    lineSearchDecay: 0.8,
  };
  const advR = tf.tensor1d([1, -0.5, 0.8, -1]);
  const advC = tf.tensor1d([0.6, -0.1, 0.4, -0.5]);
  const weights = tf.ones([4]) as tf.Tensor1D;

  function headBatch(policy: CategoricalPolicy, acts: number[]) {
    const actions = oneHot(acts, 3);
    const oldLogp = tf.tidy(() => tf.sum(tf.mul(tf.logSoftmax(policy.net.apply(x)), actions), 1)) as tf.Tensor1D;
    return { x, actions, oldLogp, weights, advR, advC };
  }
  const logp = (policy: CategoricalPolicy, actions: tf.Tensor2D) =>
    Array.from(tf.tidy(() => tf.sum(tf.mul(tf.logSoftmax(policy.net.apply(x)), actions), 1)).dataSync());
  const kl = (policy: CategoricalPolicy, p0: tf.Tensor2D) => {
    const t = tf.tidy(() => tf.mean(tf.sum(tf.mul(p0, tf.sub(tf.log(p0), tf.logSoftmax(policy.net.apply(x)))), 1)));
    const v = t.dataSync()[0]!;
    t.dispose();
    return v;
  };

  it("with one head it is cpoStep: the same case, ν and end point", () => {
    for (const c of [-0.5, -0.01, 0.02]) {
      const a = tinyPolicy();
      const b = tinyPolicy();
      const one = cpoStep(a.net, headBatch(a, [0, 1, 2, 0]), c, opts);
      const joint = cpoJointStep([{ net: b.net, d: headBatch(b, [0, 1, 2, 0]) }], c, opts);
      expect(joint.optimCase).toBe(one.optimCase);
      expect(joint.nu).toBeCloseTo(one.nu, 6);
      expect(joint.lineSearch.accepted).toBe(one.lineSearch.accepted);
      const pa = flatParams(a.variables);
      const pb = flatParams(b.variables);
      for (let i = 0; i < pa.length; i++) expect(pb[i]).toBeCloseTo(pa[i]!, 6);
      a.dispose();
      b.dispose();
    }
  });

  it("with two heads: both move under one ν, the heads' KLs sum to the joint KL ≤ δ, the product-ratio surrogates are as reported", () => {
    for (const c of [-0.2, 0.01]) {
      const h1 = tinyPolicy();
      const h2 = new CategoricalPolicy(
        3,
        3,
        { hidden: [4], activation: "tanh", init: "orthogonal", outputGain: 1 },
        new Rng("tiny-second"),
      );
      const d1 = headBatch(h1, [0, 1, 2, 0]);
      const d2 = headBatch(h2, [2, 2, 0, 1]);
      const p1 = tf.tidy(() => tf.softmax(h1.net.apply(x)));
      const p2 = tf.tidy(() => tf.softmax(h2.net.apply(x)));
      const res = cpoJointStep(
        [
          { net: h1.net, d: d1 },
          { net: h2.net, d: d2 },
        ],
        c,
        opts,
      );
      expect(res.lineSearch.accepted).toBeGreaterThanOrEqual(1);
      const k1 = kl(h1, p1);
      const k2 = kl(h2, p2);
      expect(k1).toBeGreaterThan(0);
      expect(k2).toBeGreaterThan(0);
      expect(res.headKl[0]).toBeCloseTo(k1, 7);
      expect(res.headKl[1]).toBeCloseTo(k2, 7);
      expect(res.lineSearch.kl).toBeCloseTo(k1 + k2, 7);
      expect(k1 + k2).toBeLessThanOrEqual(opts.targetKl);
      // the joint surrogates by hand: ρ_t = ρ¹_t·ρ²_t
      const l1 = logp(h1, d1.actions);
      const l2 = logp(h2, d2.actions);
      const o1 = Array.from(d1.oldLogp.dataSync());
      const o2 = Array.from(d2.oldLogp.dataSync());
      const rho = l1.map((v, t) => Math.exp(v - o1[t]! + l2[t]! - o2[t]!));
      const aR = Array.from(advR.dataSync());
      const aC = Array.from(advC.dataSync());
      const mean = (f: (t: number) => number) => [0, 1, 2, 3].reduce((s, t) => s + f(t), 0) / 4;
      expect(res.surrC + res.lineSearch.costChange).toBeCloseTo(
        mean((t) => rho[t]! * aC[t]!),
        6,
      );
      expect(res.lineSearch.costChange).toBeLessThanOrEqual(Math.max(-c, 0) + 1e-9);
      expect(res.surrR + res.lineSearch.surrImprove).toBeCloseTo(
        mean((t) => rho[t]! * aR[t]!),
        6,
      ); // entropyCoef unset = 0
      tf.dispose([p1, p2, d1.actions, d1.oldLogp, d2.actions, d2.oldLogp]);
      h1.dispose();
      h2.dispose();
    }
  });
});
