// The union package: tfjs-core with its gradients registered, plus the cpu backend. (tfjs-core's own
// Node bundle registers no gradients, and its ESM files cannot be imported by Node directly.)
import * as tf from "@tensorflow/tfjs";

/** Backends maestro can run on; `auto` picks the first that loads in the order node → wasm → cpu. */
export const backendNames = ["auto", "node", "wasm", "cpu"] as const;
export type BackendName = (typeof backendNames)[number];

/** tfjs' registry name of each backend. */
const registryName = { node: "tensorflow", wasm: "wasm", cpu: "cpu" } as const;

async function tryNode(): Promise<boolean> {
  try {
    // Optional dependency: its install downloads libtensorflow, which fails on machines that cannot reach
    // the download host. The module name is held in a variable so bundlers and tsc do not require it.
    const mod = "@tensorflow/tfjs-node";
    await import(mod);
    return tf.findBackend(registryName.node) !== undefined || tf.engine().registryFactory[registryName.node] !== undefined;
  } catch {
    return false;
  }
}

async function tryWasm(): Promise<boolean> {
  try {
    await import("@tensorflow/tfjs-backend-wasm");
    return true;
  } catch {
    return false;
  }
}

let selected: Exclude<BackendName, "auto"> | undefined;

/**
 * Selects and initialises the tfjs backend (DESIGN §3). Returns the name actually in use
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

export { tf };
