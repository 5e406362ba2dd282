/**
 * A small concurrency + requests-per-minute limiter shared by every LLM call of a run
 * (`llm.maxConcurrency`, `llm.requestsPerMinute`). Tasks start in FIFO order.
 */
export class Limiter {
  private active = 0;
  private readonly queue: Array<() => void> = [];
  /** Start times (ms) of the requests of the last minute, oldest first. */
  private readonly starts: number[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly maxConcurrency: number,
    readonly requestsPerMinute?: number,
  ) {
    if (!(maxConcurrency >= 1)) throw new Error("Limiter: maxConcurrency must be ≥ 1");
  }

  /** Number of tasks running now. */
  get running(): number {
    return this.active;
  }

  /** Number of tasks waiting for a slot. */
  get waiting(): number {
    return this.queue.length;
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push(() => {
        fn().then(resolve, reject).finally(() => {
          this.active--;
          this.pump();
        });
      });
      this.pump();
    });
  }

  private pump(): void {
    while (this.active < this.maxConcurrency && this.queue.length > 0) {
      if (this.requestsPerMinute !== undefined) {
        const now = Date.now();
        while (this.starts.length > 0 && now - this.starts[0]! >= 60_000) this.starts.shift();
        if (this.starts.length >= this.requestsPerMinute) {
          if (this.timer === undefined) {
            const wait = 60_000 - (now - this.starts[0]!) + 1;
            this.timer = setTimeout(() => {
              this.timer = undefined;
              this.pump();
            }, wait);
          }
          return;
        }
        this.starts.push(now);
      }
      this.active++;
      this.queue.shift()!();
    }
  }
}
