/**
 * TensorBoard event files, written without TensorFlow: Event protocol buffers (protobufjs, from the
 * message definitions below) framed as TFRecords (length, masked CRC32C of the length, data, masked
 * CRC32C of the data; CRC32C from @aws-crypto/crc32c). Readers: TensorBoard itself
 * (`tensorboard --logdir runs`), its Python event reader, and any TFRecord reader.
 *
 * A run writes `<run>/tb/events.out.tfevents.<seconds>.<host>.<pid>.<n>`: one Event per update whose
 * Summary holds every metrics.csv column of that update as a scalar (tag = column name, step = update),
 * appended as the update finishes, so a TensorBoard pointed at `runs/` shows the curves of running
 * trainings. A resumed run first drops the events of updates after its checkpoint (as metrics.csv
 * drops those rows) and marks the restart with a SessionLog START event. Sweeps add the HParams
 * plugin's session summaries (hparamsSessionEvents) so TensorBoard's HParams view compares trials.
 *
 * Formats: TFRecord framing and the masked CRC — tensorflow/core/lib/io/record_writer.cc and
 * crc32c.h; Event, Summary, TensorProto — tensorflow/core/util/event.proto and
 * tensorflow/core/framework/{summary,tensor,tensor_shape,types}.proto; the scalars plugin's metadata —
 * tensorboard/plugins/scalar/metadata.py; HParams — tensorboard/plugins/hparams/{api,plugin_data}.proto.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { crc32c } from "@aws-crypto/crc32c";
import protobuf from "protobufjs";
import { writeFileAtomic } from "../policy/io.js";

/** The subset of TensorFlow's and TensorBoard's message definitions that scalars and HParams use (field numbers as upstream). */
const PROTO = `
syntax = "proto3";
package tensorboard;

message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    Summary summary = 5;
    SessionLog session_log = 7;
  }
}

message SessionLog {
  enum SessionStatus { STATUS_UNSPECIFIED = 0; START = 1; STOP = 2; CHECKPOINT = 3; }
  SessionStatus status = 1;
  string checkpoint_path = 2;
  string msg = 3;
}

enum DataClass { DATA_CLASS_UNKNOWN = 0; DATA_CLASS_SCALAR = 1; DATA_CLASS_TENSOR = 2; DATA_CLASS_BLOB_SEQUENCE = 3; }

message SummaryMetadata {
  message PluginData {
    string plugin_name = 1;
    bytes content = 2;
  }
  PluginData plugin_data = 1;
  string display_name = 2;
  string summary_description = 3;
  DataClass data_class = 4;
}

message Summary {
  message Value {
    string tag = 1;
    SummaryMetadata metadata = 9;
    oneof value {
      float simple_value = 2;
      TensorProto tensor = 8;
    }
  }
  repeated Value value = 1;
}

enum DataType { DT_INVALID = 0; DT_FLOAT = 1; DT_DOUBLE = 2; DT_STRING = 7; }

message TensorShapeProto {
  message Dim {
    int64 size = 1;
    string name = 2;
  }
  repeated Dim dim = 2;
}

message TensorProto {
  DataType dtype = 1;
  TensorShapeProto tensor_shape = 2;
  repeated float float_val = 5 [packed = true];
  repeated double double_val = 6 [packed = true];
}
`;

const HPARAMS_PROTO = `
syntax = "proto3";
package tensorboard.hparams;

enum Status { STATUS_UNKNOWN = 0; STATUS_SUCCESS = 1; STATUS_FAILURE = 2; STATUS_RUNNING = 3; }

message SessionStartInfo {
  map<string, google.protobuf.Value> hparams = 1;
  string model_uri = 2;
  string monitor_url = 3;
  string group_name = 4;
  double start_time_secs = 5;
}

message SessionEndInfo {
  Status status = 1;
  double end_time_secs = 2;
}

message HParamsPluginData {
  int32 version = 1;
  oneof data {
    SessionStartInfo session_start_info = 3;
    SessionEndInfo session_end_info = 4;
  }
}
`;

/** google/protobuf/struct.proto (the hparams values are google.protobuf.Value). */
const STRUCT_PROTO = `
syntax = "proto3";
package google.protobuf;

message Struct { map<string, Value> fields = 1; }
message Value {
  oneof kind {
    NullValue null_value = 1;
    double number_value = 2;
    string string_value = 3;
    bool bool_value = 4;
    Struct struct_value = 5;
    ListValue list_value = 6;
  }
}
enum NullValue { NULL_VALUE = 0; }
message ListValue { repeated Value values = 1; }
`;

interface Types {
  Event: protobuf.Type;
  HParamsPluginData: protobuf.Type;
}

let types: Types | undefined;

/** The message types, parsed on first use (runs with `log.tensorboard: false` never pay for it). */
function messageTypes(): Types {
  if (!types) {
    const root = new protobuf.Root();
    protobuf.parse(STRUCT_PROTO, root, { keepCase: true });
    protobuf.parse(PROTO, root, { keepCase: true });
    protobuf.parse(HPARAMS_PROTO, root, { keepCase: true });
    root.resolveAll();
    types = { Event: root.lookupType("tensorboard.Event"), HParamsPluginData: root.lookupType("tensorboard.hparams.HParamsPluginData") };
  }
  return types;
}

/** DataType / DataClass / status numbers used below (values of the enums above). */
const DT_FLOAT = 1;
const DATA_CLASS_SCALAR = 1;
const SESSION_START = 1;

/** What the first record of every event file says (TensorFlow's EventsWriter). */
export const FILE_VERSION = "brain.Event:2";

/** An event as this module writes it (field names as in event.proto). */
export interface TbEvent {
  wall_time: number;
  step: number;
  file_version?: string;
  summary?: { value: TbValue[] };
  session_log?: { status: number; msg?: string };
}

export interface TbValue {
  tag: string;
  metadata?: { plugin_data: { plugin_name: string; content?: Uint8Array }; data_class?: number };
  tensor?: { dtype: number; tensor_shape: { dim?: Array<{ size: number }> }; double_val?: number[]; float_val?: number[] };
}

/** TFRecord's masked CRC32C (record_writer.cc: rotate right by 15 bits, add 0xa282ead8). */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data);
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

/** One TFRecord: uint64 length, masked CRC of those 8 bytes, the data, masked CRC of the data (little-endian). */
export function frameRecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.byteLength + 4);
  out.writeBigUInt64LE(BigInt(data.byteLength), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.byteLength);
  return out;
}

/**
 * The complete records at the start of `buf`, and how many bytes they span. Reading stops at the first
 * record that is cut short or fails its CRC (the torn tail a killed writer can leave).
 */
export function readRecords(buf: Uint8Array): { records: Uint8Array[]; bytes: number } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const records: Uint8Array[] = [];
  let off = 0;
  while (off + 12 <= b.length) {
    if (b.readUInt32LE(off + 8) !== maskedCrc32c(b.subarray(off, off + 8))) break;
    const len = Number(b.readBigUInt64LE(off));
    const end = off + 12 + len + 4;
    if (end > b.length) break;
    const data = b.subarray(off + 12, off + 12 + len);
    if (b.readUInt32LE(off + 12 + len) !== maskedCrc32c(data)) break;
    records.push(data);
    off = end;
  }
  return { records, bytes: off };
}

export function encodeEvent(ev: TbEvent): Uint8Array {
  const { Event } = messageTypes();
  return Event.encode(ev).finish();
}

export function decodeEvent(data: Uint8Array): TbEvent {
  const { Event } = messageTypes();
  return Event.toObject(Event.decode(data), { longs: Number, defaults: true, arrays: true }) as TbEvent;
}

/** The events of one event file, up to a torn or corrupt tail. */
export function readEventFile(file: string): TbEvent[] {
  return readRecords(fs.readFileSync(file)).records.map(decodeEvent);
}

/** Event files of a folder in the order TensorBoard reads them (by name). */
export function eventFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.includes("tfevents") && !f.includes(".tmp-"))
    .sort()
    .map((f) => path.join(dir, f));
}

let fileCounter = 0;

/**
 * Appends events to a new event file in `dir` (created if missing), one synchronous append per event
 * (a killed process keeps every event written before it; readers see each as it lands).
 */
export class EventFileWriter {
  readonly file: string;

  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    const secs = Math.floor(Date.now() / 1000);
    this.file = path.join(dir, `events.out.tfevents.${String(secs).padStart(10, "0")}.${os.hostname()}.${process.pid}.${fileCounter++}`);
    fs.writeFileSync(this.file, frameRecord(encodeEvent({ wall_time: Date.now() / 1000, step: 0, file_version: FILE_VERSION })));
  }

  write(ev: Omit<TbEvent, "wall_time"> & { wall_time?: number }): void {
    fs.appendFileSync(this.file, frameRecord(encodeEvent({ wall_time: Date.now() / 1000, ...ev })));
  }
}

/** The scalars plugin's metadata (tensorboard/plugins/scalar/metadata.py: plugin "scalars", empty content). */
const scalarMetadata = () => ({ plugin_data: { plugin_name: "scalars", content: new Uint8Array() }, data_class: DATA_CLASS_SCALAR });

/**
 * A scalar summary value as TensorFlow 2's `tf.summary.scalar` writes it: a rank-0 float32 tensor, with
 * the scalars plugin's metadata on a tag's first value in a file (readers keep it for the later ones).
 * float32, not float64: TensorBoard's fast loader (its data server) reads float32 scalars only, and
 * drops float64 ones without a word. metrics.csv keeps the full precision.
 */
export function scalarValue(tag: string, v: number, withMetadata: boolean): TbValue {
  return { tag, ...(withMetadata ? { metadata: scalarMetadata() } : {}), tensor: { dtype: DT_FLOAT, tensor_shape: {}, float_val: [v] } };
}

/**
 * The TensorBoard side of a run: writes every metrics row as scalars at step = update. Opening it on a
 * run folder that already has event files (a resume from update `after`) drops their events of later
 * updates, writes the rows up to `after` that the files lack (a run started before its event files
 * were written), and marks the restart with SessionLog START at `after` + 1.
 */
export class RunEventWriter {
  private readonly writer: EventFileWriter;
  private readonly tagged = new Set<string>();

  constructor(
    readonly dir: string,
    opts: { after?: number; rows?: () => ReadonlyArray<Record<string, number>> } = {},
  ) {
    const after = opts.after ?? 0;
    const existing = eventFiles(dir);
    let lastStep = 0;
    for (const file of existing) lastStep = Math.max(lastStep, truncateEventFile(file, after));
    this.writer = new EventFileWriter(dir);
    // a reader that already loaded the dropped updates discards them on this (TensorBoard's restart mark)
    if (existing.length > 0)
      this.writer.write({ step: after + 1, session_log: { status: SESSION_START, msg: `resumed after update ${after}` } });
    if (lastStep < after && opts.rows) for (const row of opts.rows()) if (row.update! > lastStep && row.update! <= after) this.write(row);
  }

  get file(): string {
    return this.writer.file;
  }

  /** One event for the row: each finite column as a scalar, at step = its `update`. */
  write(row: Record<string, number>): void {
    const step = row.update;
    if (step === undefined || !Number.isFinite(step))
      throw new Error(`tensorboard: a metrics row without an update number (${JSON.stringify(row)})`);
    const value: TbValue[] = [];
    for (const [tag, v] of Object.entries(row)) {
      if (typeof v !== "number" || Number.isNaN(v)) continue;
      value.push(scalarValue(tag, v, !this.tagged.has(tag)));
      this.tagged.add(tag);
    }
    this.writer.write({ step, summary: { value } });
  }
}

/**
 * Keeps the events of `file` up to step `after` (and the file_version record), rewriting it atomically
 * when anything goes (a later update, a torn tail). Returns the largest step of a kept summary event.
 */
function truncateEventFile(file: string, after: number): number {
  const buf = fs.readFileSync(file);
  const { records, bytes } = readRecords(buf);
  const keep: Uint8Array[] = [];
  let last = 0;
  for (const r of records) {
    const ev = decodeEvent(r);
    if (ev.file_version || ev.step <= after) {
      keep.push(r);
      if (ev.summary) last = Math.max(last, ev.step);
    }
  }
  if (keep.length < records.length || bytes < buf.length) writeFileAtomic(file, Buffer.concat(keep.map(frameRecord)));
  return last;
}

/** HParams plugin constants (tensorboard/plugins/hparams/metadata.py). */
const HPARAMS_PLUGIN = "hparams";
export const SESSION_START_INFO_TAG = "_hparams_/session_start_info";
export const SESSION_END_INFO_TAG = "_hparams_/session_end_info";
export const HPARAMS_STATUS = { unknown: 0, success: 1, failure: 2, running: 3 } as const;

/** A hyperparameter value as google.protobuf.Value: numbers, booleans and strings as such, anything else as its JSON text. */
function protoValue(v: unknown): Record<string, unknown> {
  if (typeof v === "number") return { number_value: v };
  if (typeof v === "boolean") return { bool_value: v };
  if (typeof v === "string") return { string_value: v };
  return { string_value: JSON.stringify(v) };
}

/** The plugin's summary value: its data in the metadata, an empty float tensor as the value (what its own writer puts there). */
function hparamsValue(tag: string, data: Record<string, unknown>): TbValue {
  const { HParamsPluginData } = messageTypes();
  // fromObject: the hparams map's values are google.protobuf.Value objects given as plain objects
  const content = HParamsPluginData.encode(HParamsPluginData.fromObject({ version: 0, ...data })).finish();
  return {
    tag,
    metadata: { plugin_data: { plugin_name: HPARAMS_PLUGIN, content } },
    tensor: { dtype: DT_FLOAT, tensor_shape: { dim: [{ size: 0 }] } },
  };
}

/**
 * The events of one HParams session (one sweep trial): its hyperparameters (session start, grouped by
 * `group`), its metrics as scalars at step 0, and its end status when it has ended (`status`).
 */
export function hparamsSessionEvents(opts: {
  hparams: Record<string, unknown>;
  group: string;
  startTime: number;
  metrics: Record<string, number>;
  status?: (typeof HPARAMS_STATUS)[keyof typeof HPARAMS_STATUS];
  endTime?: number;
}): Array<Omit<TbEvent, "wall_time"> & { wall_time?: number }> {
  const hparams: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(opts.hparams)) hparams[k] = protoValue(v);
  const events: Array<Omit<TbEvent, "wall_time"> & { wall_time?: number }> = [
    {
      step: 0,
      wall_time: opts.startTime,
      summary: {
        value: [
          hparamsValue(SESSION_START_INFO_TAG, {
            session_start_info: { hparams, group_name: opts.group, start_time_secs: opts.startTime },
          }),
        ],
      },
    },
  ];
  const scalars = Object.entries(opts.metrics).filter(([, v]) => Number.isFinite(v));
  if (scalars.length) events.push({ step: 0, summary: { value: scalars.map(([tag, v]) => scalarValue(tag, v, true)) } });
  if (opts.status !== undefined) {
    const end = opts.endTime ?? Date.now() / 1000;
    events.push({
      step: 0,
      wall_time: end,
      summary: { value: [hparamsValue(SESSION_END_INFO_TAG, { session_end_info: { status: opts.status, end_time_secs: end } })] },
    });
  }
  return events;
}

/** Replaces the event files of `dir` by one holding `events` (whole-file write: a reader never sees a half). */
export function writeEventFileAtomic(dir: string, events: ReadonlyArray<Omit<TbEvent, "wall_time"> & { wall_time?: number }>): string {
  fs.mkdirSync(dir, { recursive: true });
  const old = eventFiles(dir);
  const now = Date.now() / 1000;
  const secs = Math.floor(now);
  const file = path.join(dir, `events.out.tfevents.${String(secs).padStart(10, "0")}.${os.hostname()}.${process.pid}.${fileCounter++}`);
  const records = [{ wall_time: now, step: 0, file_version: FILE_VERSION }, ...events.map((e) => ({ wall_time: now, ...e }))];
  writeFileAtomic(file, Buffer.concat(records.map((e) => frameRecord(encodeEvent(e)))));
  for (const f of old) if (f !== file) fs.rmSync(f, { force: true });
  return file;
}
