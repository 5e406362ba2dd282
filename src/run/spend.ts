/**
 * Training spend on recorded pools: what training would have cost on the live models with the response
 * cache on — each distinct (item, model) call paid once, at its recorded $ — against the full training
 * table an offline router needs (every model on every training item once). The calls an update adds are
 * appended to `training-calls.jsonl` (one line per update, like metrics.csv), so a resumed run counts
 * exactly what an uninterrupted one would.
 */
import fs from "node:fs";
import type { RecordedAgent } from "../agents/recorded.js";
import type { EpisodeRecord } from "../env/rollout.js";

export interface TrainingSpend {
  /** $ of the distinct (item, model) calls training made. */
  usd: number;
  /** $ of calling every model of the pool on every training item once. */
  tableUsd: number;
  /** usd / tableUsd. */
  share: number;
  /** Distinct (item, model) calls made, and the table's. */
  calls: number;
  tableCalls: number;
}

export class SpendTracker {
  private readonly seen = new Set<string>();
  private usd = 0;
  private readonly tableUsd: number;
  private readonly tableCalls: number;

  constructor(
    private readonly agents: ReadonlyMap<string, RecordedAgent>,
    trainItems: readonly { id: string }[],
    private readonly file: string,
  ) {
    let t = 0;
    for (const a of agents.values()) t += a.meanUsd(trainItems) * trainItems.length;
    this.tableUsd = t;
    this.tableCalls = agents.size * trainItems.length;
  }

  private add(item: string, agent: string): boolean {
    const a = this.agents.get(agent);
    const key = `${item}\u0000${agent}`;
    if (!a || this.seen.has(key)) return false;
    this.seen.add(key);
    this.usd += (a.outputFor(item)?.meta?.usd as number | undefined) ?? 0;
    return true;
  }

  /** Reads the calls of a resumed run (the file is already cut back to its checkpoint). */
  restore(): void {
    if (!fs.existsSync(this.file)) return;
    for (const line of fs.readFileSync(this.file, "utf8").split("\n")) {
      if (!line) continue;
      for (const [item, agent] of (JSON.parse(line) as { calls: Array<[string, string]> }).calls) this.add(item, agent);
    }
  }

  /** Counts an update's episodes and appends its new calls to the file. */
  record(update: number, episodes: readonly EpisodeRecord[]): void {
    const fresh: Array<[string, string]> = [];
    for (const e of episodes) for (const a of e.agents) if (this.add(e.taskId, a)) fresh.push([e.taskId, a]);
    fs.appendFileSync(this.file, JSON.stringify({ update, calls: fresh }) + "\n");
  }

  summary(): TrainingSpend {
    return {
      usd: this.usd,
      tableUsd: this.tableUsd,
      share: this.tableUsd > 0 ? this.usd / this.tableUsd : 0,
      calls: this.seen.size,
      tableCalls: this.tableCalls,
    };
  }
}
