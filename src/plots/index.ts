/** Plots (chart.js on @napi-rs/canvas, PNG): one run, groups of seeds, sweeps. */
export * from "./render.js";
export { heatmapPanel } from "./heatmap.js";
export { plotRun, plotRunFiles, structurePanels, runBudget } from "./run.js";
export {
  checkMetric,
  childRuns,
  comparePanels,
  findRuns,
  groupRuns,
  groupSeries,
  hasMetrics,
  plotSeeds,
  type RunGroup,
  type RunGrouping,
} from "./group.js";
export { formatParam, legendLabels, paretoFront, plotSweep, trialLabel } from "./sweep.js";
export { plotPaths, type PlotOptions } from "./command.js";
export { trainWithPlots } from "./with-plots.js";
export { plotPoolCurve, type PoolCurvePlot } from "./pool-curve.js";
