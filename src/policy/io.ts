import fs from "node:fs";
import path from "node:path";
import { OsError } from "../core/errors.js";
import { tf } from "./backend.js";

const MODEL_JSON = "model.json";
const WEIGHTS_BIN = "weights.bin";

/**
 * Writes `data` to `file` atomically: a temp file in the same folder, every byte written (a short
 * write is continued; a failed one — ENOSPC on a full disk — removes the temp file), fsync, then
 * rename. The final name only ever holds a complete file. Errors name the file.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, "w");
    let off = 0;
    while (off < buf.byteLength) {
      const n = fs.writeSync(fd, buf, off, buf.byteLength - off);
      if (!(n > 0)) throw Object.assign(new Error(`short write: ${off} of ${buf.byteLength} bytes`), { code: "EIO", syscall: "write" });
      off += n;
    }
    fs.fsyncSync(fd);
    const done = fd;
    fd = undefined;
    fs.closeSync(done);
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // already failing
      }
    }
    fs.rmSync(tmp, { force: true });
    if (e instanceof OsError) throw e;
    throw new OsError("write", file, e);
  }
}

function concat(data: ArrayBuffer | ArrayBuffer[]): ArrayBuffer {
  if (!Array.isArray(data)) return data;
  const total = data.reduce((s, b) => s + b.byteLength, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const b of data) {
    out.set(new Uint8Array(b), off);
    off += b.byteLength;
  }
  return out.buffer;
}

/**
 * A tfjs IO handler on the local file system that works with every backend (tfjs' own `file://`
 * handler exists only in tfjs-node). Saves `model.json` (weight specs, metadata) and `weights.bin`
 * into `dir`; the folder appears complete or not at all (written under a temp name, then renamed).
 */
export function fsIOHandler(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const parent = path.dirname(dir);
      fs.mkdirSync(parent, { recursive: true });
      const tmp = fs.mkdtempSync(path.join(parent, `.${path.basename(dir)}.tmp-`));
      const weights = artifacts.weightData ? new Uint8Array(concat(artifacts.weightData)) : new Uint8Array(0);
      const json = {
        format: artifacts.format ?? "maestro-weights",
        generatedBy: artifacts.generatedBy ?? "maestro",
        weightSpecs: artifacts.weightSpecs ?? [],
        userDefinedMetadata: artifacts.userDefinedMetadata ?? {},
        modelTopology: artifacts.modelTopology ?? null,
      };
      let name = WEIGHTS_BIN;
      try {
        writeFileAtomic(path.join(tmp, WEIGHTS_BIN), weights);
        name = MODEL_JSON;
        writeFileAtomic(path.join(tmp, MODEL_JSON), JSON.stringify(json));
        name = "";
        if (fs.existsSync(dir)) fs.rmSync(dir, { recursive: true, force: true });
        fs.renameSync(tmp, dir);
      } catch (e) {
        // nothing half-written stays behind; an older checkpoint in `dir`'s folder is untouched
        fs.rmSync(tmp, { recursive: true, force: true });
        throw new OsError(`write ${name ? `${name} of ` : ""}checkpoint`, dir, e instanceof OsError ? e.cause : e);
      }
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: "JSON",
          weightSpecsBytes: JSON.stringify(json.weightSpecs).length,
          weightDataBytes: weights.byteLength,
        },
      };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const jsonFile = path.join(dir, MODEL_JSON);
      let json: {
        weightSpecs: tf.io.WeightsManifestEntry[];
        userDefinedMetadata: Record<string, unknown>;
        format?: string;
        generatedBy?: string;
        modelTopology?: unknown;
      };
      try {
        json = JSON.parse(fs.readFileSync(jsonFile, "utf8"));
      } catch (e) {
        throw new Error(`${jsonFile}: cannot read checkpoint (${(e as Error).message})`);
      }
      const buf = fs.readFileSync(path.join(dir, WEIGHTS_BIN));
      const expected = json.weightSpecs.reduce(
        (s, w) => s + w.shape.reduce((a, b) => a * b, 1) * (w.dtype === "int32" || w.dtype === "float32" ? 4 : 1),
        0,
      );
      if (buf.byteLength !== expected) {
        throw new Error(`${path.join(dir, WEIGHTS_BIN)}: truncated checkpoint (${buf.byteLength} bytes, expected ${expected})`);
      }
      return {
        format: json.format,
        generatedBy: json.generatedBy,
        modelTopology: (json.modelTopology ?? undefined) as tf.io.ModelArtifacts["modelTopology"],
        weightSpecs: json.weightSpecs,
        weightData: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength),
        userDefinedMetadata: json.userDefinedMetadata as Record<string, object>,
      };
    },
  };
}

/** Saves named tensors plus JSON metadata through {@link fsIOHandler}. */
export async function saveTensors(
  dir: string,
  tensors: Array<{ name: string; tensor: tf.Tensor }>,
  metadata: Record<string, unknown>,
): Promise<void> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  await fsIOHandler(dir).save!({ weightSpecs: specs, weightData: data, userDefinedMetadata: metadata as Record<string, object> });
}

/** Loads what {@link saveTensors} wrote; the caller disposes the tensors. */
export async function loadTensors(dir: string): Promise<{ tensors: tf.NamedTensorMap; metadata: Record<string, unknown> }> {
  const art = await fsIOHandler(dir).load!();
  const tensors = tf.io.decodeWeights(art.weightData ?? new ArrayBuffer(0), art.weightSpecs ?? []);
  return { tensors, metadata: (art.userDefinedMetadata ?? {}) as Record<string, unknown> };
}
