import PQueue from "p-queue";

/**
 * The concurrency + requests-per-minute limit shared by every LLM call of a run
 * (`llm.maxConcurrency`, `llm.requestsPerMinute`). Tasks start in FIFO order; at most
 * `requestsPerMinute` start in any rolling 60 s window.
 *
 * A thin wrapper over p-queue (a maintained library instead of a hand-written queue): p-queue does both limits
 * in one kept library — its `strict` mode is the sliding window the old limiter had — whereas p-limit
 * (same author) has no rate limit and bottleneck has had no release since 2019.
 */
export class Limiter {
  private readonly queue: PQueue;

  constructor(
    readonly maxConcurrency: number,
    readonly requestsPerMinute?: number,
  ) {
    if (!(maxConcurrency >= 1)) throw new Error("Limiter: maxConcurrency must be ≥ 1");
    this.queue = new PQueue({
      concurrency: maxConcurrency,
      ...(requestsPerMinute !== undefined ? { intervalCap: requestsPerMinute, interval: 60_000, strict: true } : {}),
    });
  }

  /** Number of tasks running now. */
  get running(): number {
    return this.queue.pending;
  }

  /** Number of tasks waiting for a slot. */
  get waiting(): number {
    return this.queue.size;
  }

  /** Runs `fn` when a slot is free; an aborted `signal` takes a waiting task out of the line (rejects with its reason). */
  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.queue.add(fn, signal ? { signal } : {}) as Promise<T>;
  }
}
