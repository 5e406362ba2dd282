/**
 * src/analysis — what a problem or a trained run is worth: the LP oracle (this file), exact and sampled
 * evaluation, structure metrics, statistics. Reads run folders, never writes them.
 */
/**
 * The exact optimality oracle of a simulated config: the finite-horizon occupancy-measure
 * linear program of its CMDP, solved with HiGHS (the `highs` package, WASM).
 *
 * Markov state s = (task type τ, step t, set H of helpers already called); actions = the agents, or
 * with a factored action space (policy.heads) the joint actions (agent, tier, …): a call at
 * tier t costs c(a)·costMultiplier_t and succeeds with clamp(p + successDelta_t, 0, 1); the optimum over
 * joint actions is what a joint policy can reach (a product-of-heads policy may fall short of it).
 * Variables q_t(s, a) ≥ 0 = probability that the episode is in s at step t and calls agent a.
 *   flow:   Σ_a q_0(τ,0,∅,a) = w_τ;   Σ_a q_{t+1}(s',a) = Σ_{s,a} P(s'|s,a)·q_t(s,a)
 *   budget: Σ q·c(a) ≤ d                                  (constrained problem only)
 *   max     Σ q·r(s,a)
 * where, with SB = successBonus, FP = failurePenalty, T = maxSteps, p = the solver's success
 * probability clamp(solve[τ] + Σ_{h∈H} boost_h, 0, 1):
 *   solver: r = p·SB + (1 − p)·(t+1 = T ? FP : 0), continues to (τ, t+1, H) with prob 1 − p;
 *   helper / other non-terminal agent: r = (t+1 = T ? FP : 0), continues to (τ, t+1, H ∪ {a});
 *   Terminator: r = FP, the episode ends;
 * every call costs c(a).
 *
 * WHAT "value" IS (the same objective `maestro eval --exact` reports, see exact.ts):
 *   - constrained problem (algo.name is a constrained trainer — ppo-lagrangian, p3o, cpo, macpo,
 *     mappo-lagrangian — AND env.budget is set):
 *       value = J_R = E[Σ_t task reward r_t]  (undiscounted), maximised s.t. J_C = E[Σ_t c_t] ≤ d;
 *       lambda = λ*, the dual of the budget row (the optimal Lagrange multiplier).
 *   - penalised problem (otherwise: reinforce, ppo, or no budget):
 *       value = E[Σ_t (r_t − λ·c_t)] with λ = reward.costPenalty (the configured reward, undiscounted),
 *       no budget row; lambda = reward.costPenalty.
 * Episodes are undiscounted here; the sim configs train with γ = 1 so trainers optimise this exact
 * objective.
 */
import * as highsModule from "highs";
import { SimAgent } from "../agents/sim.js";
import type { Agent } from "../agents/agent.js";
import { InputError } from "../core/errors.js";
import { buildAgents } from "../run/build.js";
import { headsOf } from "../config/heads.js";
import { jointLabel, jointOptions, jointSize, type HeadSpec } from "../env/heads.js";
import { constrainedAlgos, type Config } from "../config/schema.js";

export interface SimProblem {
  types: Array<{ name: string; prob: number }>;
  agents: Agent[];
  /** Names of agents whose call enters the Markov state (sim agents with `boost`). */
  helpers: string[];
  maxSteps: number;
  successBonus: number;
  failurePenalty: number;
  /** λ of the objective (0 in the constrained problem). */
  costPenalty: number;
  /** Budget row d (constrained problem only). */
  budget?: number;
  mode: "constrained" | "penalised";
  /** Heads of the factored action space; LP actions are their joint actions. */
  heads: HeadSpec[];
}

/** Which problem a config poses (see the module comment). Throws an InputError for non-sim configs. */
export function simProblem(c: Config, where = "config"): SimProblem {
  if (c.tasks.source !== "sim") {
    throw new InputError(
      `${where}: tasks.source: the oracle and exact evaluation need simulated tasks (source: sim), got "${c.tasks.source}"`,
      where,
      "tasks.source",
    );
  }
  c.agents.forEach((a, i) => {
    const kind: string = a.kind;
    if (kind !== "sim" && kind !== "terminator" && kind !== "echo") {
      throw new InputError(
        `${where}: agents[${i}] (${a.name}): kind "${kind}" is not simulated; the oracle needs sim, echo or terminator agents`,
        where,
        `agents[${i}]`,
      );
    }
  });
  const weights = c.tasks.types;
  const total = Object.values(weights).reduce((s, w) => s + w, 0);
  const constrained = c.env.budget !== undefined && constrainedAlgos.includes(c.algo.name);
  return {
    types: Object.entries(weights).map(([name, w]) => ({ name, prob: w / total })),
    agents: buildAgents(c),
    helpers: c.agents.filter((a) => a.kind === "sim" && a.boost !== undefined && Object.keys(a.boost).length > 0).map((a) => a.name),
    maxSteps: c.env.maxSteps,
    successBonus: c.reward.successBonus,
    failurePenalty: c.reward.failurePenalty,
    costPenalty: constrained ? 0 : c.reward.costPenalty,
    ...(constrained ? { budget: c.env.budget! } : {}),
    mode: constrained ? "constrained" : "penalised",
    heads: headsOf(c),
  };
}

/**
 * The objective a config poses, in words (`oracle` and `eval --exact` say which one they
 * solved): the constrained one for a constrained trainer with a budget, else the penalised one.
 */
export function objectiveText(c: Config): string {
  const algo = c.algo.name;
  if (c.env.budget !== undefined && constrainedAlgos.includes(algo)) {
    const ignored = c.reward.costPenalty !== 0 ? `; reward.costPenalty ${c.reward.costPenalty} is not used` : "";
    return `constrained: max J_R = E[Σ task reward] s.t. J_C = E[episode cost] ≤ d = ${c.env.budget} (algo.name ${algo} is a constrained trainer${ignored})`;
  }
  const why =
    c.env.budget !== undefined
      ? `algo.name ${algo} optimises the configured reward; env.budget ${c.env.budget} is not imposed`
      : constrainedAlgos.includes(algo)
        ? `no env.budget`
        : `algo.name ${algo} optimises the configured reward`;
  return `penalised: max E[Σ (r_t − λ·c_t)] with λ = reward.costPenalty = ${c.reward.costPenalty} (${why})`;
}

/** The Markov state key of (type, step, helpers called). */
export function markovKey(type: string, step: number, helpers: Iterable<string>): string {
  return `${type}|${step}|${[...new Set(helpers)].sort().join(",")}`;
}

export interface OracleState {
  type: string;
  step: number;
  helpers: string[];
  /** Probability of reaching the state under the optimal policy. */
  occupancy: number;
  /** Optimal action probabilities (agent name → probability). */
  policy: Record<string, number>;
}

export interface OracleResult {
  mode: "constrained" | "penalised";
  /** The objective solved, in words (`objectiveText`). */
  objective: string;
  /** Optimal value (see the module comment for what it measures). */
  value: number;
  /** J_R* = expected undiscounted task reward of the optimal policy. */
  taskReturn: number;
  /** J_C* = expected episode cost of the optimal policy. */
  cost: number;
  success: number;
  /** λ*: dual of the budget row (constrained) or reward.costPenalty (penalised). */
  lambda: number;
  budget: number | null;
  /** Whether the budget row is tight at the optimum. */
  budgetBinds: boolean;
  /** Optimal per-step policy on states the optimal policy reaches. */
  policy: OracleState[];
  lpColumns: number;
  lpRows: number;
}

interface Transition {
  col: number;
  state: number;
  action: number;
  reward: number;
  cost: number;
  success: number;
  next?: { state: number; prob: number };
}

function num(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(15);
}

/** Writes Σ coef·x as LP-format text (terms with zero coefficients dropped). */
function linear(terms: ReadonlyArray<[number, number]>): string {
  const parts: string[] = [];
  for (const [coef, col] of terms) {
    if (coef === 0) continue;
    const sign = coef < 0 ? "-" : "+";
    parts.push(`${sign} ${num(Math.abs(coef))} x${col}`);
  }
  if (parts.length === 0) return "0 x0";
  const s = parts.join(" ");
  return s.startsWith("+ ") ? s.slice(2) : s;
}

/** Builds and solves the occupancy LP of a simulated config. */
export async function solveOracle(c: Config, where = "config"): Promise<OracleResult> {
  const pb = simProblem(c, where);
  const T = pb.maxSteps;
  const states: Array<{ type: string; step: number; helpers: string[]; key: string }> = [];
  const index = new Map<string, number>();
  const stateId = (type: string, step: number, helpers: string[]): number => {
    const key = markovKey(type, step, helpers);
    let id = index.get(key);
    if (id === undefined) {
      id = states.length;
      index.set(key, id);
      states.push({ type, step, helpers: [...new Set(helpers)].sort(), key });
    }
    return id;
  };
  const initial = pb.types.map((t) => ({ id: stateId(t.name, 0, []), prob: t.prob }));
  const trans: Transition[] = [];
  // states are discovered in step order, so one pass over the growing list enumerates all reachable ones
  for (let s = 0; s < states.length; s++) {
    const st = states[s]!;
    const last = st.step + 1 >= T;
    // joint actions: agent = a mod #agents, the other heads (tier) reach the agent as options
    const nJoint = jointSize(pb.heads);
    const nAgents = pb.agents.length;
    for (let a = 0; a < nJoint; a++) {
      const agent = pb.agents[a % nAgents]!;
      const tier = pb.heads.length > 1 ? jointOptions(pb.heads, a).tier : undefined;
      const base = { col: trans.length, state: s, action: a, cost: agent instanceof SimAgent ? agent.costAt(tier) : agentCost(agent) };
      if (agent.kind === "terminator") {
        trans.push({ ...base, reward: pb.failurePenalty, success: 0 });
        continue;
      }
      const nextHelpers = pb.helpers.includes(agent.name) ? [...st.helpers, agent.name] : st.helpers;
      const p = agent instanceof SimAgent && agent.isSolver ? agent.successProb(st.type, st.helpers, tier) : 0;
      const reward = p * pb.successBonus + (1 - p) * (last ? pb.failurePenalty : 0);
      const t: Transition = { ...base, reward, success: p };
      if (!last && p < 1) t.next = { state: stateId(st.type, st.step + 1, nextHelpers), prob: 1 - p };
      trans.push(t);
    }
  }

  // LP text (CPLEX LP format)
  const obj: Array<[number, number]> = trans.map((t) => [t.reward - pb.costPenalty * t.cost, t.col]);
  const inflow = new Map<number, Array<[number, number]>>();
  for (const t of trans) {
    if (!t.next) continue;
    let l = inflow.get(t.next.state);
    if (!l) inflow.set(t.next.state, (l = []));
    l.push([-t.next.prob, t.col]);
  }
  const byState = new Map<number, Transition[]>();
  for (const t of trans) {
    let l = byState.get(t.state);
    if (!l) byState.set(t.state, (l = []));
    l.push(t);
  }
  const rows: string[] = [];
  for (let s = 0; s < states.length; s++) {
    const out: Array<[number, number]> = byState.get(s)!.map((t) => [1, t.col]);
    const terms = [...out, ...(inflow.get(s) ?? [])];
    const rhs = initial.filter((i) => i.id === s).reduce((acc, i) => acc + i.prob, 0);
    rows.push(` flow${s}: ${linear(terms)} = ${num(rhs)}`);
  }
  const costTerms: Array<[number, number]> = trans.map((t) => [t.cost, t.col]);
  const hasCostRow = pb.budget !== undefined && costTerms.some(([c]) => c !== 0);
  if (hasCostRow) rows.push(` budget: ${linear(costTerms)} <= ${num(pb.budget!)}`);
  const lp = `Maximize\n obj: ${linear(obj)}\nSubject To\n${rows.join("\n")}\nEnd\n`;

  const highs = await loadHighs();
  const sol = highs.solve(lp);
  if (sol.Status !== "Optimal") {
    throw new InputError(
      `${where}: the oracle's linear program is ${sol.Status} (is the budget below the cheapest possible episode cost?)`,
      where,
      "env.budget",
    );
  }
  const q = trans.map((t) => sol.Columns[`x${t.col}`]?.Primal ?? 0);
  let taskReturn = 0;
  let cost = 0;
  let success = 0;
  trans.forEach((t, i) => {
    taskReturn += q[i]! * t.reward;
    cost += q[i]! * t.cost;
    success += q[i]! * t.success;
  });
  // an LP (no integer columns): rows carry Name and Dual
  const lpRows = sol.Rows as unknown as Array<{ Name: string; Dual: number }>;
  const budgetRow = hasCostRow ? lpRows.find((r) => r.Name === "budget") : undefined;
  const lambda = pb.mode === "constrained" ? Math.abs(budgetRow?.Dual ?? 0) : pb.costPenalty;
  const policy: OracleState[] = [];
  for (let s = 0; s < states.length; s++) {
    const ts = byState.get(s)!;
    const occ = ts.reduce((acc, t) => acc + q[t.col]!, 0);
    if (occ <= 1e-12) continue;
    const st = states[s]!;
    policy.push({
      type: st.type,
      step: st.step,
      helpers: st.helpers,
      occupancy: occ,
      policy: Object.fromEntries(ts.map((t) => [jointLabel(pb.heads, t.action), Math.max(0, q[t.col]!) / occ])),
    });
  }
  return {
    mode: pb.mode,
    objective: objectiveText(c),
    value: sol.ObjectiveValue,
    taskReturn,
    cost,
    success,
    lambda,
    budget: pb.budget ?? c.env.budget ?? null,
    budgetBinds: pb.budget !== undefined && cost >= pb.budget - 1e-7,
    policy,
    lpColumns: trans.length,
    lpRows: rows.length,
  };
}

type HighsLoader = typeof import("highs").default;

/**
 * The HiGHS loader: `highs` is a CommonJS package whose ESM entry has a default export; depending on
 * how the module was resolved, the loader is the namespace's `default` or the namespace itself.
 */
async function loadHighs(): Promise<Awaited<ReturnType<HighsLoader>>> {
  const ns = highsModule as unknown as { default?: unknown };
  const loader = (typeof ns.default === "function" ? ns.default : ns) as HighsLoader;
  return loader();
}

function agentCost(agent: Agent): number {
  const c = (agent as { cost?: unknown }).cost;
  return typeof c === "number" ? c : 0;
}
