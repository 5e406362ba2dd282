import fs from "node:fs";
import { createObjectCsvStringifier } from "csv-writer";
import { parse as parseCsvLine } from "./csv.js";

/** The common columns of metrics.csv (DESIGN §6); trainer-specific ones follow, then `wall_s`. */
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

/** Full-precision but compact number formatting (integers stay integers). */
export function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(10)));
}

/** Reads metrics.csv into rows of numbers (empty cells become NaN). */
export function readMetrics(file: string): { columns: string[]; rows: MetricsRow[] } {
  const text = fs.readFileSync(file, "utf8");
  const lines = text.split("\n").filter((l) => l.length > 0);
  if (lines.length === 0) return { columns: [], rows: [] };
  const columns = parseCsvLine(lines[0]!);
  const rows = lines.slice(1).map((line) => {
    const cells = parseCsvLine(line);
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
 * Keeps the header and the first rows whose `update` ≤ `lastUpdate` (resume: rows written after the
 * checkpoint are re-collected). Rewritten atomically.
 */
export function truncateMetrics(file: string, lastUpdate: number): void {
  if (!fs.existsSync(file)) return;
  const lines = fs.readFileSync(file, "utf8").split("\n");
  const header = lines[0] ?? "";
  const idx = parseCsvLine(header).indexOf("update");
  const keep = [header];
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const u = Number(parseCsvLine(line)[idx]);
    if (u <= lastUpdate) keep.push(line);
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
