/**
 * A seeded random family of simulated orchestration CMDPs: problems nobody tuned a trainer
 * for, each solved exactly by the LP oracle, so that "the defaults generalise" can be measured rather
 * than asserted.
 *
 * A problem uses the simulated-agent semantics of src/agents/sim.ts and is drawn from its
 * own stream `${familySeed}:${index}`, so problem i is the same whatever the family size:
 *   - horizon maxSteps T ∈ {1, 2, 3, 4};
 *   - 1–3 task types with random weights;
 *   - 1–3 solvers (2–3 when T = 1) whose success probability per type and cost grow together (a
 *     better solver usually costs more; one in five problems has a free, weak solver);
 *   - for T ≥ 2, 0–2 helpers with a cost and boosts of 0.1–0.4 to one or two solvers;
 *   - a Terminator (give up: failure, no cost) in three problems out of four (always with a lone solver);
 *   - every cost multiplied by a problem-wide scale 10^U(−1, 1), so trainers meet costs of 0.01 and of
 *     30 (a cost scale nobody tuned for);
 *   - the budget d between the cheapest policy's cost C_lo and the cost C_hi of the reward-maximising
 *     policy (d = C_lo + u·(C_hi − C_lo), u ∈ [0.25, 0.9], so the budget binds), or — one problem in
 *     ten — a slack budget between C_hi and the most expensive policy's cost (J_C ≤ d is then not
 *     binding and the optimum is the unconstrained one);
 *   - the fixed λ of the problem's penalised form (what reinforce / ppo optimise): λ*·U(0.5, 1.5)
 *     when the budget binds, else a comparable reward-per-cost scale.
 * The two-head variant (`heads: 2`) adds a model tier to every call (policy.heads agent × tier):
 * each solver's large tier costs 2–5× and adds 0.1–0.4 to its success probability; it is
 * the problem family of macpo and mappo-lagrangian.
 *
 * Rewards: successBonus 1, failurePenalty 0, γ = 1 — the undiscounted finite-horizon objective the
 * oracle solves. The observation is `encoder: {name: features, view: markov}` (the Markov state of a
 * simulated problem: task type, step, helpers called); it is part of the problem, not a
 * hyperparameter (with it the LP optimum is representable and exact evaluation merges branches).
 * The problem's config has no `algo` block beyond `name`, and no `policy` block beyond the heads of
 * the two-head variant (the action space): trainers run on their schema defaults.
 */
import { Rng } from "../core/rng.js";
import { validateConfig } from "../config/load.js";
import { constrainedAlgos, type Config } from "../config/schema.js";
import { solveOracle, type OracleResult } from "./oracle.js";

export interface FamilyOptions {
  /** Seed of the family; problem i is drawn from the stream `${seed}:${i}`. */
  seed: number | string;
  /** 1 = one agent head (every single-head trainer); 2 = agent × tier heads (macpo, mappo-lagrangian). */
  heads?: 1 | 2;
}

/** The reference numbers of a problem, from the LP oracle. */
export interface FamilyReference {
  /** The constrained optimum (J_R*, J_C*, λ*) under the budget. */
  constrained: OracleResult;
  /** The optimum of the penalised form E[Σ r − λ·c] with λ = the problem's costPenalty. */
  penalised: OracleResult;
  /** Cost of the cheapest policy. */
  minCost: number;
  /** Cost of the cheapest reward-maximising policy (the budget binds below it). */
  unconstrainedCost: number;
  /** Cost of the most expensive policy. */
  maxCost: number;
  /** Whether the budget binds (d < unconstrainedCost). */
  binds: boolean;
}

export interface FamilyProblem {
  /** e.g. `cmdp-7-12` (family seed 7, problem 12). */
  id: string;
  index: number;
  heads: 1 | 2;
  /**
   * The problem as a raw config object without `algo`, `train` and `log` (what {@link familyConfig}
   * completes): agents, tasks, env (maxSteps, budget), reward, encoder, and policy.heads (two-head).
   */
  problem: Record<string, unknown>;
  budget: number;
  /** λ of the penalised form (reward.costPenalty of reinforce / ppo). */
  costPenalty: number;
  reference: FamilyReference;
}

interface Draft {
  maxSteps: number;
  types: Record<string, number>;
  agents: Array<Record<string, unknown>>;
  heads: 1 | 2;
}

const round = (x: number, digits = 4) => Number(x.toPrecision(digits));

/** Draws the agents, types and horizon of problem `index` (no budget yet). */
function draft(rng: Rng, heads: 1 | 2): Draft {
  const maxSteps = 1 + rng.int(4);
  const nTypes = 1 + rng.int(3);
  const typeNames = ["alpha", "beta", "gamma"].slice(0, nTypes);
  const types = Object.fromEntries(typeNames.map((t) => [t, round(rng.uniform(0.2, 1), 3)]));
  const nSolvers = maxSteps === 1 ? 2 + rng.int(2) : 1 + rng.int(3);
  const costScale = 10 ** rng.uniform(-1, 1);
  // a better solver usually costs more: pair sorted qualities with sorted costs, then swap one pair
  // now and then so that dominated solvers occur too
  const quality = Array.from({ length: nSolvers }, () => rng.uniform(0.15, 0.85)).sort((a, b) => a - b);
  const costs = Array.from({ length: nSolvers }, () => rng.uniform(0.3, 3)).sort((a, b) => a - b);
  if (nSolvers > 1 && rng.next() < 0.25) {
    const i = rng.int(nSolvers - 1);
    [costs[i], costs[i + 1]] = [costs[i + 1]!, costs[i]!];
  }
  if (rng.next() < 0.2) costs[0] = 0; // a free, weak solver (the bandit's solver B)
  const solverNames = ["s1", "s2", "s3"].slice(0, nSolvers);
  const agents: Array<Record<string, unknown>> = solverNames.map((name, i) => {
    const solve = Object.fromEntries(
      typeNames.map((t) => [t, round(Math.min(0.95, Math.max(0.05, quality[i]! + rng.uniform(-0.25, 0.25))), 3)]),
    );
    const a: Record<string, unknown> = { name, kind: "sim", cost: round(costs[i]! * costScale), solve };
    if (heads === 2) a.tiers = { large: { costMultiplier: round(rng.uniform(2, 5), 3), successDelta: round(rng.uniform(0.1, 0.4), 3) } };
    return a;
  });
  const nHelpers = maxSteps === 1 ? 0 : rng.int(3);
  for (let h = 0; h < nHelpers; h++) {
    const targets = rng.shuffle([...solverNames]).slice(0, 1 + rng.int(Math.min(2, nSolvers)));
    const boost = Object.fromEntries(targets.map((s) => [s, round(rng.uniform(0.1, 0.4), 3)]));
    agents.push({ name: `h${h + 1}`, kind: "sim", cost: round(rng.uniform(0.2, 1.5) * costScale), boost });
  }
  // a pool needs two agents: a lone solver always gets the Terminator
  if (rng.next() < 0.75 || agents.length < 2) agents.push({ name: "terminator", kind: "terminator", cost: 0 });
  return { maxSteps, types, agents, heads };
}

function problemObject(d: Draft, budget: number | undefined, costPenalty: number): Record<string, unknown> {
  return {
    agents: d.agents,
    tasks: { source: "sim", types: d.types },
    env: { maxSteps: d.maxSteps, ...(budget !== undefined ? { budget } : {}) },
    reward: { successBonus: 1, failurePenalty: 0, costPenalty, gamma: 1 },
    encoder: { name: "features", view: "markov" },
    ...(d.heads === 2 ? { policy: { heads: [{ name: "agent" }, { name: "tier", choices: ["small", "large"] }] } } : {}),
  };
}

/**
 * A validated config of the problem for trainer `algo`: the constrained form (env.budget,
 * costPenalty 0) for the constrained trainers, the penalised form (costPenalty λ, no budget) for
 * reinforce and ppo. `extra` is merged over the problem at the top level (e.g. train, log, seed);
 * `sets` are `--set`-style overrides.
 */
export function familyConfig(p: FamilyProblem, algo: string, extra: Record<string, unknown> = {}, sets: readonly string[] = []): Config {
  return validateConfig(familyRawConfig(p, algo, extra), `family problem ${p.id}`, process.cwd(), { sets });
}

/** The unvalidated config object of {@link familyConfig} (what a YAML file of the problem holds). */
export function familyRawConfig(p: FamilyProblem, algo: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const constrained = constrainedAlgos.includes(algo);
  const problem = structuredClone(p.problem) as Record<string, Record<string, unknown>>;
  if (!constrained) delete problem.env!.budget;
  problem.reward!.costPenalty = constrained ? 0 : p.costPenalty;
  return { name: p.id, ...problem, algo: { name: algo }, ...extra };
}

/** The oracle on a problem object with a given objective (budget row or fixed λ; λ may be < 0). */
async function oracleOf(d: Draft, algo: string, budget: number | undefined, costPenalty: number, where: string): Promise<OracleResult> {
  const raw = {
    name: "oracle",
    ...problemObject(d, budget, Math.max(0, costPenalty)),
    algo: { name: algo },
    train: { updates: 1, episodesPerUpdate: 1 },
  };
  const c = validateConfig(raw, where, process.cwd());
  // λ < 0 (maximise cost, for the most expensive policy) is not a valid config value, but the LP takes it
  if (costPenalty < 0) c.reward.costPenalty = costPenalty;
  return solveOracle(c, where);
}

/** Problem `index` of the family (deterministic in (seed, heads, index)). */
export async function familyProblem(index: number, opts: FamilyOptions): Promise<FamilyProblem> {
  const heads = opts.heads ?? 1;
  const id = `cmdp${heads === 2 ? "2h" : ""}-${opts.seed}-${index}`;
  const rng = new Rng(`${opts.seed}:${heads}:${index}`);
  // a draft is redrawn (from the same stream) until its budget can bind and the optimum is not tiny
  for (let attempt = 0; attempt < 50; attempt++) {
    const d = draft(rng, heads);
    const minCostPositive = Math.min(...d.agents.map((a) => Number(a.cost)).filter((c) => c > 0));
    if (!Number.isFinite(minCostPositive)) continue;
    // cheapest / most expensive / cheapest reward-maximising policy: penalised LPs with a large
    // positive, large negative and tiny positive λ
    const big = 1e3 / minCostPositive;
    const cheapest = await oracleOf(d, "reinforce", undefined, big, id);
    const priciest = await oracleOf(d, "reinforce", undefined, -big, id);
    const best = await oracleOf(d, "reinforce", undefined, 1e-6 / minCostPositive, id);
    const lo = cheapest.cost;
    const hi = best.cost;
    if (!(hi - lo > 1e-3 * minCostPositive) || best.taskReturn < 0.2) continue;
    const slack = rng.next() < 0.1 && priciest.cost > 1.1 * hi;
    const budget = round(slack ? hi + rng.uniform(0.1, 0.6) * (priciest.cost - hi) : lo + rng.uniform(0.25, 0.9) * (hi - lo));
    if (!(budget > 0)) continue;
    const constrained = await oracleOf(d, "ppo-lagrangian", budget, 0, id);
    if (constrained.taskReturn < 0.15) continue;
    const lambdaScale = constrained.lambda > 1e-6 ? constrained.lambda : best.taskReturn / Math.max(hi, 1e-9);
    let costPenalty = round(lambdaScale * rng.uniform(0.5, 1.5));
    let penalised = await oracleOf(d, "reinforce", undefined, costPenalty, id);
    // keep the penalised optimum clearly positive (a ratio to a value near 0 says nothing)
    while (penalised.value < 0.1 && costPenalty > 1e-9) {
      costPenalty = round(costPenalty / 2);
      penalised = await oracleOf(d, "reinforce", undefined, costPenalty, id);
    }
    return {
      id,
      index,
      heads,
      problem: problemObject(d, budget, 0),
      budget,
      costPenalty,
      reference: {
        constrained,
        penalised,
        minCost: lo,
        unconstrainedCost: hi,
        maxCost: priciest.cost,
        binds: constrained.budgetBinds && budget < hi - 1e-9,
      },
    };
  }
  throw new Error(`cmdp family: problem ${index} of seed ${String(opts.seed)}: no usable draft in 50 attempts`);
}

/** The bounds a run must meet (the bar docs/benchmarks.md measures the defaults against): J_R ≥ 0.97·J_R* and J_C ≤ 1.03·d (constrained), value ≥ 0.97·value* (penalised). */
export const familyBounds = { ratio: 0.97, cost: 1.03 } as const;

/** How a trained policy's exact evaluation compares with the problem's optimum (the benchmark's and the tests' one rule). */
export function scoreOnFamily(
  p: FamilyProblem,
  algo: string,
  exact: { value: number; taskReturn: number; cost: number },
): { constrained: boolean; ratio: number; costRatio: number; pass: boolean } {
  const constrained = constrainedAlgos.includes(algo);
  const ratio = constrained ? exact.taskReturn / p.reference.constrained.taskReturn : exact.value / p.reference.penalised.value;
  const costRatio = exact.cost / p.budget;
  const pass = constrained ? ratio >= familyBounds.ratio && costRatio <= familyBounds.cost : ratio >= familyBounds.ratio;
  return { constrained, ratio, costRatio, pass };
}

/** Problems `indices` of the family. */
export async function generateFamily(indices: readonly number[], opts: FamilyOptions): Promise<FamilyProblem[]> {
  const out: FamilyProblem[] = [];
  for (const i of indices) out.push(await familyProblem(i, opts));
  return out;
}

/** One line describing a problem (for benchmark output). */
export function describeProblem(p: FamilyProblem): string {
  const pr = p.problem as {
    agents: Array<{ name: string; kind: string; solve?: unknown; boost?: unknown }>;
    env: { maxSteps: number };
    tasks: { types: Record<string, number> };
  };
  const solvers = pr.agents.filter((a) => a.solve !== undefined).length;
  const helpers = pr.agents.filter((a) => a.boost !== undefined).length;
  const term = pr.agents.some((a) => a.kind === "terminator");
  const r = p.reference;
  return (
    `${p.id}: T=${pr.env.maxSteps} types=${Object.keys(pr.tasks.types).length} solvers=${solvers} helpers=${helpers}${term ? " +terminator" : ""}` +
    ` d=${p.budget} (${r.binds ? "binds" : "slack"}; costs ${round(r.minCost, 3)}..${round(r.unconstrainedCost, 3)}..${round(r.maxCost, 3)})` +
    ` J_R*=${r.constrained.taskReturn.toFixed(4)} λ*=${r.constrained.lambda.toPrecision(3)} | penalised λ=${p.costPenalty} value*=${r.penalised.value.toFixed(4)}`
  );
}
