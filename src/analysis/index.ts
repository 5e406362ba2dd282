/** src/analysis: what a run or a problem is worth — LP oracle, exact and sampled evaluation, structure, statistics. */
export { solveOracle, simProblem, objectiveText, type OracleResult } from "./oracle.js";
export { exactEvaluate, exactEvaluateRun, policyProbs, type ExactResult, type PolicyProbs } from "./exact.js";
export {
  evaluateRun,
  evaluateGroup,
  formatGroupEval,
  type EvalOptions,
  type EvalResult,
  type GroupEvalResult,
  type GroupEvalRow,
} from "./evaluate.js";
export { graphMetrics, structureRecord, structureSummary, readStructure, type GraphMetrics, type StructureRecord } from "./structure.js";
export { bootstrapMeanCI, bandAcross, median, quantileSorted, type MeanCI } from "./stats.js";
export {
  generateFamily,
  familyProblem,
  familyConfig,
  familyRawConfig,
  describeProblem,
  scoreOnFamily,
  familyBounds,
  type FamilyProblem,
  type FamilyOptions,
  type FamilyReference,
} from "./cmdp-family.js";
export {
  poolBaselines,
  poolFacts,
  checkPoolSplits,
  type PoolItems,
  type PoolSplits,
  type PoolBaseline,
  type PoolBaselineKind,
  type PoolBaselineOptions,
  type PoolFacts,
} from "./pool-baselines.js";
export {
  frontier,
  accuracyAt,
  firstReach,
  dollarMetrics,
  belowBaselines,
  xOf,
  type CostAxis,
  type PoolPoint,
  type DollarMetrics,
  type BelowFlag,
} from "./metrics-pool.js";
