import { beforeAll, describe, expect, it } from "vitest";

import { PolicyAverage, type AverageBatch } from "../src/algos/average.js";
import { Rng } from "../src/core/rng.js";
import { CategoricalPolicy } from "../src/policy/policy.js";
import { selectBackend, tf } from "../src/policy/backend.js";

/**
 * The averaged final policy (issue 14) is the state-wise mean of the window's action distributions,
 * fitted into the network — not the network with the mean weights, which on a tanh MLP is another
 * policy altogether.
 */
const opts = { hidden: [16, 16], activation: "tanh" as const, init: "orthogonal" as const, outputGain: 1 };
const obsDim = 4;
const rows = 6;

function batch(seed: number, masks?: Uint8Array): AverageBatch {
  const r = new Rng(`obs-${seed}`);
  const obs = new Float32Array(rows * obsDim);
  for (let i = 0; i < obs.length; i++) obs[i] = r.next() < 0.5 ? 0 : 1;
  return { obs, obsDim, rows, ...(masks ? { masks } : {}) };
}

/** Moves the policy to a new iterate: its weights plus a large random perturbation. */
function perturb(p: CategoricalPolicy, r: Rng, scale = 1.5): void {
  for (const v of p.variables) {
    const noise = Float32Array.from({ length: v.size }, () => (r.next() - 0.5) * 2 * scale);
    const next = tf.tidy(() => tf.add(v, tf.tensor(noise, v.shape)));
    v.assign(next);
    next.dispose();
  }
}

function params(p: CategoricalPolicy): Float32Array[] {
  return p.variables.map((v) => Float32Array.from(v.dataSync()));
}

/**
 * Runs updates 1..`updates` (a new iterate each) through `avg`; returns each iterate's probabilities on the
 * batch, and its parameters in `snapshots` when given.
 */
function runWindow(p: CategoricalPolicy, avg: PolicyAverage, updates: number, masks?: Uint8Array, snapshots?: Float32Array[][]): Float32Array[] {
  const r = new Rng("iterates-1");
  const seen: Float32Array[] = [];
  for (let k = 1; k <= updates; k++) {
    perturb(p, r);
    snapshots?.push(params(p));
    const b = batch(0, masks);
    seen.push(p.probs(b.obs, rows, masks));
    avg.afterUpdate(k, b);
  }
  return seen;
}

function mean(ps: Float32Array[]): Float32Array {
  const out = new Float32Array(ps[0]!.length);
  for (const p of ps) p.forEach((x, i) => (out[i]! += x / ps.length));
  return out;
}

describe("PolicyAverage: the policy-space average of the last updates", () => {
  beforeAll(async () => {
    await selectBackend("auto");
  });

  it("ends with the state-wise mean of the iterates' probabilities, where the mean of the weights is far off", () => {
    const p = new CategoricalPolicy(obsDim, 3, opts, new Rng(1));
    const avg = new PolicyAverage([p], 1, 4);
    const snapshots: Float32Array[][] = [];
    const seen = runWindow(p, avg, 4, undefined, snapshots);
    const b = batch(0);
    const target = mean(seen);
    const fitted = p.probs(b.obs, rows);
    for (let i = 0; i < target.length; i++) expect(Math.abs(fitted[i]! - target[i]!)).toBeLessThan(0.02);
    expect(avg.finalKl).toBeLessThan(1e-3);

    // the same iterates averaged by weight: the policy the old average produced, measurably elsewhere
    const q = new CategoricalPolicy(obsDim, 3, opts, new Rng(1));
    q.variables.forEach((v, i) => v.assign(tf.tensor(mean(snapshots.map((s) => s[i]!)), v.shape)));
    const byWeight = q.probs(b.obs, rows);
    const gap = Math.max(...Array.from(target, (t, i) => Math.abs(t - byWeight[i]!)));
    expect(gap).toBeGreaterThan(0.05);
  });

  it("keeps masked actions at 0 and averages the allowed ones", () => {
    const masks = new Uint8Array(rows * 3).fill(1);
    for (let r = 0; r < rows; r += 2) masks[r * 3 + 2] = 0;
    const p = new CategoricalPolicy(obsDim, 3, opts, new Rng(2));
    const avg = new PolicyAverage([p], 1, 3);
    const target = mean(runWindow(p, avg, 3, masks));
    const fitted = p.probs(batch(0).obs, rows, masks);
    for (let i = 0; i < target.length; i++) expect(Math.abs(fitted[i]! - target[i]!)).toBeLessThan(0.02);
    for (let r = 0; r < rows; r += 2) expect(fitted[r * 3 + 2]).toBe(0);
  });

  it("averages only the last share of the updates, and leaves the last iterate with a share of 0", () => {
    const p = new CategoricalPolicy(obsDim, 2, opts, new Rng(3));
    const avg = new PolicyAverage([p], 0.5, 8);
    expect(avg.start).toBe(5);
    const seen = runWindow(p, avg, 8);
    const fitted = p.probs(batch(0).obs, rows);
    const target = mean(seen.slice(4));
    for (let i = 0; i < target.length; i++) expect(Math.abs(fitted[i]! - target[i]!)).toBeLessThan(0.02);

    const q = new CategoricalPolicy(obsDim, 2, opts, new Rng(3));
    const off = new PolicyAverage([q], 0, 8);
    const last = runWindow(q, off, 8).at(-1)!;
    expect(Array.from(q.probs(batch(0).obs, rows))).toEqual(Array.from(last));
  });

  it("a checkpoint inside the window restores the snapshots: the resumed average is bit-identical", () => {
    const a = new CategoricalPolicy(obsDim, 3, opts, new Rng(4));
    const avgA = new PolicyAverage([a], 1, 6);
    runWindow(a, avgA, 6);

    const b = new CategoricalPolicy(obsDim, 3, opts, new Rng(4));
    const avgB = new PolicyAverage([b], 1, 6);
    runWindow(b, avgB, 3);
    const st = avgB.state("policy_avg");
    expect(st.json.snapshots).toBe(3);
    const saved: tf.NamedTensorMap = Object.fromEntries(st.tensors.map((t) => [t.name, t.tensor.clone()]));
    const saveParams = params(b);
    avgB.dispose();

    const c = new CategoricalPolicy(obsDim, 3, opts, new Rng(99));
    c.variables.forEach((v, i) => v.assign(tf.tensor(saveParams[i]!, v.shape)));
    const avgC = new PolicyAverage([c], 1, 6);
    avgC.restore("policy_avg", st.json, saved);
    tf.dispose(Object.values(saved));
    // the iterates after the checkpoint: the same perturbation stream, continued
    const r = new Rng("iterates-1");
    const skip = new CategoricalPolicy(obsDim, 3, opts, new Rng(4));
    for (let k = 1; k <= 3; k++) perturb(skip, r);
    for (let k = 4; k <= 6; k++) {
      perturb(c, r);
      avgC.afterUpdate(k, batch(0));
    }
    expect(params(c)).toEqual(params(a));
  });

  it("refuses to resume inside the window of the old parameter average, naming what to do; loads a finished one", () => {
    const p = new CategoricalPolicy(obsDim, 2, opts, new Rng(5));
    const avg = new PolicyAverage([p], 0.5, 10);
    expect(() => avg.restore("policy_avg", { count: 3 }, {})).toThrow(/parameter average.*train again/);
    expect(() => avg.restore("policy_avg", { count: 0 }, {})).not.toThrow();
    // a finished run of the old format (all 5 updates of its window averaged): its weights are its final policy
    expect(() => avg.restore("policy_avg", { count: 5 }, {})).not.toThrow();
    expect(avg.state("policy_avg").json.snapshots).toBe(0);
  });
});
