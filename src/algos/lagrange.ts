/**
 * The Lagrange multiplier λ of a constrained trainer and its optimisers (dual ascent on
 * min_π max_{λ≥0} −J_R(π) + λ·(J_C(π) − d)):
 *
 * - plain: projected gradient ascent  λ ← clamp(λ + η·(J_C − d), 0, λ_max)  (issue 3).
 * - adam:  OmniSafe's Lagrange: Adam (lr η) minimising −λ·(J_C − d), i.e. gradient −(J_C − d), then the
 *          same clamp to [0, λ_max].
 * - pid:   PID-Lagrangian (Stooke, Achiam & Abbeel 2020, Alg. 2, as in OmniSafe's PIDLagrangian):
 *            Δ = J_C − d
 *            I ← max(0, I + K_I·Δ)
 *            P ← α_p·P + (1 − α_p)·Δ                      (EMA-smoothed proportional error)
 *            C_D ← α_d·C_D + (1 − α_d)·J_C                (EMA-smoothed cost for the derivative)
 *            D = max(0, C_D − C_D[k − dDelay])            (delayed derivative, only when cost rises;
 *                                                          C_D before the first update counts as 0)
 *            λ = clamp(K_P·P + I + K_D·D, 0, λ_max)
 *
 * All state is plain JSON (float64), so a checkpointed run resumes bit-exactly.
 */

export interface PidOptions {
  kp: number;
  ki: number;
  kd: number;
  dDelay: number;
  pEmaAlpha: number;
  dEmaAlpha: number;
}

export interface LagrangeOptions {
  init: number;
  lr: number;
  max: number;
  optimizer: "plain" | "adam" | "pid";
  pid: PidOptions;
  /** Cost limit d. */
  budget: number;
}

export interface LagrangeState {
  lambda: number;
  adam: { t: number; m: number; v: number };
  pid: { integral: number; deltaP: number; costD: number; costDs: number[] };
}

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPS = 1e-8;

export class LagrangeMultiplier {
  private s: LagrangeState;

  constructor(readonly o: LagrangeOptions) {
    this.s = {
      lambda: Math.min(Math.max(o.init, 0), o.max),
      adam: { t: 0, m: 0, v: 0 },
      // OmniSafe's PIDLagrangian starts its delay queue as [0]: the first dDelay updates compare with 0
      pid: { integral: 0, deltaP: 0, costD: 0, costDs: [0] },
    };
  }

  get lambda(): number {
    return this.s.lambda;
  }

  /** One dual step given the current estimate `jc` of the episode cost J_C; returns the new λ. */
  update(jc: number): number {
    const o = this.o;
    const delta = jc - o.budget;
    const clamp = (x: number) => Math.min(Math.max(x, 0), o.max);
    switch (o.optimizer) {
      case "plain":
        this.s.lambda = clamp(this.s.lambda + o.lr * delta);
        break;
      case "adam": {
        const a = this.s.adam;
        const g = -delta; // ∂/∂λ of −λ·(J_C − d)
        a.t += 1;
        a.m = BETA1 * a.m + (1 - BETA1) * g;
        a.v = BETA2 * a.v + (1 - BETA2) * g * g;
        const mHat = a.m / (1 - BETA1 ** a.t);
        const vHat = a.v / (1 - BETA2 ** a.t);
        this.s.lambda = clamp(this.s.lambda - (o.lr * mHat) / (Math.sqrt(vHat) + EPS));
        break;
      }
      case "pid": {
        const p = this.s.pid;
        const g = o.pid;
        p.integral = Math.max(0, p.integral + g.ki * delta);
        p.deltaP = g.pEmaAlpha * p.deltaP + (1 - g.pEmaAlpha) * delta;
        p.costD = g.dEmaAlpha * p.costD + (1 - g.dEmaAlpha) * jc;
        const past = p.costDs[0] ?? 0;
        const d = Math.max(0, p.costD - past);
        this.s.lambda = clamp(g.kp * p.deltaP + p.integral + g.kd * d);
        p.costDs.push(p.costD);
        if (p.costDs.length > g.dDelay) p.costDs.shift();
        break;
      }
    }
    return this.s.lambda;
  }

  state(): LagrangeState {
    return structuredClone(this.s);
  }

  restore(s: LagrangeState): void {
    this.s = structuredClone(s);
  }
}
