/**
 * TensorBoard event files of runs and sweeps, read three ways: a decoder written here from the format
 * specs alone (TFRecord framing, CRC32C, protobuf wire format: it shares no code with the writer), the
 * Python tensorboard package's reader (test/tensorboard-read.py: its event multiplexer, data provider
 * and HParams backend), and TensorBoard's own server with its fast loader (what `tensorboard --logdir`
 * runs). The Python parts skip, with the reason, where the package is not installed.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/load.js";
import { train } from "../src/index.js";
import { readMetrics, type MetricsRow } from "../src/run/metrics.js";
import { frameRecord, maskedCrc32c, readRecords, RunEventWriter } from "../src/run/tensorboard.js";
import { selectBackend } from "../src/policy/backend.js";
import { prepareSweep } from "../src/sweep/local.js";
import { loadSweep } from "../src/sweep/spec.js";
import { expectInputError, freePort, removeTmpDirs, repoRoot, runCli, tmpDir, writeSweep } from "./helpers.js";

const mvp = path.join(repoRoot, "configs", "doa-mvp.yaml");
const reader = path.join(repoRoot, "test", "tensorboard-read.py");

const python = spawnSync("python3", ["-c", "import tensorboard, tensorboard_data_server"], { encoding: "utf8" });
const noPython =
  python.status === 0 ? "" : " (skipped: the Python tensorboard package is not installed here; `pip install tensorboard` adds it)";

beforeAll(async () => {
  await selectBackend("auto");
});
afterAll(removeTmpDirs);

// ---- an independent decoder: TFRecord framing, CRC32C (Castagnoli, bitwise), protobuf wire format ----

function crc32cBitwise(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of data) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
const mask = (crc: number) => ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;

/** The records of a TFRecord file; throws on a bad CRC or a cut record unless `tolerateTail`. */
function tfrecords(buf: Buffer, tolerateTail = false): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (off < buf.length) {
    if (off + 12 > buf.length) {
      if (tolerateTail) break;
      throw new Error(`cut header at byte ${off}`);
    }
    const len = Number(buf.readBigUInt64LE(off));
    expect(buf.readUInt32LE(off + 8), `length CRC at byte ${off}`).toBe(mask(crc32cBitwise(buf.subarray(off, off + 8))));
    if (off + 16 + len > buf.length) {
      if (tolerateTail) break;
      throw new Error(`cut record at byte ${off}`);
    }
    const data = buf.subarray(off + 12, off + 12 + len);
    expect(buf.readUInt32LE(off + 12 + len), `data CRC at byte ${off}`).toBe(mask(crc32cBitwise(data)));
    out.push(data);
    off += 16 + len;
  }
  return out;
}

type Field = { wire: number; varint?: bigint; bytes?: Buffer; fixed?: Buffer };

/** Protobuf wire format: field number → its occurrences. */
function fields(buf: Buffer): Map<number, Field[]> {
  const m = new Map<number, Field[]>();
  let off = 0;
  const varint = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[off++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (off < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wire = key & 7;
    let f: Field;
    if (wire === 0) f = { wire, varint: varint() };
    else if (wire === 1) f = { wire, fixed: buf.subarray(off, (off += 8)) };
    else if (wire === 5) f = { wire, fixed: buf.subarray(off, (off += 4)) };
    else if (wire === 2) {
      const n = Number(varint());
      f = { wire, bytes: buf.subarray(off, (off += n)) };
    } else throw new Error(`wire type ${wire}`);
    m.set(no, [...(m.get(no) ?? []), f]);
  }
  return m;
}

interface DecodedEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  sessionLogStatus?: number;
  values: Array<{ tag: string; plugin?: string; pluginContent?: Buffer; dtype?: number; value?: number }>;
}

/** tensorflow/core/util/event.proto and summary.proto, the fields scalars and plugins use. */
function decodeEvent(rec: Buffer): DecodedEvent {
  const f = fields(rec);
  const ev: DecodedEvent = { wallTime: f.get(1)?.[0]?.fixed?.readDoubleLE(0) ?? 0, step: Number(f.get(2)?.[0]?.varint ?? 0n), values: [] };
  if (f.has(3)) ev.fileVersion = f.get(3)![0]!.bytes!.toString("utf8");
  if (f.has(7)) ev.sessionLogStatus = Number(fields(f.get(7)![0]!.bytes!).get(1)?.[0]?.varint ?? 0n);
  for (const v of f.has(5) ? (fields(f.get(5)![0]!.bytes!).get(1) ?? []) : []) {
    const vf = fields(v.bytes!);
    const out: DecodedEvent["values"][number] = { tag: vf.get(1)![0]!.bytes!.toString("utf8") };
    if (vf.has(9)) {
      const plugin = fields(fields(vf.get(9)![0]!.bytes!).get(1)![0]!.bytes!);
      out.plugin = plugin.get(1)![0]!.bytes!.toString("utf8");
      out.pluginContent = plugin.get(2)?.[0]?.bytes ?? Buffer.alloc(0);
    }
    if (vf.has(8)) {
      const t = fields(vf.get(8)![0]!.bytes!);
      out.dtype = Number(t.get(1)![0]!.varint);
      const fv = t.get(5)?.[0];
      if (fv) out.value = fv.wire === 2 ? fv.bytes!.readFloatLE(0) : fv.fixed!.readFloatLE(0);
    }
    ev.values.push(out);
  }
  return ev;
}

const tbFiles = (dir: string) =>
  fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => f.includes("tfevents"))
        .sort()
        .map((f) => path.join(dir, f))
    : [];
const eventsOf = (dir: string, tolerateTail = false) =>
  tbFiles(dir).flatMap((f) => tfrecords(fs.readFileSync(f), tolerateTail).map(decodeEvent));

/** step → tag → value of the summary events in `dir`. */
function scalarsByStep(dir: string): Map<number, Record<string, number>> {
  const m = new Map<number, Record<string, number>>();
  for (const ev of eventsOf(dir)) {
    if (!ev.values.length) continue;
    const row = m.get(ev.step) ?? {};
    for (const v of ev.values) row[v.tag] = v.value!;
    m.set(ev.step, row);
  }
  return m;
}

/** What the metrics row holds, as TensorBoard holds it (float32; empty cells are not written). */
function asWritten(row: MetricsRow): Record<string, number> {
  return Object.fromEntries(
    Object.entries(row)
      .filter(([, v]) => !Number.isNaN(v))
      .map(([k, v]) => [k, Math.fround(v)]),
  );
}

interface PyRead {
  scalars: Record<string, Record<string, Array<[number, number]>>>;
  experiment: {
    hparam_infos?: Array<{ name: string; type: string; domain_interval?: { min_value: number; max_value: number } }>;
    metric_infos?: Array<{ name: { tag: string } }>;
  };
  session_groups: Array<{
    name: string;
    hparams: Record<string, unknown>;
    metric_values?: Array<{ name: { tag: string }; value: number }>;
    sessions: Array<{ name: string; status?: string }>;
  }>;
}

function pyRead(logdir: string): PyRead {
  const r = spawnSync("python3", [reader, logdir], { encoding: "utf8", timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as PyRead;
}

function runConfig(sets: string[]) {
  return loadConfig(mvp, { sets: ["train.updates=6", "log.plot=false", "log.episodeSample=0", ...sets] });
}

describe("TensorBoard event files", () => {
  it("frames each record as TFRecord with masked CRC32C; a torn or corrupt tail ends the records read", () => {
    // the CRC-32C check value (RFC 3720 B.4: "123456789" → e3069283) through the library, masked as TFRecord does
    expect(maskedCrc32c(Buffer.from("123456789"))).toBe(mask(0xe3069283));
    const a = frameRecord(Buffer.from("first"));
    const b = frameRecord(Buffer.from("second record"));
    expect(a.length).toBe(12 + 5 + 4);
    expect(tfrecords(Buffer.concat([a, b])).map((r) => r.toString())).toEqual(["first", "second record"]);
    const both = Buffer.concat([a, b]);
    expect(readRecords(both).records.map((r) => Buffer.from(r).toString())).toEqual(["first", "second record"]);
    expect(readRecords(both.subarray(0, both.length - 3))).toMatchObject({ bytes: a.length });
    const flipped = Buffer.from(both);
    flipped[a.length + 14]! ^= 1; // a data byte of the second record: its CRC no longer matches
    expect(readRecords(flipped).records).toHaveLength(1);
  });

  it("a run writes every metrics column per update into <run>/tb/, each update's event as the update finishes", async () => {
    const dir = path.join(tmpDir("tb"), "run");
    const seen: number[] = [];
    await train({
      config: runConfig([]),
      runDir: dir,
      onUpdate: (row) => {
        // live: the update's event is in the file when onUpdate runs (a TensorBoard reading now sees it)
        seen.push(eventsOf(path.join(dir, "tb")).filter((e) => e.values.length > 0 && e.step === row.update).length);
      },
    });
    expect(seen).toEqual([1, 1, 1, 1, 1, 1]);
    const files = tbFiles(path.join(dir, "tb"));
    expect(files).toHaveLength(1);
    expect(path.basename(files[0]!)).toMatch(/^events\.out\.tfevents\.\d{10}\..+\.\d+\.\d+$/);
    const events = eventsOf(path.join(dir, "tb"));
    expect(events[0]!.fileVersion).toBe("brain.Event:2");
    const { columns, rows } = readMetrics(path.join(dir, "metrics.csv"));
    const byStep = scalarsByStep(path.join(dir, "tb"));
    expect([...byStep.keys()]).toEqual([1, 2, 3, 4, 5, 6]);
    for (const row of rows) expect(byStep.get(row.update!)).toEqual(asWritten(row));
    expect(Object.keys(byStep.get(1)!).sort()).toEqual([...columns].sort());
    // scalars plugin metadata and float32 rank-0 tensors, metadata on each tag's first value only
    const summaries = events.filter((e) => e.values.length);
    expect(summaries[0]!.values.every((v) => v.plugin === "scalars" && v.dtype === 1)).toBe(true);
    expect(summaries[1]!.values.every((v) => v.plugin === undefined && v.dtype === 1)).toBe(true);
    expect(events.every((e, i) => i === 0 || e.wallTime >= events[i - 1]!.wallTime)).toBe(true);
  });

  it("log.tensorboard: false writes no tb/ folder; a value that is not a boolean is an error naming the field", async () => {
    const dir = path.join(tmpDir("tb-off"), "run");
    await train({ config: runConfig(["log.tensorboard=false"]), runDir: dir });
    expect(fs.existsSync(path.join(dir, "metrics.csv"))).toBe(true);
    expect(fs.existsSync(path.join(dir, "tb"))).toBe(false);
    expectInputError(() => runConfig(["log.tensorboard=sometimes"]), "log.tensorboard");
  });

  it("resume: events after the checkpoint and a torn tail are dropped, the restart is marked, updates missing from tb/ are written back", async () => {
    const base = tmpDir("tb-resume");
    const straight = path.join(base, "straight");
    await train({ config: runConfig(["train.checkpointEvery=3"]), runDir: straight });
    // a run killed after update 5, its last checkpoint at update 3, a record half-written
    const killed = path.join(base, "killed");
    fs.cpSync(straight, killed, { recursive: true });
    fs.rmSync(path.join(killed, "checkpoints", "update-000006"), { recursive: true });
    fs.rmSync(path.join(killed, "summary.json"));
    const [file] = tbFiles(path.join(killed, "tb"));
    const recs = tfrecords(fs.readFileSync(file!));
    const upTo5 = recs.filter((r) => decodeEvent(r).step <= 5);
    const torn = frameRecord(recs.at(-1)!).subarray(0, 20);
    fs.writeFileSync(file!, Buffer.concat([...upTo5.map((r) => frameRecord(r)), torn]));
    // a run whose tb/ is gone (started before event files were written): updates 1..3 are written back from metrics.csv
    const bare = path.join(base, "bare");
    fs.cpSync(killed, bare, { recursive: true });
    fs.rmSync(path.join(bare, "tb"), { recursive: true });

    for (const dir of [killed, bare]) {
      await train({ resumeDir: dir });
      const rows = readMetrics(path.join(dir, "metrics.csv")).rows;
      expect(rows.map((r) => r.update)).toEqual([1, 2, 3, 4, 5, 6]);
      const events = eventsOf(path.join(dir, "tb"));
      // every update once, with the resumed run's values
      const steps = events.filter((e) => e.values.length).map((e) => e.step);
      expect(steps).toEqual([1, 2, 3, 4, 5, 6]);
      const byStep = scalarsByStep(path.join(dir, "tb"));
      for (const row of rows) expect(byStep.get(row.update!)).toEqual(asWritten(row));
      // the old file keeps updates 1-3, rewritten whole (no torn tail); the new one marks the restart at 4
      const restart = events.filter((e) => e.sessionLogStatus !== undefined);
      if (dir === killed) {
        expect(tbFiles(path.join(dir, "tb"))).toHaveLength(2);
        expect(restart).toEqual([expect.objectContaining({ step: 4, sessionLogStatus: 1 })]);
      } else expect(restart).toEqual([]);
    }
  });

  it.skipIf(python.status !== 0)(
    `TensorBoard's Python reader sees every metrics column of every update, and a resumed run's updates once${noPython}`,
    async () => {
      const base = tmpDir("tb-py");
      const dir = path.join(base, "run");
      await train({ config: runConfig(["train.checkpointEvery=3"]), runDir: dir });
      // resumed from update 3 after a kill at update 6: the reader must drop the first run's 4..6 (restart mark)
      fs.rmSync(path.join(dir, "checkpoints", "update-000006"), { recursive: true });
      fs.rmSync(path.join(dir, "summary.json"));
      const before = readMetrics(path.join(dir, "metrics.csv")).rows;
      await train({ resumeDir: dir });
      const { columns, rows } = readMetrics(path.join(dir, "metrics.csv"));
      const read = pyRead(base);
      expect(Object.keys(read.scalars)).toEqual(["run/tb"]);
      const series = read.scalars["run/tb"]!;
      expect(Object.keys(series).sort()).toEqual([...columns].sort());
      for (const c of columns) expect(series[c], c).toEqual(rows.map((r) => [r.update, Math.fround(r[c]!)]));
      // the wall-clock column differs between the two runs of updates 4..6: the reader has the resumed ones
      expect(series.wall_s!.slice(3).map(([, v]) => v)).not.toEqual(before.slice(3).map((r) => Math.fround(r.wall_s!)));
    },
  );
});

describe("sweeps in TensorBoard's HParams view", () => {
  const dir = tmpDir("tb-sweep");
  const runs = path.join(dir, "runs");
  const sweepDir = path.join(runs, "hp");
  let trials: Array<{ id: string; params: Record<string, unknown> }> = [];
  let csv: Record<string, string>[] = [];

  beforeAll(() => {
    const f = writeSweep(
      dir,
      `name: hp
base: BASE
fixed: { train.updates: 3, train.episodesPerUpdate: 4, log.plot: false, log.episodeSample: 0 }
objective: { metric: entropy, mode: max }
parameters:
  reward.costPenalty: { values: [0.05, 0.2] }
  env.terminatorEndsEpisode: { values: [true] }
`,
    );
    const r = runCli(["sweep", f, "--runs-dir", runs, "--workers", "2", "--quiet"]);
    expect(r.status, r.stderr).toBe(0);
    trials = (JSON.parse(fs.readFileSync(path.join(sweepDir, "sweep.json"), "utf8")) as { trials: typeof trials }).trials;
    const [head, ...lines] = fs.readFileSync(path.join(sweepDir, "sweep.csv"), "utf8").trim().split("\n");
    csv = lines.map((l) => Object.fromEntries(l.split(",").map((v, i) => [head!.split(",")[i], v])));
  });

  it("each trial is a session in <trial>/tb/: its parameters, its final figures (objective first), its status; each seed run has its curves", () => {
    expect(trials).toHaveLength(2);
    for (const t of trials) {
      const events = eventsOf(path.join(sweepDir, t.id, "tb"));
      const values = events.flatMap((e) => e.values);
      expect(values.map((v) => v.tag)).toEqual([
        "_hparams_/session_start_info",
        "final/entropy",
        "final/return_mean",
        "final/success_rate",
        "final/cost_mean",
        "_hparams_/session_end_info",
      ]);
      expect(values.filter((v) => v.tag.startsWith("_hparams_")).every((v) => v.plugin === "hparams")).toBe(true);
      // HParamsPluginData (tensorboard/plugins/hparams/plugin_data.proto): session_start_info = 3, its group_name = 4
      const start = fields(values[0]!.pluginContent!);
      const info = fields(start.get(3)![0]!.bytes!);
      expect(info.get(4)![0]!.bytes!.toString()).toBe(t.id);
      const hparams = Object.fromEntries(
        info.get(1)!.map((e) => {
          const kv = fields(e.bytes!);
          const v = fields(kv.get(2)![0]!.bytes!); // google.protobuf.Value: number_value = 2, bool_value = 4
          return [kv.get(1)![0]!.bytes!.toString(), v.has(2) ? v.get(2)![0]!.fixed!.readDoubleLE(0) : Boolean(v.get(4)![0]!.varint)];
        }),
      );
      expect(hparams).toEqual(t.params);
      const end = fields(fields(values.at(-1)!.pluginContent!).get(4)![0]!.bytes!);
      expect(Number(end.get(1)![0]!.varint)).toBe(1); // STATUS_SUCCESS
      const row = csv.find((r) => r.trial === t.id)!;
      expect(values.find((v) => v.tag === "final/return_mean")!.value).toBeCloseTo(Number(row.return_mean), 5);
      expect(values.find((v) => v.tag === "final/entropy")!.value).toBeCloseTo(Number(row.objective), 5);
      expect(scalarsByStep(path.join(sweepDir, t.id, "seed0", "tb")).size).toBe(3);
    }
  });

  it("a sweep being prepared lists its trials at once: each session has its parameters, no metrics and no end yet", () => {
    const f = writeSweep(
      dir,
      "name: prep\nbase: BASE\nfixed: { train.updates: 3 }\nparameters:\n  reward.costPenalty: { values: [0.1, 0.3] }\n  policy.hidden: { values: [[16, 16]] }\n",
      "prep.yaml",
    );
    const sweep = loadSweep(f);
    const prepDir = prepareSweep(sweep, path.join(dir, "prep-runs"));
    for (const t of sweep.trials) {
      const values = eventsOf(path.join(prepDir, t.id, "tb")).flatMap((e) => e.values);
      expect(values.map((v) => v.tag)).toEqual(["_hparams_/session_start_info"]);
      // a list-valued parameter is given as its JSON text (google.protobuf.Value string_value = 3)
      const info = fields(fields(values[0]!.pluginContent!).get(3)![0]!.bytes!);
      const hidden = info
        .get(1)!
        .map((e) => fields(e.bytes!))
        .find((kv) => kv.get(1)![0]!.bytes!.toString() === "policy.hidden")!;
      expect(fields(hidden.get(2)![0]!.bytes!).get(3)![0]!.bytes!.toString()).toBe("[16,16]");
    }
    // preparing it again (a re-run) keeps the sessions as they are
    const before = tbFiles(path.join(prepDir, sweep.trials[0]!.id, "tb"));
    prepareSweep(sweep, path.join(dir, "prep-runs"));
    expect(tbFiles(path.join(prepDir, sweep.trials[0]!.id, "tb"))).toEqual(before);
  });

  it.skipIf(python.status !== 0)(
    `TensorBoard's Python HParams backend lists the trials with their parameters and final figures${noPython}`,
    () => {
      const read = pyRead(runs);
      const infos = read.experiment.hparam_infos!;
      expect(infos.map((h) => h.name).sort()).toEqual(["env.terminatorEndsEpisode", "reward.costPenalty"]);
      expect(infos.find((h) => h.name === "reward.costPenalty")).toMatchObject({
        type: "DATA_TYPE_FLOAT64",
        domain_interval: { min_value: 0.05, max_value: 0.2 },
      });
      expect(infos.find((h) => h.name === "env.terminatorEndsEpisode")).toMatchObject({ type: "DATA_TYPE_BOOL" });
      expect(read.experiment.metric_infos!.map((m) => m.name.tag).sort()).toEqual([
        "final/cost_mean",
        "final/entropy",
        "final/return_mean",
        "final/success_rate",
      ]);
      expect(read.session_groups).toHaveLength(2);
      for (const t of trials) {
        const g = read.session_groups.find((x) => x.name === t.id)!;
        expect(g.hparams).toEqual(t.params);
        expect(g.sessions).toEqual([expect.objectContaining({ name: `hp/${t.id}/tb`, status: "STATUS_SUCCESS" })]);
        const row = csv.find((r) => r.trial === t.id)!;
        const metric = (tag: string) => g.metric_values!.find((m) => m.name.tag === tag)!.value;
        expect(metric("final/entropy")).toBeCloseTo(Number(row.objective), 5);
        expect(metric("final/cost_mean")).toBeCloseTo(Number(row.cost_mean), 5);
      }
      // the seed runs' curves are there too, under their own run names
      for (const t of trials) expect(Object.keys(read.scalars[`hp/${t.id}/seed0/tb`]!)).toContain("return_mean");
    },
  );

  it.skipIf(python.status !== 0)(
    `\`tensorboard --logdir\` (its fast loader) serves the runs' scalars and the sweep's sessions${noPython}`,
    async () => {
      const port = await freePort();
      const tb: ChildProcess = spawn(
        "tensorboard",
        ["--logdir", runs, "--host", "127.0.0.1", "--port", String(port), "--load_fast", "true"],
        { stdio: "ignore" },
      );
      try {
        const url = `http://127.0.0.1:${port}`;
        const run = `hp/${trials[0]!.id}/seed0/tb`;
        // the data server loads the folder in the background: poll until the last run's scalars are there
        let tags: Record<string, Record<string, unknown>> = {};
        for (let i = 0; i < 120 && !(tags[run] && Object.keys(tags).length === 4); i++) {
          await new Promise((r) => setTimeout(r, 500));
          tags = await fetch(`${url}/data/plugin/scalars/tags`).then(
            (r) => (r.ok ? (r.json() as Promise<typeof tags>) : {}),
            () => ({}),
          );
        }
        expect(Object.keys(tags).sort()).toEqual([...trials.flatMap((t) => [`hp/${t.id}/seed0/tb`, `hp/${t.id}/tb`])].sort());
        const points = (await fetch(`${url}/data/plugin/scalars/scalars?run=${encodeURIComponent(run)}&tag=return_mean`).then((r) =>
          r.json(),
        )) as Array<[number, number, number]>;
        const rows = readMetrics(path.join(sweepDir, trials[0]!.id, "seed0", "metrics.csv")).rows;
        expect(points.map(([, step, v]) => [step, v])).toEqual(rows.map((r) => [r.update, Math.fround(r.return_mean!)]));
        const groups = (await fetch(`${url}/data/plugin/hparams/session_groups`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            experimentName: "",
            startIndex: 0,
            sliceSize: 100,
            allowedStatuses: ["STATUS_SUCCESS"],
            colParams: [{ metric: { tag: "final/entropy" } }, { hparam: "reward.costPenalty" }],
          }),
        }).then((r) => r.json())) as {
          sessionGroups: Array<{
            name: string;
            hparams: Record<string, unknown>;
            metricValues: Array<{ name: { tag: string }; value: number }>;
          }>;
        };
        expect(groups.sessionGroups.map((g) => g.name).sort()).toEqual(trials.map((t) => t.id).sort());
        for (const g of groups.sessionGroups) {
          expect(g.hparams["reward.costPenalty"]).toBe(trials.find((t) => t.id === g.name)!.params["reward.costPenalty"]);
          expect(g.metricValues.find((m) => m.name.tag === "final/entropy")!.value).toBeCloseTo(
            Number(csv.find((r) => r.trial === g.name)!.objective),
            5,
          );
        }
      } finally {
        tb.kill();
      }
    },
    120_000,
  );
});

describe("RunEventWriter on bad input", () => {
  it("a row without an update number is refused (the step of every event is its update)", () => {
    const w = new RunEventWriter(path.join(tmpDir("tb-bad"), "tb"));
    expect(() => w.write({ return_mean: 1 })).toThrow(/without an update number/);
  });
});
