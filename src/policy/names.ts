/**
 * The names the config schema offers for the policy's backend, activation and init. Kept apart from
 * backend.ts and mlp.ts so that loading and validating a config does not load tfjs.
 */

/** Backends maestro can run on; `auto` picks the first that loads in the order node → wasm → cpu. */
export const backendNames = ["auto", "node", "wasm", "cpu"] as const;
export type BackendName = (typeof backendNames)[number];

export const activationNames = ["relu", "tanh", "elu", "leaky-relu"] as const;
export type Activation = (typeof activationNames)[number];

export const initNames = ["torch-default", "glorot-uniform", "orthogonal"] as const;
export type InitName = (typeof initNames)[number];
