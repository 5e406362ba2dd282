/**
 * The CPO trust-region step (Achiam, Held, Tamar & Abbeel 2017, "Constrained Policy Optimization"),
 * shared by the single-head `cpo` trainer and MACPO (one step per head). For one categorical policy
 * network with parameters θ (flattened), on a batch of N rows:
 *
 *   g = ∇θ L_R,  L_R = mean_t M_t·ρ_t·A^R_t     (reward surrogate, to maximise)
 *   b = ∇θ L_C,  L_C = mean_t M_t·ρ_t·A^C_t     (cost surrogate)
 *   H = Fisher of the mean KL(π_old‖π_θ) at θ_old = (1/N) Σ_t J_tᵀ(diag p_t − p_t p_tᵀ)J_t,
 *       J_t = ∂logits_t/∂θ,
 * with ρ_t = π_θ(a_t|s_t)/π_old(a_t|s_t) and M_t = 1 (CPO) or the product of the probability ratios
 * of the heads already updated in this iteration (MACPO's sequential correction). The step solves
 * the linear-quadratic problem (paper eq. 10)
 *
 *   max_x gᵀx   s.t.   c + bᵀx ≤ 0,   ½xᵀHx ≤ δ
 *
 * through its dual (paper Theorem 1 and appendix 10.2): with x̂ = H⁻¹g and p̂ = H⁻¹b from conjugate
 * gradient, q = x̂ᵀHx̂, r = gᵀp̂, s = bᵀp̂, A = q − r²/s, B = 2δ − c²/s, the five cases numbered as in
 * the reference implementations (Achiam's safe-rl code, OmniSafe, Safe-Policy-Optimization/MACPO):
 *
 *   4: bᵀb ≈ 0 and c < 0 — the constraint is irrelevant: the TRPO step √(2δ/q)·x̂;
 *   3: c < 0 and B < 0 — the whole trust region is feasible: the TRPO step;
 *   2: c < 0 and B ≥ 0 — feasible now, the constraint boundary cuts the trust region;
 *   1: c ≥ 0 and B ≥ 0 — infeasible now, but a feasible part of the trust region exists (recovery);
 *   0: c ≥ 0 and B < 0 — no feasible point in the trust region: the infeasible recovery step
 *      −√(2δ/s)·p̂ (pure decrease of the cost).
 * In cases 1–2 the dual variables are λ* = argmax of f_a(λ) = −½(A/λ + Bλ) + rc/s on the region where
 * ν > 0 and f_b(λ) = −½(q/λ + 2δλ) on the region where ν = 0 (the regions meet at λ_mid = −r/c), and
 * ν* = max(0, λ*c + r)/s; the step is x* = (x̂ − ν*p̂)/λ*.
 * (Sign convention: g is the gradient of the reward surrogate; the reference code uses the gradient of
 * the loss −L_R, which turns its r into −r and its λ_mid = r/c into ours.)
 *
 * The step is then checked by a backtracking line search (paper §6.3; OmniSafe's _cpo_search_step):
 * θ = θ_old + decay^j·x*, accepted at the first j where the mean KL ≤ δ, the cost surrogate rises by
 * no more than max(−c, 0), and (feasible cases 2–4) the reward surrogate does not decrease; if no j
 * passes, θ_old is restored.
 *
 * Second derivatives are never taken (tfjs 4.22 gets them wrong for tanh/softmax/exp; docs/architecture.md, tfjs limits): the
 * Fisher-vector product is either analytic — J·v by exact forward-mode propagation through the MLP
 * (tangents of each layer), then Jᵀu as the gradient of Σ u⊙logits with u fixed — or a central finite
 * difference (∇KL(θ + εv) − ∇KL(θ − εv))/(2ε) of two first-order gradients.
 */
import { tf } from "../policy/backend.js";
import type { Mlp } from "../policy/mlp.js";

const EPS = 1e-8;

// ---------------------------------------------------------------------------------------------
// Flat parameter vectors (float64 in JS; the policies are small)

/** The variables' current values as one float64 vector. */
export function flatParams(vars: readonly tf.Variable[]): Float64Array {
  return flatten(vars);
}

export function setFlatParams(vars: readonly tf.Variable[], flat: ArrayLike<number>): void {
  let off = 0;
  for (const v of vars) {
    const part = Float32Array.from({ length: v.size }, (_, i) => flat[off + i]!);
    const t = tf.tensor(part, v.shape);
    v.assign(t);
    t.dispose();
    off += v.size;
  }
}

/** Flattens one tensor per variable (in variable order) into a float64 vector. */
export function flatten(parts: readonly tf.Tensor[]): Float64Array {
  const n = parts.reduce((s, t) => s + t.size, 0);
  const out = new Float64Array(n);
  let off = 0;
  for (const t of parts) {
    out.set(t.dataSync() as Float32Array, off);
    off += t.size;
  }
  return out;
}

/** Splits a flat vector into tensors shaped like `vars` (the caller disposes them). */
export function unflatten(vars: readonly tf.Variable[], flat: ArrayLike<number>): tf.Tensor[] {
  let off = 0;
  return vars.map((v) => {
    const part = Float32Array.from({ length: v.size }, (_, i) => flat[off + i]!);
    off += v.size;
    return tf.tensor(part, v.shape);
  });
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Conjugate gradient

/**
 * Solves A·x = b for symmetric positive-definite A given only products A·v (Hestenes & Stiefel;
 * Nocedal & Wright Alg. 5.2), starting from x = 0, for at most `iters` iterations or until rᵀr < tol.
 */
export function conjugateGradient(
  Av: (v: Float64Array) => Float64Array,
  b: Float64Array,
  iters: number,
  tol = 1e-10,
): { x: Float64Array; iterations: number; residual: number } {
  const n = b.length;
  const x = new Float64Array(n);
  const r = Float64Array.from(b);
  const p = Float64Array.from(b);
  let rr = dot(r, r);
  let it = 0;
  for (; it < iters && rr > tol; it++) {
    const z = Av(p);
    const pz = dot(p, z);
    if (!(pz > 0)) break; // not positive definite along p (or p = 0): stop with the current x
    const alpha = rr / pz;
    for (let i = 0; i < n; i++) {
      x[i] = x[i]! + alpha * p[i]!;
      r[i] = r[i]! - alpha * z[i]!;
    }
    const rrNew = dot(r, r);
    const beta = rrNew / rr;
    for (let i = 0; i < n; i++) p[i] = r[i]! + beta * p[i]!;
    rr = rrNew;
  }
  return { x, iterations: it, residual: Math.sqrt(rr) };
}

// ---------------------------------------------------------------------------------------------
// The closed-form dual (the five cases)

export interface CpoDualInput {
  /** x̂ = H⁻¹g. */
  x: Float64Array;
  /** p̂ = H⁻¹b. */
  p: Float64Array;
  /** q = gᵀH⁻¹g (= x̂ᵀHx̂). */
  q: number;
  /** r = gᵀH⁻¹b. */
  r: number;
  /** s = bᵀH⁻¹b. */
  s: number;
  /** bᵀb (case 4 test). */
  bNormSq: number;
  /** Constraint value c (J_C − d, scaled); c > 0 = currently infeasible. */
  c: number;
  /** Trust region δ. */
  delta: number;
}

export interface CpoDirection {
  /** 0..4, numbered as in the reference implementations (see the module comment). */
  optimCase: number;
  /** The step x* (θ_new = θ_old + x* before the line search). */
  step: Float64Array;
  lambda: number;
  nu: number;
}

/** CPO's analytic solution of the linear-quadratic step problem (see the module comment). */
export function cpoDirection(d: CpoDualInput): CpoDirection {
  const { x, p, q, c, delta } = d;
  let { r, s } = d;
  let A = 0;
  let B = 0;
  let optimCase: number;
  if (d.bNormSq <= 1e-8 && c < 0) {
    r = 0;
    s = 0;
    optimCase = 4;
  } else {
    A = q - (r * r) / (s + EPS); // ≥ 0 by Cauchy–Schwarz
    B = 2 * delta - (c * c) / (s + EPS); // ≥ 0 ⇔ the constraint boundary meets the trust region
    if (c < 0 && B < 0) optimCase = 3;
    else if (c < 0 && B >= 0) optimCase = 2;
    else if (c >= 0 && B >= 0) optimCase = 1;
    else optimCase = 0;
  }
  const n = x.length;
  const step = new Float64Array(n);
  if (optimCase === 3 || optimCase === 4) {
    const lambda = Math.sqrt(q / (2 * delta));
    for (let i = 0; i < n; i++) step[i] = x[i]! / (lambda + EPS);
    return { optimCase, step, lambda, nu: 0 };
  }
  if (optimCase === 0) {
    const nu = Math.sqrt((2 * delta) / (s + EPS));
    for (let i = 0; i < n; i++) step[i] = -nu * p[i]!;
    return { optimCase, step, lambda: 0, nu };
  }
  // cases 1 and 2
  const lamMid = -r / c;
  const lMid = -0.5 * (q / lamMid + lamMid * 2 * delta);
  let lamA = Math.sqrt(A / (B + EPS));
  let lA = -Math.sqrt(A * B) + (r * c) / (s + EPS);
  let lamB = Math.sqrt(q / (2 * delta));
  let lB = -Math.sqrt(2 * q * delta);
  let lambda: number;
  if (lamMid > 0) {
    if (c < 0) {
      // ν > 0 on [0, λ_mid), ν = 0 beyond
      if (lamA > lamMid) {
        lamA = lamMid;
        lA = lMid;
      }
      if (lamB < lamMid) {
        lamB = lamMid;
        lB = lMid;
      }
    } else {
      // ν > 0 beyond λ_mid, ν = 0 on [0, λ_mid)
      if (lamA < lamMid) {
        lamA = lamMid;
        lA = lMid;
      }
      if (lamB > lamMid) {
        lamB = lamMid;
        lB = lMid;
      }
    }
    lambda = lA >= lB ? lamA : lamB;
  } else {
    lambda = c < 0 ? lamB : lamA;
  }
  const nu = Math.max(0, lambda * c + r) / (s + EPS);
  for (let i = 0; i < n; i++) step[i] = (x[i]! - nu * p[i]!) / (lambda + EPS);
  return { optimCase, step, lambda, nu };
}

// ---------------------------------------------------------------------------------------------
// Backtracking line search

export interface LineSearchPoint {
  /** Mean KL(π_old‖π) at the trial point. */
  kl: number;
  /** Reward surrogate L_R at the trial point. */
  surrR: number;
  /** Cost surrogate L_C at the trial point. */
  surrC: number;
}

export interface LineSearchOptions {
  /** Moves the parameters to θ_old + frac·x* and evaluates there. */
  evaluate(frac: number): LineSearchPoint;
  /** Puts θ_old back. */
  restore(): void;
  /** Surrogates at θ_old. */
  base: { surrR: number; surrC: number };
  c: number;
  optimCase: number;
  delta: number;
  steps: number;
  decay: number;
}

export interface LineSearchResult {
  /** 1-based index of the accepted trial (fraction decay^(j−1)); 0 = every trial rejected, θ_old restored. */
  accepted: number;
  /** Accepted step fraction (0 when rejected). */
  frac: number;
  /** KL, reward-surrogate improvement and cost-surrogate change at the accepted point (0 when rejected). */
  kl: number;
  surrImprove: number;
  costChange: number;
}

/**
 * Tries θ_old + decay^j·x* for j = 0..steps−1 and keeps the first point where the KL ≤ δ, the cost
 * surrogate rises by at most max(−c, 0) and, in the feasible cases (2–4), the reward surrogate does not
 * decrease; otherwise restores θ_old.
 */
export function backtrackingLineSearch(o: LineSearchOptions): LineSearchResult {
  let frac = 1;
  for (let j = 0; j < o.steps; j++) {
    const pt = o.evaluate(frac);
    const improve = pt.surrR - o.base.surrR;
    const costChange = pt.surrC - o.base.surrC;
    const finite = Number.isFinite(pt.kl) && Number.isFinite(pt.surrR) && Number.isFinite(pt.surrC);
    const ok = finite && !(o.optimCase > 1 && improve < 0) && costChange <= Math.max(-o.c, 0) && pt.kl <= o.delta;
    if (ok) return { accepted: j + 1, frac, kl: pt.kl, surrImprove: improve, costChange };
    frac *= o.decay;
  }
  o.restore();
  return { accepted: 0, frac: 0, kl: 0, surrImprove: 0, costChange: 0 };
}

// ---------------------------------------------------------------------------------------------
// Fisher-vector products of a categorical MLP policy

function activationDerivative(net: Mlp, z: tf.Tensor2D, a: tf.Tensor2D): tf.Tensor2D {
  switch (net.opts.activation) {
    case "tanh":
      return tf.sub(1, tf.square(a));
    case "relu":
      return tf.cast(tf.greater(z, 0), "float32") as tf.Tensor2D;
    case "elu":
      return tf.where(tf.greater(z, 0), tf.onesLike(z), tf.exp(z));
    case "leaky-relu":
      return tf.where(tf.greater(z, 0), tf.onesLike(z), tf.fill(z.shape, 0.01));
  }
}

function applyActivation(net: Mlp, z: tf.Tensor2D): tf.Tensor2D {
  switch (net.opts.activation) {
    case "tanh":
      return tf.tanh(z);
    case "relu":
      return tf.relu(z);
    case "elu":
      return tf.elu(z);
    case "leaky-relu":
      return tf.leakyRelu(z, 0.01);
  }
}

/**
 * Logits of the MLP and their directional derivative J·v along parameter tangents `tv` (one tensor per
 * variable), by forward-mode propagation: ż_l = ḣ_{l−1}W_l + h_{l−1}Ẇ_l + ḃ_l, ḣ_l = act′(z_l)⊙ż_l.
 * Exact, no gradient taken (call inside tf.tidy).
 */
export function logitsJvp(net: Mlp, x: tf.Tensor2D, tv: readonly tf.Tensor[]): { logits: tf.Tensor2D; jv: tf.Tensor2D } {
  const vars = net.variables;
  const L = vars.length / 2;
  let h = x;
  let dh: tf.Tensor2D | null = null;
  for (let l = 0; l < L; l++) {
    const W = vars[2 * l] as tf.Tensor2D;
    const z = tf.add(tf.matMul(h, W), vars[2 * l + 1]!) as tf.Tensor2D;
    let dz = tf.add(tf.matMul(h, tv[2 * l] as tf.Tensor2D), tv[2 * l + 1]!) as tf.Tensor2D;
    if (dh) dz = tf.add(dz, tf.matMul(dh, W)) as tf.Tensor2D;
    if (l + 1 < L) {
      const a = applyActivation(net, z);
      dh = tf.mul(activationDerivative(net, z, a), dz) as tf.Tensor2D;
      h = a;
    } else {
      return { logits: z, jv: dz };
    }
  }
  throw new Error("logitsJvp: network without layers");
}

export type FvpMode = "analytic" | "finite-difference";

/**
 * H·v + damping·v with H the Fisher of the mean KL(π_old‖π_θ) over the rows of `x`, at the network's
 * current parameters (which must be θ_old: the Fisher equals the KL's Hessian there).
 */
export function fisherVectorProduct(
  net: Mlp,
  x: tf.Tensor2D,
  v: Float64Array,
  mode: FvpMode,
  damping: number,
  fdEpsilon = 1e-3,
  /** π_old(·|s) per row; needed by the finite-difference mode (computed when absent). */
  oldProbs?: tf.Tensor2D,
): Float64Array {
  const vars = net.variables;
  const n = x.shape[0];
  let hv: Float64Array;
  if (mode === "analytic") {
    const tv = unflatten(vars, v);
    // u = (diag p − ppᵀ)(J·v)/N per row; fixed (no gradient flows through it)
    const u = tf.tidy(() => {
      const { logits, jv } = logitsJvp(net, x, tv);
      const p = tf.softmax(logits);
      const pjv = tf.mul(p, jv);
      return tf.div(tf.sub(pjv, tf.mul(p, tf.sum(pjv, 1, true))), n);
    });
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(u, net.apply(x))) as tf.Scalar, vars);
    hv = flatten(vars.map((w) => grads[w.name]!));
    tf.dispose([u, value, ...tv, ...Object.values(grads)]);
  } else {
    const norm = Math.sqrt(dot(v, v));
    if (norm === 0) return new Float64Array(v.length);
    const eps = fdEpsilon / norm;
    const theta = flatParams(vars);
    const pOld = oldProbs ?? tf.tidy(() => tf.softmax(net.apply(x)));
    const logPOld = tf.tidy(() => tf.log(tf.maximum(pOld, 1e-30)));
    const klGrad = (sign: number): Float64Array => {
      setFlatParams(
        vars,
        theta.map((t, i) => t + sign * eps * v[i]!),
      );
      const { value, grads } = tf.variableGrads(
        () => tf.mean(tf.sum(tf.mul(pOld, tf.sub(logPOld, tf.logSoftmax(net.apply(x)))), 1)) as tf.Scalar,
        vars,
      );
      const out = flatten(vars.map((w) => grads[w.name]!));
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    };
    const gp = klGrad(1);
    const gm = klGrad(-1);
    setFlatParams(vars, theta);
    if (!oldProbs) pOld.dispose();
    logPOld.dispose();
    hv = gp.map((a, i) => (a - gm[i]!) / (2 * eps));
  }
  for (let i = 0; i < hv.length; i++) hv[i] = hv[i]! + damping * v[i]!;
  return hv;
}

// ---------------------------------------------------------------------------------------------
// One CPO step of one head

export interface CpoStepOptions {
  /** Trust region δ on the mean KL. */
  targetKl: number;
  cgIters: number;
  cgDamping: number;
  fvp: FvpMode;
  fdEpsilon: number;
  lineSearchSteps: number;
  lineSearchDecay: number;
  /** β of an entropy bonus added to the reward surrogate, L_R + β·mean H(π_θ(·|s)) (MACPO's code does; 0 = off). */
  entropyCoef?: number;
}

/** The batch of one head (all tensors N rows; the caller owns and disposes them). */
export interface CpoHeadBatch {
  x: tf.Tensor2D;
  /** One-hot of the head's actions (N × K). */
  actions: tf.Tensor2D;
  /** log π_old(a|s) of the head's actions. */
  oldLogp: tf.Tensor1D;
  /** M_t: 1, or the product of ratios of heads already updated (MACPO). */
  weights: tf.Tensor1D;
  advR: tf.Tensor1D;
  advC: tf.Tensor1D;
}

export interface CpoStepResult {
  optimCase: number;
  lambda: number;
  nu: number;
  lineSearch: LineSearchResult;
  /** Surrogates at θ_old. */
  surrR: number;
  surrC: number;
  /** ‖x*‖ of the proposed step. */
  stepNorm: number;
  cgResidual: number;
}

/** Reward and cost surrogates and mean KL(π_old‖π_θ) at the current parameters (inside a tidy). */
function surrogates(
  net: Mlp,
  d: CpoHeadBatch,
  pOld: tf.Tensor2D,
  logPOld: tf.Tensor2D,
  entropyCoef = 0,
): { lr: tf.Scalar; lc: tf.Scalar; kl: tf.Scalar } {
  const logSm = tf.logSoftmax(net.apply(d.x));
  const ent = entropyCoef !== 0 ? tf.mul(tf.neg(tf.mean(tf.sum(tf.mul(tf.exp(logSm), logSm), 1))), entropyCoef) : tf.scalar(0);
  // one-hot · sum, not tf.gather: its gradient fails on the wasm backend
  const logp = tf.sum(tf.mul(logSm, d.actions), 1);
  const wRatio = tf.mul(d.weights, tf.exp(tf.sub(logp, d.oldLogp)));
  return {
    lr: tf.add(tf.mean(tf.mul(wRatio, d.advR)), ent) as tf.Scalar,
    lc: tf.mean(tf.mul(wRatio, d.advC)) as tf.Scalar,
    kl: tf.mean(tf.sum(tf.mul(pOld, tf.sub(logPOld, logSm)), 1)) as tf.Scalar,
  };
}

/** One head's pieces of the step at θ_old: surrogate gradients g, b (and values), H⁻¹g, H⁻¹b by CG, q = gᵀH⁻¹g. */
interface HeadDirections {
  g: { flat: Float64Array; value: number };
  b: { flat: Float64Array; value: number };
  cgX: ReturnType<typeof conjugateGradient>;
  cgP: ReturnType<typeof conjugateGradient>;
  q: number;
}

function headDirections(net: Mlp, d: CpoHeadBatch, pOld: tf.Tensor2D, logPOld: tf.Tensor2D, o: CpoStepOptions): HeadDirections {
  const vars = net.variables;
  const gradOf = (which: "lr" | "lc"): { flat: Float64Array; value: number } => {
    const { value, grads } = tf.variableGrads(() => surrogates(net, d, pOld, logPOld, o.entropyCoef)[which], vars);
    const flat = flatten(vars.map((w) => grads[w.name]!));
    const v = value.dataSync()[0]!;
    tf.dispose([value, ...Object.values(grads)]);
    return { flat, value: v };
  };
  const g = gradOf("lr");
  const b = gradOf("lc");
  const Hv = (v: Float64Array) => fisherVectorProduct(net, d.x, v, o.fvp, o.cgDamping, o.fdEpsilon, pOld);
  const cgX = conjugateGradient(Hv, g.flat, o.cgIters);
  const cgP = conjugateGradient(Hv, b.flat, o.cgIters);
  return { g, b, cgX, cgP, q: dot(cgX.x, Hv(cgX.x)) };
}

/** The proposed step x* (zeros when it is not finite), the line search along it, and the step's report. */
function searchAlong(
  dir: CpoDirection,
  c: number,
  o: CpoStepOptions,
  base: { surrR: number; surrC: number },
  moveTo: (step: Float64Array, frac: number) => LineSearchPoint,
  restore: () => void,
  cgResidual: number,
): CpoStepResult {
  const allFinite = dir.step.every((v) => Number.isFinite(v));
  const step = allFinite ? dir.step : new Float64Array(dir.step.length);
  const ls = backtrackingLineSearch({
    evaluate: (frac) => moveTo(step, frac),
    restore,
    base,
    c,
    optimCase: dir.optimCase,
    delta: o.targetKl,
    steps: allFinite ? o.lineSearchSteps : 0,
    decay: o.lineSearchDecay,
  });
  return {
    optimCase: dir.optimCase,
    lambda: dir.lambda,
    nu: dir.nu,
    lineSearch: ls,
    surrR: base.surrR,
    surrC: base.surrC,
    stepNorm: Math.sqrt(dot(step, step)),
    cgResidual,
  };
}

/**
 * One CPO update of the network `net` on `d` against the constraint value `c`: gradients, conjugate
 * gradient, the closed-form dual, the line search. Leaves the network at the accepted point (or at
 * θ_old when the line search rejects every trial).
 */
export function cpoStep(net: Mlp, d: CpoHeadBatch, c: number, o: CpoStepOptions): CpoStepResult {
  const vars = net.variables;
  const theta0 = flatParams(vars);
  const pOld = tf.tidy(() => tf.softmax(net.apply(d.x)));
  const logPOld = tf.tidy(() => tf.logSoftmax(net.apply(d.x)));
  try {
    const { g, b, cgX, cgP, q } = headDirections(net, d, pOld, logPOld, o);
    const dir = cpoDirection({
      x: cgX.x,
      p: cgP.x,
      q,
      r: dot(g.flat, cgP.x),
      s: dot(b.flat, cgP.x),
      bNormSq: dot(b.flat, b.flat),
      c,
      delta: o.targetKl,
    });
    const moveTo = (step: Float64Array, frac: number): LineSearchPoint => {
      setFlatParams(
        vars,
        theta0.map((t, i) => t + frac * step[i]!),
      );
      const vals = tf.tidy(() => {
        const s = surrogates(net, d, pOld, logPOld, o.entropyCoef);
        return tf.stack([s.lr, s.lc, s.kl]);
      });
      const [surrR, surrC, kl] = Array.from(vals.dataSync());
      vals.dispose();
      return { surrR: surrR!, surrC: surrC!, kl: kl! };
    };
    return searchAlong(dir, c, o, { surrR: g.value, surrC: b.value }, moveTo, () => setFlatParams(vars, theta0), cgX.residual);
  } finally {
    tf.dispose([pOld, logPOld]);
  }
}

// ---------------------------------------------------------------------------------------------
// One CPO step of several heads at once (MACPO's joint step)

/** One head of a joint step: its network and batch (weights M ≡ 1: every head starts at θ_old). */
export interface CpoJointHead {
  net: Mlp;
  d: CpoHeadBatch;
}

export interface CpoJointStepResult extends CpoStepResult {
  /** Mean KL(π^h_old‖π^h) of each head at the accepted point (0 when rejected); they sum to lineSearch.kl. */
  headKl: number[];
}

/**
 * Joint surrogates of a product policy π = Π_h π^h at the heads' current parameters (inside a tidy):
 * ρ_t = Π_h π^h(a^h_t|s_t)/π^h_old(a^h_t|s_t), L_R = mean ρ·A_R + Σ_h β·H(π^h), L_C = mean ρ·A_C, and the
 * KL of a product of independent factors, KL(π_old‖π) = Σ_h KL(π^h_old‖π^h) (returned per head).
 */
function jointSurrogates(
  heads: readonly CpoJointHead[],
  old: readonly { pOld: tf.Tensor2D; logPOld: tf.Tensor2D }[],
  entropyCoef = 0,
): { lr: tf.Scalar; lc: tf.Scalar; kls: tf.Scalar[] } {
  let logRatio: tf.Tensor1D | null = null;
  let ent: tf.Scalar = tf.scalar(0);
  const kls: tf.Scalar[] = [];
  heads.forEach(({ net, d }, h) => {
    const logSm = tf.logSoftmax(net.apply(d.x));
    const lr = tf.sub(tf.sum(tf.mul(logSm, d.actions), 1), d.oldLogp) as tf.Tensor1D;
    logRatio = logRatio ? (tf.add(logRatio, lr) as tf.Tensor1D) : lr;
    if (entropyCoef !== 0) ent = tf.add(ent, tf.mul(tf.neg(tf.mean(tf.sum(tf.mul(tf.exp(logSm), logSm), 1))), entropyCoef)) as tf.Scalar;
    kls.push(tf.mean(tf.sum(tf.mul(old[h]!.pOld, tf.sub(old[h]!.logPOld, logSm)), 1)) as tf.Scalar);
  });
  const ratio = tf.exp(logRatio!);
  const d0 = heads[0]!.d;
  return { lr: tf.add(tf.mean(tf.mul(ratio, d0.advR)), ent) as tf.Scalar, lc: tf.mean(tf.mul(ratio, d0.advC)) as tf.Scalar, kls };
}

/**
 * One CPO step of a product policy over all its heads' parameters θ = (θ^1, …, θ^H) at once, against
 * one constraint value `c`. The Fisher of the product's mean KL is block-diagonal (the KL of
 * independent factors is the sum of theirs), so each head's conjugate gradient runs on its own block;
 * q = Σ_h q_h, r = Σ_h r_h, s = Σ_h s_h enter one dual (cpoDirection), whose ν* prices the cost for
 * every head alike, and one backtracking line search moves all heads together (joint KL ≤ δ). At θ_old
 * the other heads' ratios are 1, so each head's gradient is the single-head one with M ≡ 1. Leaves the
 * networks at the accepted point, or every head at θ_old.
 */
export function cpoJointStep(heads: readonly CpoJointHead[], c: number, o: CpoStepOptions): CpoJointStepResult {
  const theta0 = heads.map(({ net }) => flatParams(net.variables));
  const old = heads.map(({ net, d }) => ({
    pOld: tf.tidy(() => tf.softmax(net.apply(d.x))),
    logPOld: tf.tidy(() => tf.logSoftmax(net.apply(d.x))),
  }));
  try {
    const blocks = heads.map(({ net, d }, h) => headDirections(net, d, old[h]!.pOld, old[h]!.logPOld, o));
    const concat = (parts: Float64Array[]): Float64Array => {
      const out = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
      let off = 0;
      for (const p of parts) {
        out.set(p, off);
        off += p.length;
      }
      return out;
    };
    const sum = (f: (blk: (typeof blocks)[number]) => number) => blocks.reduce((s, blk) => s + f(blk), 0);
    const dir = cpoDirection({
      x: concat(blocks.map((blk) => blk.cgX.x)),
      p: concat(blocks.map((blk) => blk.cgP.x)),
      q: sum((blk) => blk.q),
      r: sum((blk) => dot(blk.g.flat, blk.cgP.x)),
      s: sum((blk) => dot(blk.b.flat, blk.cgP.x)),
      bNormSq: sum((blk) => dot(blk.b.flat, blk.b.flat)),
      c,
      delta: o.targetKl,
    });
    const setAt = (step: Float64Array | null, frac: number) => {
      let off = 0;
      heads.forEach(({ net }, h) => {
        const t0 = theta0[h]!;
        setFlatParams(net.variables, step ? t0.map((t, i) => t + frac * step[off + i]!) : t0);
        off += t0.length;
      });
    };
    let headKl = heads.map(() => 0);
    const evalHere = (): LineSearchPoint => {
      const vals = tf.tidy(() => {
        const s = jointSurrogates(heads, old, o.entropyCoef);
        return tf.stack([s.lr, s.lc, ...s.kls]);
      });
      const [surrR, surrC, ...kls] = Array.from(vals.dataSync());
      vals.dispose();
      headKl = kls;
      return { surrR: surrR!, surrC: surrC!, kl: kls.reduce((a, v) => a + v, 0) };
    };
    const base = evalHere(); // at θ_old
    const moveTo = (step: Float64Array, frac: number): LineSearchPoint => {
      setAt(step, frac);
      return evalHere();
    };
    const res = searchAlong(dir, c, o, base, moveTo, () => setAt(null, 0), Math.max(...blocks.map((blk) => blk.cgX.residual)));
    return { ...res, headKl: res.lineSearch.accepted > 0 ? headKl : heads.map(() => 0) };
  } finally {
    tf.dispose(old.flatMap((t) => [t.pOld, t.logPOld]));
  }
}
