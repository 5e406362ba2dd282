import cliProgress from "cli-progress";
import type { MetricsRow } from "./metrics.js";

export interface Progress {
  update(row: MetricsRow): void;
  stop(): void;
}

function brief(row: MetricsRow): string {
  const f = (v: number | undefined, d: number) => (v === undefined || Number.isNaN(v) ? "-" : v.toFixed(d));
  return `return ${f(row.return_mean, 3)}  success ${f(row.success_rate, 2)}  cost ${f(row.cost_mean, 2)}`;
}

/**
 * Training progress: a bar on a terminal, plain periodic lines otherwise (logs, CI, pipes):
 * about ten lines per run, and always the last update.
 */
export function createProgress(total: number, start: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: "update {value}/{total} [{bar}] {percentage}% | {stats} | eta {eta_formatted}", stream, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, start, { stats: "" });
    return {
      update: (row) => bar.update(row.update!, { stats: brief(row) }),
      stop: () => bar.stop(),
    };
  }
  const every = Math.max(1, Math.round(total / 10));
  return {
    update: (row) => {
      const u = row.update!;
      if (u % every === 0 || u === total) stream.write(`update ${u}/${total}  ${brief(row)}  (${(row.wall_s ?? 0).toFixed(1)} s)\n`);
    },
    stop: () => {},
  };
}
