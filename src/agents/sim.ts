import type { AgentOutput, SystemState } from "../core/types.js";
import type { Agent, AgentContext } from "./agent.js";

/**
 * Simulated agents with Markov semantics (a call's outcome depends only on the task type, the step and the helpers called), so the optimum of a simulated config can be
 * computed exactly (src/analysis/oracle.ts):
 *
 * - a *solver* has `solve: {taskType: p}`; a call succeeds with probability
 *   clamp(solve[type] + Σ boosts of helpers already called, 0, 1). Success ends the episode
 *   (`solved: true, terminal: true`); failure appends a turn and the episode goes on.
 * - a *helper* has `boost: {solverName: delta}`, added to every later call of that solver once the
 *   helper has been called at least once (calling it twice adds nothing more).
 * - every call costs `cost`.
 *
 * One agent may both solve and boost. The outcome of a call depends only on (task type, set of
 * boosting agents already called), which is what makes (task type, step, set of helpers called) the
 * Markov state.
 */
export interface SimAgentSpec {
  name: string;
  cost: number;
  /** Success probability per task type; absent for a pure helper. */
  solve?: Readonly<Record<string, number>>;
  /** Boost per solver name; absent for a pure solver. */
  boost?: Readonly<Record<string, number>>;
  /**
   * Per-tier cost multiplier and success delta: a call made at tier t (`ctx.options.tier`)
   * costs cost × costMultiplier and succeeds with clamp(solve + boosts + successDelta, 0, 1).
   */
  tiers?: Readonly<Record<string, { costMultiplier: number; successDelta: number }>>;
}

/** One possible result of a call, with its probability. */
export interface SimOutcome {
  prob: number;
  output: AgentOutput;
}

export class SimAgent implements Agent {
  readonly kind = "sim";
  readonly name: string;
  readonly cost: number;
  /** Boost this agent receives from each helper (helper name → delta); filled by `linkSimAgents`. */
  readonly boostFrom = new Map<string, number>();

  /** Output texts, built once (act runs on the rollout's hot path). */
  private readonly text: { done: string; solved: string; failed: string };

  constructor(readonly spec: SimAgentSpec) {
    this.name = spec.name;
    this.cost = spec.cost;
    this.text = { done: `${spec.name}: done`, solved: `${spec.name}: solved`, failed: `${spec.name}: failed` };
  }

  get isSolver(): boolean {
    return this.spec.solve !== undefined;
  }

  get isHelper(): boolean {
    return this.spec.boost !== undefined && Object.keys(this.spec.boost).length > 0;
  }

  /** Cost of a call at `tier` (the declared cost when no tier or an undeclared tier). */
  costAt(tier?: string): number {
    const t = tier === undefined ? undefined : this.spec.tiers?.[tier];
    return t ? this.cost * t.costMultiplier : this.cost;
  }

  /**
   * Success probability of a call after the agents `calledBefore` (0 for a pure helper); `tier` adds its
   * success delta.
   */
  successProb(taskType: string | undefined, calledBefore: Iterable<string>, tier?: string): number {
    if (!this.spec.solve) return 0;
    let p = this.baseProb(taskType);
    const counted: string[] = [];
    for (const h of calledBefore) p += this.boostOnce(h, counted);
    return this.withTier(p, tier);
  }

  /** {@link successProb} for a state, reading its history in place (the rollout's hot path). */
  private stateProb(state: SystemState, tier: string | undefined): number {
    let p = this.baseProb(state.task.type);
    const counted: string[] = [];
    for (const t of state.history) p += this.boostOnce(t.agent, counted);
    return this.withTier(p, tier);
  }

  private baseProb(taskType: string | undefined): number {
    const solve = this.spec.solve!;
    if (taskType === undefined || !(taskType in solve)) {
      throw new Error(`sim agent "${this.name}": no success probability for task type "${String(taskType)}"`);
    }
    return solve[taskType]!;
  }

  /**
   * The boost helper `h` gives this solver, counted once however often `h` was called. `counted` holds
   * the helpers already counted (a handful at most: a small array, no Set, on the rollout's hot path).
   */
  private boostOnce(h: string, counted: string[]): number {
    const delta = this.boostFrom.get(h);
    if (delta === undefined || counted.includes(h)) return 0;
    counted.push(h);
    return delta;
  }

  private withTier(p: number, tier: string | undefined): number {
    if (tier !== undefined) p += this.spec.tiers?.[tier]?.successDelta ?? 0;
    return Math.min(1, Math.max(0, p));
  }

  /** The possible outputs of a call on `state` and their probabilities (used by exact evaluation). */
  outcomes(state: SystemState, options?: Readonly<Record<string, string>>): SimOutcome[] {
    const tier = options?.tier;
    const cost = this.costAt(tier);
    const meta = tier !== undefined ? { meta: { tier } } : {};
    if (!this.spec.solve) return [{ prob: 1, output: { content: this.text.done, cost, ...meta } }];
    const p = this.stateProb(state, tier);
    const out: SimOutcome[] = [];
    if (p > 0) out.push({ prob: p, output: { content: this.text.solved, cost, solved: true, terminal: true, ...meta } });
    if (p < 1) out.push({ prob: 1 - p, output: { content: this.text.failed, cost, solved: false, ...meta } });
    return out;
  }

  act(state: SystemState, ctx: AgentContext): AgentOutput {
    const tier = ctx.options?.tier;
    const cost = this.costAt(tier);
    const meta = tier !== undefined ? { meta: { tier } } : {};
    if (!this.spec.solve) return { content: this.text.done, cost, ...meta };
    const p = this.stateProb(state, tier);
    // exactly one draw per solver call, whatever p is, so the env stream stays aligned across policies
    const u = ctx.rng.next();
    return u < p
      ? { content: this.text.solved, cost, solved: true, terminal: true, ...meta }
      : { content: this.text.failed, cost, solved: false, ...meta };
  }
}

/** Tells every simulated solver which helpers boost it (helper `boost` maps name the solver). */
export function linkSimAgents(agents: readonly Agent[]): void {
  const sims = agents.filter((a): a is SimAgent => a instanceof SimAgent);
  for (const s of sims) s.boostFrom.clear();
  for (const helper of sims) {
    for (const [solverName, delta] of Object.entries(helper.spec.boost ?? {})) {
      const solver = sims.find((s) => s.name === solverName);
      if (solver) solver.boostFrom.set(helper.name, delta);
    }
  }
}
