/** maestro's library entry point. */
export type { AgentOutput, StepResult, SystemState, Task, Turn, Usage } from "./core/types.js";
export { Rng } from "./core/rng.js";
export { InputError } from "./core/errors.js";
export type { Agent, AgentContext } from "./agents/agent.js";
export { EchoAgent } from "./agents/echo.js";
export { TerminatorAgent } from "./agents/terminator.js";
export { buildAgent, loadAgentFile } from "./agents/loader.js";
export { Episode, type EnvSpec } from "./env/env.js";
export { rollout, type RolloutBatch, type EpisodeRecord } from "./env/rollout.js";
export { DoaMd5Encoder, FeaturesEncoder, type StateEncoder } from "./policy/encoders.js";
export { CategoricalPolicy } from "./policy/policy.js";
export { selectBackend, currentBackend, type BackendName } from "./policy/backend.js";
export { fsIOHandler } from "./policy/io.js";
export { ReinforceTrainer } from "./algos/reinforce.js";
export { OnPolicyTrainer } from "./algos/on-policy.js";
export { PpoTrainer } from "./algos/ppo.js";
export { PpoLagrangianTrainer } from "./algos/ppo-lagrangian.js";
export { P3oTrainer } from "./algos/p3o.js";
export { LagrangeMultiplier } from "./algos/lagrange.js";
export { gae } from "./algos/buffer.js";
export { SimAgent } from "./agents/sim.js";
export { SimTaskSource } from "./tasks/sim.js";
export { solveOracle, type OracleResult } from "./analysis/oracle.js";
export { exactEvaluate, exactEvaluateRun, type ExactResult } from "./analysis/exact.js";
export { generateFamily, familyProblem, familyConfig, scoreOnFamily, familyBounds, type FamilyProblem } from "./analysis/cmdp-family.js";
export { budgetStatus, type BudgetStatus } from "./run/budget.js";
export type { Trainer } from "./algos/trainer.js";
export { configSchema, loadConfig, validateConfig, type Config } from "./config/index.js";
export { loadRunConfig, type RunSummary, type TrainOptions } from "./run/train.js";
export { trainWithPlots as train } from "./plots/with-plots.js";
export { evaluateRun, evaluateGroup, type EvalResult, type GroupEvalResult } from "./analysis/evaluate.js";
export { readMetrics, finalWindow } from "./run/metrics.js";
export { planResume, type ResumePlan } from "./run/resume.js";
export { runMetricColumns } from "./run/columns.js";
export { loadSweep, type Sweep, type Trial } from "./sweep/spec.js";
export { runSweepLocal } from "./sweep/local.js";
export { runSweepQueue, startWorker } from "./sweep/queue.js";
export { trainSeeds } from "./sweep/multiSeed.js";
export { plotPaths, plotRun, plotSeeds, plotSweep } from "./plots/index.js";
export { bootstrapMeanCI, bandAcross } from "./analysis/stats.js";
export { graphMetrics, structureRecord } from "./analysis/structure.js";
export { LlmAgent, extractAnswer } from "./agents/llm.js";
export { LlmClient, type LlmStats } from "./llm/client.js";
export { ResponseCache, cacheKey, type CacheMode } from "./llm/cache.js";
export { Limiter } from "./llm/limiter.js";
export { OpenAiProvider, AnthropicProvider } from "./llm/providers.js";
export type { ChatMessage, ModelSettings, ChatResult } from "./llm/types.js";
export { startSimServer, type SimServer, type SimServerConfig } from "./llm/sim-server.js";
export { generateArithmeticTasks, parseArithmeticProblem } from "./tasks/arithmetic.js";
export { loadJsonlTasks, splitTasks } from "./tasks/jsonl.js";
export { evaluatorByName, finalAnswer, matchAnswer, type Evaluator } from "./tasks/evaluators.js";
export { EmbeddingEncoder } from "./policy/embedding.js";
export { loadOrchestrator, Orchestrator, type OrchestrationTrace, type TraceStep } from "./serve/orchestrate.js";
export { serveRun, startServer, buildServer, type MaestroServer, type ServeOptions, type MaestroInfo } from "./serve/server.js";
export { buildAgents, buildEncoder, buildEnvSpec, buildLlm, buildTaskSplits, buildTaskSource } from "./run/build.js";
export { CpoTrainer } from "./algos/cpo.js";
export { MacpoTrainer } from "./algos/macpo.js";
export { MappoLagrangianTrainer } from "./algos/mappo-lagrangian.js";
export { conjugateGradient, cpoDirection, cpoStep, fisherVectorProduct, backtrackingLineSearch } from "./algos/cpo-step.js";
export { FactoredPolicy, type ActionPolicy } from "./policy/factored.js";
export { decodeJoint, encodeJoint, jointOptions, jointSize, type HeadSpec } from "./env/heads.js";
export { RecordedAgent, buildRecordedAgent, type RecordedPool } from "./agents/recorded.js";
export {
  loadRecordedTable,
  splitRecorded,
  findItem,
  type RecordedTable,
  type RecordedItem,
  type RecordedAnswer,
} from "./tasks/recorded.js";
export { answerFeatures, answerFeatureNames, arithmeticChecks } from "./tasks/answer-features.js";
export { countTokens, type TokenizerName } from "./llm/tokens.js";
export { AnswersEncoder, KnobEncoder } from "./policy/answers.js";
export { CostKnob } from "./algos/knob.js";
export { curveRun, combineCurves, type CurveResult, type Baseline } from "./analysis/curve.js";
export { apgr, cpt, curveMetrics, orderCurve, type CurvePoint, type CurveMetrics } from "./analysis/metrics-routing.js";
export { poolBaselines, type PoolItems, type PoolSplits, type PoolBaseline } from "./analysis/pool-baselines.js";
export { frontier, accuracyAt, firstReach, dollarMetrics, belowBaselines, type CostAxis, type PoolPoint } from "./analysis/metrics-pool.js";
export { plotPoolCurve, type PoolCurvePlot } from "./plots/pool-curve.js";
export { curveCommand, plotCurve } from "./plots/curve.js";
export { recordedSplits, recordedTable } from "./config/recorded.js";
export type { SolveOptions } from "./serve/orchestrate.js";
export { ModuleAgent, type ModuleAgentInput, type ModuleAgentResult, type ModuleAgentFunction } from "./agents/module.js";
export type { ModuleEvaluatorInput, ModuleEvaluatorFunction } from "./tasks/module-evaluator.js";
export { loadUserModules } from "./run/build.js";
