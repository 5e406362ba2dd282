import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MetricsWriter, metricsColumns, readMetrics, truncateMetrics } from "../src/run/metrics.js";
import { removeTmpDirs, tmpDir } from "./helpers.js";

afterAll(removeTmpDirs);

describe("metrics.csv reading (csv-parse)", () => {
  it("reads back exactly what the writer wrote (numbers, NaN as empty cells)", async () => {
    const file = path.join(tmpDir("csv"), "metrics.csv");
    const w = new MetricsWriter(file, metricsColumns(["kl", "lambda"]));
    const rows = [
      {
        update: 1,
        episodes: 10,
        env_steps: 31,
        return_mean: -0.123456789012,
        return_std: 1e-12,
        success_rate: 0.5,
        cost_mean: 2.5,
        ep_len_mean: 3.1,
        loss: -1.5e-7,
        entropy: 0.69,
        kl: NaN,
        lambda: 0,
        wall_s: 0.01,
      },
      {
        update: 2,
        episodes: 20,
        env_steps: 60,
        return_mean: 0.25,
        return_std: 0,
        success_rate: 1,
        cost_mean: 0,
        ep_len_mean: 1,
        loss: 3,
        entropy: 0,
        kl: 0.002,
        lambda: 12.5,
        wall_s: 0.02,
      },
    ];
    for (const r of rows) await w.write(r);
    const back = readMetrics(file);
    expect(back.columns).toEqual(metricsColumns(["kl", "lambda"]));
    expect(back.rows.length).toBe(2);
    expect(back.rows[0]!.kl).toBeNaN();
    expect(back.rows[0]!.return_mean).toBe(Number((-0.123456789012).toPrecision(10)));
    expect(back.rows[0]!.return_std).toBe(1e-12);
    expect(back.rows[1]).toEqual(rows[1]);
  });

  it("parses RFC 4180 quoting and treats missing cells of a torn last row as NaN", () => {
    const file = path.join(tmpDir("csv"), "metrics.csv");
    fs.writeFileSync(file, 'update,"odd, name",wall_s\n1,2,0.5\n2,"3",0.6\n3,4');
    const { columns, rows } = readMetrics(file);
    expect(columns).toEqual(["update", "odd, name", "wall_s"]);
    expect(rows.map((r) => r["odd, name"])).toEqual([2, 3, 4]);
    expect(rows[2]!.wall_s).toBeNaN();
  });

  it("truncateMetrics keeps complete rows up to the checkpoint byte for byte and drops a torn row", () => {
    const file = path.join(tmpDir("csv"), "metrics.csv");
    const text = "update,return_mean,wall_s\n1,0.1234567891,0.5\n2,,0.6\n3,0.3,0.7\n";
    // a killed run: row 4 torn after its first cell, which reads as update 1
    fs.writeFileSync(file, text + "1");
    truncateMetrics(file, 2);
    expect(fs.readFileSync(file, "utf8")).toBe("update,return_mean,wall_s\n1,0.1234567891,0.5\n2,,0.6\n");
    fs.writeFileSync(file, text);
    truncateMetrics(file, 3);
    expect(fs.readFileSync(file, "utf8")).toBe(text);
  });
});
