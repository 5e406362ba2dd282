import { beforeAll, describe, expect, it } from "vitest";

import { AVERAGE_ROWS, PolicyAverage, type AverageBatch } from "../src/algos/average.js";
import { Rng } from "../src/core/rng.js";
import { CategoricalPolicy } from "../src/policy/policy.js";
import { selectBackend, tf } from "../src/policy/backend.js";

/**
 * The averaged final policy is the state-wise mean of the window's action distributions,
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
function runWindow(
  p: CategoricalPolicy,
  avg: PolicyAverage,
  updates: number,
  masks?: Uint8Array,
  snapshots?: Float32Array[][],
): Float32Array[] {
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
    expect(st.json.rows).toBe(3 * rows);
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

  it("weights each iterate by how often it visits a state: the mixture's policy, not the plain mean", () => {
    // two states; iterate 1 lives in A (5 of 6 rows), iterate 2 in B
    const A = [0, 1, 0, 1];
    const B = [1, 0, 1, 1];
    const visits = (states: number[][]): AverageBatch => ({ obs: Float32Array.from(states.flat()), obsDim, rows: states.length });
    const b1 = visits([A, A, A, A, A, B]);
    const b2 = visits([A, B, B, B, B, B]);
    const p = new CategoricalPolicy(obsDim, 3, opts, new Rng(6));
    const avg = new PolicyAverage([p], 1, 2);
    const r = new Rng("iterates-2");
    const at: Float32Array[] = [];
    for (const [k, b] of [b1, b2].entries()) {
      perturb(p, r, 3);
      at.push(p.probs(Float32Array.from([...A, ...B]), 2));
      avg.afterUpdate(k + 1, b);
    }
    const fitted = p.probs(Float32Array.from([...A, ...B]), 2);
    let plainGap = 0;
    for (let a = 0; a < 3; a++) {
      const wantA = (5 * at[0]![a]! + 1 * at[1]![a]!) / 6;
      const wantB = (1 * at[0]![3 + a]! + 5 * at[1]![3 + a]!) / 6;
      expect(Math.abs(fitted[a]! - wantA)).toBeLessThan(0.02);
      expect(Math.abs(fitted[3 + a]! - wantB)).toBeLessThan(0.02);
      plainGap = Math.max(
        plainGap,
        Math.abs(wantA - (at[0]![a]! + at[1]![a]!) / 2),
        Math.abs(wantB - (at[0]![3 + a]! + at[1]![3 + a]!) / 2),
      );
    }
    // the iterates disagree enough that the plain mean would be another policy
    expect(plainGap).toBeGreaterThan(0.05);
    expect(avg.finalKl).toBeLessThan(1e-3);
  });

  it("keeps a fixed budget of rows however long the window", () => {
    const p = new CategoricalPolicy(obsDim, 2, opts, new Rng(7));
    const avg = new PolicyAverage([p], 0.5, 400);
    expect(avg.rowsPerUpdate).toBe(Math.floor(AVERAGE_ROWS / 200));
    const big: AverageBatch = { obs: new Float32Array(500 * obsDim).map((_, i) => (i % 7) / 7), obsDim, rows: 500 };
    for (let k = 201; k <= 300; k++) avg.afterUpdate(k, big);
    expect(avg.rows).toBe(100 * avg.rowsPerUpdate);
    expect(avg.rows).toBeLessThanOrEqual(AVERAGE_ROWS);
  });

  it("refuses to resume inside the window of an older average's checkpoint, naming what to do; loads a finished one", () => {
    const p = new CategoricalPolicy(obsDim, 2, opts, new Rng(5));
    const avg = new PolicyAverage([p], 0.5, 10);
    expect(() => avg.restore("policy_avg", { count: 3 }, {})).toThrow(/algo\.averagePolicy in an older format.*train again/);
    // the 16-snapshot format: snapshots are kept only inside the window (a finished run has fitted and dropped them)
    expect(() => avg.restore("policy_avg", { snapshots: 4 }, {})).toThrow(/older format.*resume it with the version that wrote it/);
    expect(() => avg.restore("policy_avg", { snapshots: 0 }, {})).not.toThrow();
    expect(() => avg.restore("policy_avg", { count: 0 }, {})).not.toThrow();
    // a finished run of the old format (all 5 updates of its window averaged): its weights are its final policy
    expect(() => avg.restore("policy_avg", { count: 5 }, {})).not.toThrow();
    expect(avg.state("policy_avg").json.rows).toBe(0);
  });
});
