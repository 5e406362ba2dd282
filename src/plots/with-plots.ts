import { train as trainRun, type RunSummary, type TrainOptions } from "../run/train.js";
import { plotRun } from "./run.js";

/**
 * src/run's `train` training loop with the run's plots drawn at the end when `log.plot`
 * is on — what `maestro train`, the sweep pool and the library's `train` export do. (src/run sits below
 * src/plots and renders nothing itself.)
 */
export function trainWithPlots(opts: TrainOptions): Promise<RunSummary> {
  return trainRun({ plot: plotRun, ...opts });
}
