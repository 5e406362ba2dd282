/**
 * MAPPO-Lagrangian (Gu et al. 2021, the first-order companion of MACPO; the sequential scheme of
 * HAPPO, Kuba et al. 2022) on the heads of a factored orchestration decision sharing one budget d.
 *
 * The policy is a product of per-head networks (FactoredPolicy), each with its own Adam. One update:
 *   1. prepare: critics V_R, V_C, GAE of the task reward and of the cost, J_C (critics.ts, as MACPO);
 *   2. dual step before the policy epochs on the relative violation (J_C − d)/d (plain | adam | pid | pi,
 *      lagrange.ts — the same multiplier as PPO-Lagrangian, on the cost in budget units), and the same
 *      combined advantage A = (A_R − λ·A_C/d)/(1 + λ) (constraint.ts);
 *   3. heads visited in a fresh seeded random order; head i_m runs `epochs` × `minibatches` Adam steps
 *      (buffer.ts's minibatches) on the HAPPO clipped surrogate (Kuba et al. 2022, eq. 11)
 *        L^{i_m} = −mean_t M_t·min(ρ_t·A_t, clip(ρ_t, 1 ± ε)·A_t) − β·H(π^{i_m}),
 *      M_t = product of the probability ratios of the heads already updated (the sequential
 *      correction), with SB3's KL early stop per head; then M ← M·ρ^{i_m};
 *   4. critics fitted (critics.ts).
 * Logged per head: h_kl (approx KL of the head's update), h_clip_frac, h_surr_improve (gain of the
 * weighted surrogate M·ρ·A on the whole batch), h_epochs; shared: lambda, jc, head_order, value_loss,
 * cost_value_loss.
 */
import type { Rng } from "../core/rng.js";
import type { RolloutBatch } from "../env/rollout.js";
import { tf } from "../policy/backend.js";
import type { FactoredPolicy } from "../policy/factored.js";
import { oneHot } from "../policy/policy.js";
import { Adam, clipByGlobalNorm, namedVariables, restoreVariables } from "./adam.js";
import { PolicyAverage } from "./average.js";
import { gatherRows, Minibatches } from "./buffer.js";
import { lagrangianAdvantage } from "./constraint.js";
import { Critics, type ConstrainedBatch } from "./critics.js";
import { batchCalibration, LagrangeMultiplier, type LagrangeOptions, type LagrangeState } from "./lagrange.js";
import { encodeHeadOrder, headActions, headEntropy, headLogp, type HeadOrderOptions } from "./macpo.js";
import type { OnPolicyOptions } from "./on-policy.js";
import { linearSchedule, lrFactor } from "./schedules.js";
import { approxKl, clipFraction, clippedSurrogate } from "./surrogate.js";
import { checkFinite, type Trainer, type TrainerState, type UpdateMetrics } from "./trainer.js";
import { mappoLagrangianMetricNames } from "./metric-names.js";

export class MappoLagrangianTrainer implements Trainer {
  readonly name = "mappo-lagrangian";
  readonly metricNames: readonly string[];
  readonly multiplier: LagrangeMultiplier;
  private readonly critics: Critics;
  private readonly opts: Adam[];
  private updatesDone = 0;
  /** The averaged final policy over every head's parameters (average.ts). */
  private readonly average: PolicyAverage;

  constructor(
    readonly policy: FactoredPolicy,
    readonly o: OnPolicyOptions,
    lagrange: LagrangeOptions,
    readonly order: HeadOrderOptions,
    initRng: Rng,
    /** Head order and minibatch order (RunRngs.trainer, checkpointed by the run). */
    private readonly rng: Rng,
  ) {
    this.critics = new Critics(policy.inputDim, o, initRng, true);
    this.multiplier = new LagrangeMultiplier(lagrange);
    this.average = new PolicyAverage(policy.heads, o.averageFraction, o.totalUpdates);
    this.opts = policy.heads.map((h) => new Adam(h.variables, o.lr, 0.9, 0.999, o.adamEps));
    this.metricNames = mappoLagrangianMetricNames(policy.headNames);
  }

  get lambda(): number {
    return this.multiplier.lambda;
  }

  async update(batch: RolloutBatch): Promise<UpdateMetrics> {
    const o = this.o;
    const lrf = lrFactor(o.annealLr, this.updatesDone, o.totalUpdates);
    for (const opt of this.opts) opt.lr = o.lr * lrf;
    this.critics.setLr(o.valueLr * lrf);
    const beta = linearSchedule(o.entropyCoef, o.entropyCoefFinal, this.updatesDone, o.totalUpdates);
    this.updatesDone += 1;
    const n = batch.rows;

    // 1. prepare; 2. dual step (λ_0 calibrated on the first batch when lambdaInit is null) and the advantage
    const prep = this.critics.prepare(batch, batch.taskRewards, o) as ConstrainedBatch;
    const d = this.multiplier.o.budget;
    this.multiplier.calibrate(batchCalibration(prep.reward.advantages, prep.cost.advantages, d, o));
    const lam = this.multiplier.update(prep.jc);
    const adv = lagrangianAdvantage(prep.advR, prep.advC, lam, d);

    // 3. the heads in order, each on the clipped surrogate weighted by the heads updated before it
    const H = this.policy.heads.length;
    const order = this.order.headOrder === "random" && H > 1 ? this.rng.permutation(H) : Array.from({ length: H }, (_, h) => h);
    const acts = headActions(batch, this.policy.sizes);
    const out: UpdateMetrics = { lambda: lam, jc: prep.jc, head_order: encodeHeadOrder(order) };
    const M = new Float32Array(n).fill(1);
    const xAll = tf.tensor2d(batch.obs, [n, batch.obsDim]);
    let entropy = 0;
    let lossSum = 0;
    let lossSteps = 0;
    try {
      for (const h of this.policy.heads) entropy += headEntropy(h, xAll);
      for (const hi of order) {
        const head = this.policy.heads[hi]!;
        const name = this.policy.headNames[hi]!;
        const k = head.numActions;
        const aAll = oneHot(acts[hi]!, k);
        const old = headLogp(head, xAll, aAll);
        let surrBefore = 0;
        for (let r = 0; r < n; r++) surrBefore += M[r]! * adv[r]!;
        surrBefore /= n;
        let klSum = 0;
        let clipSum = 0;
        const mbs = new Minibatches(n, o.epochs, o.minibatches, this.rng);
        for (const idx of mbs) {
          const m = idx.length;
          const x = tf.tensor2d(gatherRows(batch.obs, idx, batch.obsDim), [m, batch.obsDim]);
          const a = oneHot(
            idx.map((r) => acts[hi]![r]!),
            k,
          );
          const oldLogp = tf.tensor1d(gatherRows(old, idx));
          const advT = tf.tensor1d(gatherRows(adv, idx));
          const w = tf.tensor1d(gatherRows(M, idx));
          let loss = 0;
          let kl = 0;
          let clip = 0;
          const { value, grads } = tf.variableGrads(() => {
            const { logp, entropy: ent } = head.logProbEntropy(x, a);
            const logRatio = tf.sub(logp, oldLogp) as tf.Tensor1D;
            const ratio = tf.exp(logRatio) as tf.Tensor1D;
            const pl = tf.neg(clippedSurrogate(ratio, advT, o.clipRatio, w));
            loss = pl.dataSync()[0]!;
            kl = approxKl(logRatio).dataSync()[0]!;
            clip = clipFraction(ratio, o.clipRatio).dataSync()[0]!;
            return (beta !== 0 ? tf.sub(pl, tf.mul(tf.mean(ent), beta)) : pl) as tf.Scalar;
          }, head.variables);
          const list = head.variables.map((v) => grads[v.name]!);
          try {
            checkFinite(`${this.name} ${name}`, { loss });
            // SB3: the minibatch that crossed the KL limit is not applied, and this head's epochs stop
            if (o.targetKl !== null && kl > 1.5 * o.targetKl) break;
            const clipped = clipByGlobalNorm(list, o.maxGradNorm);
            this.opts[hi]!.apply(clipped.grads);
            tf.dispose([...clipped.grads, clipped.norm]);
            klSum += kl;
            clipSum += clip;
            lossSum += loss;
            lossSteps++;
          } finally {
            tf.dispose([value, ...list, x, a, oldLogp, advT, w]);
          }
        }
        // sequential correction for the heads after this one: M ← M·π^h_new/π^h_old
        const now = headLogp(head, xAll, aAll);
        aAll.dispose();
        let surrAfter = 0;
        for (let r = 0; r < n; r++) {
          const ratio = Math.exp(now[r]! - old[r]!);
          surrAfter += M[r]! * ratio * adv[r]!;
          M[r] = M[r]! * ratio;
        }
        surrAfter /= n;
        out[`${name}_kl`] = mbs.steps > 0 ? klSum / mbs.steps : 0;
        out[`${name}_clip_frac`] = mbs.steps > 0 ? clipSum / mbs.steps : 0;
        out[`${name}_surr_improve`] = surrAfter - surrBefore;
        out[`${name}_epochs`] = mbs.epochsDone;
      }
    } finally {
      xAll.dispose();
    }

    // 4. critics fitted; logged columns
    const fit = this.critics.fit(batch, prep, o, this.rng, this.name);
    this.average.afterUpdate(this.updatesDone, batch);
    return { loss: lossSteps > 0 ? lossSum / lossSteps : NaN, entropy, ...out, ...fit };
  }

  state(): TrainerState {
    const cs = this.critics.state();
    const avg = this.average.state("policy_avg");
    const tensors = [...cs.value.tensors, ...cs.cost!.tensors, ...avg.tensors];
    const adamSteps: number[] = [];
    this.policy.heads.forEach((h, i) => {
      const name = this.policy.headNames[i]!;
      const st = this.opts[i]!.state(`policy_${name}_adam`);
      tensors.push(...namedVariables(`policy_${name}`, h.variables), ...st.tensors);
      adamSteps.push(st.t);
    });
    return {
      tensors,
      json: {
        ...cs.value.json,
        ...cs.cost!.json,
        recentCosts: [...this.critics.recentCosts],
        updatesDone: this.updatesDone,
        headAdamSteps: adamSteps,
        lagrange: this.multiplier.state(),
        policyAverage: avg.json,
      },
    };
  }

  restore(tensors: tf.NamedTensorMap, json: Record<string, unknown>): void {
    const steps = (json.headAdamSteps as number[] | undefined) ?? [];
    this.policy.heads.forEach((h, i) => {
      const name = this.policy.headNames[i]!;
      restoreVariables(`policy_${name}`, h.variables, tensors);
      this.opts[i]!.restore(`policy_${name}_adam`, Number(steps[i] ?? 0), tensors);
    });
    this.critics.restore(tensors, json);
    this.updatesDone = Number(json.updatesDone ?? 0);
    this.average.restore("policy_avg", json.policyAverage, tensors);
    if (!json.lagrange) throw new Error("checkpoint has no Lagrange multiplier state (not a mappo-lagrangian run?)");
    this.multiplier.restore(json.lagrange as LagrangeState);
  }

  dispose(): void {
    this.average.dispose();
    this.policy.dispose();
    this.critics.dispose();
    for (const opt of this.opts) opt.dispose();
  }
}
