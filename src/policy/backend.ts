import { createRequire } from "node:module";
import type * as TF from "@tensorflow/tfjs";
import type { BackendName } from "./names.js";

// The union package @tensorflow/tfjs: tfjs-core with its gradients registered, plus the cpu backend
// (tfjs-core's own Node bundle registers no gradients). It is loaded with `require`: its Node entry is a
// large CommonJS bundle, and importing it as ESM makes Node scan the whole file for export names, which
// tripled start-up (320 ms vs 105 ms measured).
const requireCjs = createRequire(import.meta.url);

export const tf: typeof TF = requireCjs("@tensorflow/tfjs");

/** The tfjs types used across maestro, under the same `tf.` prefix as the values. */
export declare namespace tf {
  type Rank = TF.Rank;
  type Tensor<R extends Rank = Rank> = TF.Tensor<R>;
  type Scalar = TF.Scalar;
  type Tensor1D = TF.Tensor1D;
  type Tensor2D = TF.Tensor2D;
  type Variable<R extends Rank = Rank> = TF.Variable<R>;
  type NamedTensorMap = TF.NamedTensorMap;
  namespace io {
    type IOHandler = TF.io.IOHandler;
    type ModelArtifacts = TF.io.ModelArtifacts;
    type SaveResult = TF.io.SaveResult;
    type WeightsManifestEntry = TF.io.WeightsManifestEntry;
  }
}

export { backendNames, type BackendName } from "./names.js";

/** tfjs' registry name of each backend. */
const registryName = { node: "tensorflow", wasm: "wasm", cpu: "cpu" } as const;

async function tryNode(): Promise<boolean> {
  try {
    // Optional dependency: its install downloads libtensorflow, which fails on machines that cannot reach
    // the download host; then it is absent and this require throws. It registers the "tensorflow" backend.
    requireCjs("@tensorflow/tfjs-node");
    return true;
  } catch {
    return false;
  }
}

async function tryWasm(): Promise<boolean> {
  try {
    requireCjs("@tensorflow/tfjs-backend-wasm");
    return true;
  } catch {
    return false;
  }
}

let selected: Exclude<BackendName, "auto"> | undefined;

/**
 * Selects and initialises the tfjs backend. Returns the name actually in use
 * (`node`, `wasm` or `cpu`). An explicit request that cannot be honoured is an error.
 */
export async function selectBackend(pref: BackendName = "auto"): Promise<Exclude<BackendName, "auto">> {
  if (selected && (pref === "auto" || pref === selected)) return selected;
  const order: Exclude<BackendName, "auto">[] = pref === "auto" ? ["node", "wasm", "cpu"] : [pref];
  for (const name of order) {
    const loaded = name === "node" ? await tryNode() : name === "wasm" ? await tryWasm() : true;
    if (!loaded) continue;
    try {
      if (await tf.setBackend(registryName[name])) {
        await tf.ready();
        selected = name;
        return name;
      }
    } catch {
      // fall through to the next backend
    }
  }
  throw new Error(
    pref === "auto"
      ? "no tfjs backend could be initialised (tried node, wasm, cpu)"
      : `backend "${pref}" is not available on this machine` +
          (pref === "node" ? " (@tensorflow/tfjs-node is not installed; use backend: auto, wasm or cpu)" : ""),
  );
}

/** The backend selected by {@link selectBackend}, if any. */
export function currentBackend(): Exclude<BackendName, "auto"> | undefined {
  return selected;
}
