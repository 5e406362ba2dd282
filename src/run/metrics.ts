import fs from "node:fs";
import { parse as parseCsv } from "csv-parse/sync";
import { createObjectCsvStringifier } from "csv-writer";

/** The common columns of metrics.csv; trainer-specific ones follow, then `wall_s`. */
export const commonColumns = [
  "update",
  "episodes",
  "env_steps",
  "return_mean",
  "return_std",
  "success_rate",
  "cost_mean",
  "ep_len_mean",
  "loss",
  "entropy",
] as const;

export type MetricsRow = Record<string, number>;

/** Column list of a run whose trainer logs `extra` columns. */
export function metricsColumns(extra: readonly string[]): string[] {
  return [...commonColumns, ...extra.filter((c) => !(commonColumns as readonly string[]).includes(c)), "wall_s"];
}

/**
 * Appends rows to metrics.csv, formatted by csv-writer, one row per update as it happens (a killed
 * run keeps every row already written). The append is synchronous, as for structure.jsonl: one small
 * write per update, instead of an open/write/close round trip through the thread pool.
 */
export class MetricsWriter {
  private readonly writer;

  constructor(
    readonly file: string,
    readonly columns: readonly string[],
  ) {
    if (!fs.existsSync(file) || fs.statSync(file).size === 0) fs.writeFileSync(file, columns.join(",") + "\n");
    this.writer = createObjectCsvStringifier({ header: columns.map((id) => ({ id, title: id })) });
  }

  async write(row: MetricsRow): Promise<void> {
    const rec: Record<string, string> = {};
    for (const c of this.columns) {
      const v = row[c];
      rec[c] = v === undefined || Number.isNaN(v) ? "" : formatNumber(v);
    }
    fs.appendFileSync(this.file, this.writer.stringifyRecords([rec]));
  }
}

/**
 * THE definition of a run's "final" figures, used by every command (train's last line, summary.json
 * `finalWindow`, train --seeds, sweep tables, eval tables): the mean of each metrics column over the last
 * 10% of updates (at least one). Steadier than the last update alone, whose batch is one noisy sample.
 */
export const finalWindowFraction = 0.1;

/** How many last updates the final window of a run with `updates` rows averages. */
export function finalWindowSize(updates: number): number {
  return Math.max(1, Math.round(updates * finalWindowFraction));
}

/** Column means over the final window (see `finalWindowFraction`); undefined without rows. */
export function finalWindow(rows: readonly MetricsRow[]): MetricsRow | undefined {
  if (rows.length === 0) return undefined;
  const w = rows.slice(-finalWindowSize(rows.length));
  const out: MetricsRow = {};
  for (const k of Object.keys(w[0]!)) out[k] = w.reduce((acc, r) => acc + r[k]!, 0) / w.length;
  return out;
}

/** Full-precision but compact number formatting (integers stay integers). */
export function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(10)));
}

/**
 * The records of a CSV text (csv-parse, RFC 4180), each with its raw line. A killed run may leave a torn
 * last row: rows may be shorter than the header (`relax_column_count`), and callers decide what to keep.
 */
function parseRecords(text: string): Array<{ record: string[]; raw: string }> {
  return parseCsv(text, { raw: true, relax_column_count: true, skip_empty_lines: true }) as unknown as Array<{
    record: string[];
    raw: string;
  }>;
}

/** Reads metrics.csv into rows of numbers (empty or missing cells become NaN). */
export function readMetrics(file: string): { columns: string[]; rows: MetricsRow[] } {
  const records = parseRecords(fs.readFileSync(file, "utf8"));
  if (records.length === 0) return { columns: [], rows: [] };
  const columns = records[0]!.record;
  const rows = records.slice(1).map(({ record: cells }) => {
    const row: MetricsRow = {};
    columns.forEach((c, i) => {
      const cell = cells[i];
      row[c] = cell === undefined || cell === "" ? NaN : Number(cell);
    });
    return row;
  });
  return { columns, rows };
}

/**
 * Keeps the header and the complete rows whose `update` ≤ `lastUpdate` (resume: rows written after the
 * checkpoint are re-collected; a torn last row is dropped). Rewritten atomically, rows byte for byte.
 */
export function truncateMetrics(file: string, lastUpdate: number): void {
  if (!fs.existsSync(file)) return;
  const records = parseRecords(fs.readFileSync(file, "utf8"));
  if (records.length === 0) return;
  const header = records[0]!.record;
  const idx = header.indexOf("update");
  const keep = [records[0]!.raw.replace(/\r?\n$/, "")];
  for (const { record, raw } of records.slice(1)) {
    if (record.length === header.length && Number(record[idx]) <= lastUpdate) keep.push(raw.replace(/\r?\n$/, ""));
  }
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, keep.join("\n") + "\n");
  fs.renameSync(tmp, file);
}

/** Same for a JSON-lines file whose records carry an `update` field. */
export function truncateJsonl(file: string, lastUpdate: number): void {
  if (!fs.existsSync(file)) return;
  const keep: string[] = [];
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (!line) continue;
    try {
      if ((JSON.parse(line) as { update: number }).update <= lastUpdate) keep.push(line);
    } catch {
      // a torn last line from a killed run: drop it
    }
  }
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, keep.length ? keep.join("\n") + "\n" : "");
  fs.renameSync(tmp, file);
}
