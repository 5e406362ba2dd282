/** src/analysis: what a run or a problem is worth — LP oracle, exact and sampled evaluation, structure, statistics. */
export { solveOracle, simProblem, type OracleResult } from "./oracle.js";
export { exactEvaluate, exactEvaluateRun, policyProbs, type ExactResult, type PolicyProbs } from "./exact.js";
export { evaluateRun, type EvalOptions, type EvalResult } from "./evaluate.js";
export { graphMetrics, structureRecord, structureSummary, readStructure, type GraphMetrics, type StructureRecord } from "./structure.js";
export { bootstrapMeanCI, bandAcross, median, quantileSorted, type MeanCI } from "./stats.js";
