/** Plots (chart.js through chartjs-node-canvas, PNG): one run, groups of seeds, sweeps. */
export * from "./render.js";
export { heatmapPanel } from "./heatmap.js";
export { plotRun, plotRunFiles, structurePanels, runBudget } from "./run.js";
export { childRuns, comparePanels, groupSeries, hasMetrics, plotSeeds, type RunGroup } from "./group.js";
export { paretoFront, plotSweep, trialLabel } from "./sweep.js";
export { plotPaths } from "./command.js";
export { trainWithPlots } from "./with-plots.js";
