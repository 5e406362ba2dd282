/** src/run: one training run — building its pieces from a config, the loop, its folder, checkpoints, metrics. */
export { train, loadRunConfig, defaultRunDir, type RunSummary, type TrainOptions } from "./train.js";
export { buildAgents, buildEncoder, buildEnvSpec, buildLlm, buildTaskSplits, buildTaskSource, buildTrainer, RunRngs } from "./build.js";
export { latestCheckpoint, loadCheckpoint, saveCheckpoint, type CheckpointMeta } from "./checkpoint.js";
export { readMetrics, MetricsWriter, type MetricsRow } from "./metrics.js";
export { makeManifest, type Manifest } from "./manifest.js";
export { loadTrainedRun, type TrainedRun } from "./trained.js";
export { createProgress, type Progress, type ProgressBudget } from "./progress.js";
export { planResume, resumableField, resumableFields, scheduleFields, type ResumePlan } from "./resume.js";
export { runMetricColumns, trainerMetricNames, llmMetricColumns } from "./columns.js";
export { findRunDirs, isRunDir } from "./folders.js";
export { finalWindow, finalWindowSize, finalWindowFraction } from "./metrics.js";
export { budgetStatus, budgetBrief, type BudgetStatus } from "./budget.js";
