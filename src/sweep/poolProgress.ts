import cliProgress from "cli-progress";
import type { MetricsRow } from "../run/metrics.js";

/**
 * One combined progress display for many child runs (multi-seed training, sweeps): a single bar of
 * all updates of all runs on a terminal, plain lines otherwise (about every 10% and at each run's end).
 */
export interface PoolProgress {
  /** A run started; `total` is its number of updates (and how many it had done, when resumed). */
  start(key: string, total: number, done?: number): void;
  update(key: string, row: MetricsRow): void;
  finish(key: string, status: string, note?: string): void;
  stop(): void;
}

export function createPoolProgress(
  label: string,
  runs: number,
  updatesPerRun: number,
  stream: NodeJS.WriteStream = process.stderr,
): PoolProgress {
  const done = new Map<string, number>();
  const last = new Map<string, MetricsRow>();
  let finished = 0;
  let failed = 0;
  const expected = runs * updatesPerRun;
  const total = () =>
    Math.max(
      expected,
      [...done.values()].reduce((a, b) => a + b, 0),
    );
  const sum = () => [...done.values()].reduce((a, b) => a + b, 0);
  const stats = () => {
    const rets = [...last.values()].map((r) => r.return_mean!).filter((v) => v !== undefined && !Number.isNaN(v));
    const best = rets.length ? Math.max(...rets).toFixed(3) : "-";
    return `runs ${finished}/${runs} done${failed ? `, ${failed} failed` : ""}, ${done.size - finished} running | best current return ${best}`;
  };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% | {stats} | eta {eta_formatted}`, stream, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(expected, 0, { stats: stats() });
    return {
      start: (key, _t, d = 0) => done.set(key, d),
      update: (key, row) => {
        done.set(key, row.update!);
        last.set(key, row);
        bar.setTotal(total());
        bar.update(sum(), { stats: stats() });
      },
      finish: (_key, status) => {
        finished++;
        if (status === "failed") failed++;
        bar.update(sum(), { stats: stats() });
      },
      stop: () => bar.stop(),
    };
  }
  let nextMark = 0.1;
  return {
    start: (key, _t, d = 0) => done.set(key, d),
    update: (key, row) => {
      done.set(key, row.update!);
      last.set(key, row);
      const frac = sum() / total();
      if (frac >= nextMark) {
        while (nextMark <= frac) nextMark += 0.1;
        stream.write(`${label}: ${(100 * frac).toFixed(0)}% of updates | ${stats()}\n`);
      }
    },
    finish: (key, status, note) => {
      finished++;
      if (status === "failed") failed++;
      stream.write(`${label}: ${key} ${status}${note ? ` — ${note}` : ""} (${finished}/${runs})\n`);
    },
    stop: () => {},
  };
}
