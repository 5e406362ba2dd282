import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../src/core/rng.js";
import type { SystemState } from "../src/core/types.js";
import { selectBackend, tf } from "../src/policy/backend.js";
import { DoaMd5Encoder, FeaturesEncoder, hashedNgrams } from "../src/policy/encoders.js";
import { loadTensors, saveTensors } from "../src/policy/io.js";
import { initDense } from "../src/policy/mlp.js";
import { CategoricalPolicy } from "../src/policy/policy.js";
import { tmpDir } from "./helpers.js";

beforeAll(async () => {
  await selectBackend("auto");
});

function state(prompt: string, history: Array<[string, number]> = [], extra: Partial<SystemState> = {}): SystemState {
  return {
    task: { id: "t", prompt },
    history: history.map(([agent, cost], i) => ({ agent, agentIndex: i, output: { content: `${agent} said`, cost } })),
    step: history.length,
    maxSteps: 4,
    costSpent: history.reduce((s, [, c]) => s + c, 0),
    ...extra,
  };
}

describe("doa-md5 encoder", () => {
  it("puts the md5 byte pairs / 255 in dims 0–15 and zeros elsewhere for an empty history", () => {
    const enc = new DoaMd5Encoder();
    const out = new Float32Array(64);
    const text = "Solve the math problem: 2 + 2 = ?";
    enc.encodeInto([state(text)], out);
    const hex = createHash("md5").update(text).digest("hex");
    for (let i = 0; i < 16; i++) expect(out[i]).toBeCloseTo(parseInt(hex.slice(2 * i, 2 * i + 2), 16) / 255, 6);
    expect(Array.from(out.slice(16))).toEqual(new Array(48).fill(0));
  });

  it("writes [len/10, mean cost/10, step/maxSteps] into dims 32–34 once there is history", () => {
    const enc = new DoaMd5Encoder();
    const out = enc.encode([
      state("x", [
        ["echo", 1],
        ["echo", 1],
        ["terminator", 0],
      ]),
    ]);
    const v = out.dataSync();
    out.dispose();
    expect(v[32]).toBeCloseTo(0.3, 6);
    expect(v[33]).toBeCloseTo(2 / 3 / 10, 6);
    expect(v[34]).toBeCloseTo(0.75, 6);
    expect(v[35]).toBe(0);
    expect(v[31]).toBe(0);
  });

  it("encodes a batch into one B×64 tensor", () => {
    const t = new DoaMd5Encoder().encode([state("a"), state("b"), state("c")]);
    expect(t.shape).toEqual([3, 64]);
    t.dispose();
  });
});

describe("features encoder", () => {
  const enc = new FeaturesEncoder({
    agents: ["echo", "terminator"],
    maxSteps: 4,
    taskBuckets: 16,
    outputBuckets: 8,
    recentTurns: 2,
    costScale: 10,
  });

  it("has the documented layout: hashed task | hashed outputs | last agent | counts | called | step | step one-hot | cost", () => {
    expect(enc.dim).toBe(16 + 8 + 3 + 2 + 2 + 1 + 5 + 1);
    const out = new Float32Array(enc.dim);
    enc.encodeInto(
      [
        state(
          "hello world",
          [
            ["echo", 1],
            ["echo", 1],
          ],
          { budget: 4 },
        ),
      ],
      out,
    );
    const o = 24;
    expect(Array.from(out.slice(o, o + 3))).toEqual([1, 0, 0]); // last agent = echo
    expect(out[o + 3]).toBeCloseTo(0.5); // echo called 2 / maxSteps
    expect(out[o + 4]).toBe(0);
    expect(Array.from(out.slice(o + 5, o + 7))).toEqual([1, 0]); // called flags
    expect(out[o + 7]).toBeCloseTo(0.5); // step / maxSteps
    expect(Array.from(out.slice(o + 8, o + 13))).toEqual([0, 0, 1, 0, 0]); // step one-hot
    expect(out[o + 13]).toBeCloseTo(0.5); // cost 2 / budget 4
  });

  it("marks 'no agent yet' for an empty history and distinguishes different tasks", () => {
    const a = new Float32Array(enc.dim);
    const b = new Float32Array(enc.dim);
    enc.encodeInto([state("task one")], a);
    enc.encodeInto([state("task two")], b);
    expect(a[24 + 2]).toBe(1);
    expect(Array.from(a.slice(0, 16))).not.toEqual(Array.from(b.slice(0, 16)));
  });

  it("hashes n-grams into an L2-normalised vector", () => {
    const f = hashedNgrams("the quick brown fox", 32);
    const norm = Math.sqrt(Array.from(f).reduce((s, x) => s + x * x, 0));
    expect(norm).toBeCloseTo(1, 5);
  });
});

describe("MLP init", () => {
  it("torch-default draws weights and biases from U(±1/√fan_in)", () => {
    const { kernel, bias } = initDense(64, 128, "torch-default", new Rng(0));
    const bound = 1 / 8;
    expect(Math.max(...kernel.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...bias.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...kernel.map(Math.abs))).toBeGreaterThan(0.9 * bound);
  });

  it("orthogonal init gives orthonormal columns (gain 1)", () => {
    const { kernel } = initDense(8, 4, "orthogonal", new Rng(0), 1);
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 4; j++) {
        let d = 0;
        for (let r = 0; r < 8; r++) d += kernel[r * 4 + i]! * kernel[r * 4 + j]!;
        expect(d).toBeCloseTo(i === j ? 1 : 0, 5);
      }
  });
});

describe("CategoricalPolicy", () => {
  const opts = { hidden: [8], activation: "relu" as const, init: "torch-default" as const };

  it("is initialised identically from the same seed and samples identically from the same stream", () => {
    const p1 = new CategoricalPolicy(4, 3, opts, new Rng(5));
    const p2 = new CategoricalPolicy(4, 3, opts, new Rng(5));
    const obs = Float32Array.from({ length: 40 }, (_, i) => Math.sin(i));
    const a1 = new Int32Array(10);
    const a2 = new Int32Array(10);
    const l1 = new Float32Array(10);
    const l2 = new Float32Array(10);
    p1.act(obs, 10, new Rng(1), false, a1, l1);
    p2.act(obs, 10, new Rng(1), false, a2, l2);
    expect(Array.from(a1)).toEqual(Array.from(a2));
    expect(Array.from(l1)).toEqual(Array.from(l2));
    p1.dispose();
    p2.dispose();
  });

  it("never picks a masked action and greedy picks the argmax", () => {
    const p = new CategoricalPolicy(4, 3, opts, new Rng(5));
    const obs = Float32Array.from({ length: 400 }, (_, i) => Math.cos(i));
    const mask = new Uint8Array(300);
    for (let b = 0; b < 100; b++) mask.set([1, 0, 1], b * 3);
    const a = new Int32Array(100);
    const l = new Float32Array(100);
    const probs = p.act(obs, 100, new Rng(3), false, a, l, mask);
    expect(Array.from(a).every((x) => x !== 1)).toBe(true);
    for (let b = 0; b < 100; b++) expect(probs[b * 3 + 1]).toBeLessThan(1e-6);
    p.act(obs, 100, new Rng(3), true, a, l);
    const pr = p.probs(obs, 100);
    for (let b = 0; b < 100; b++) {
      const row = Array.from(pr.slice(b * 3, b * 3 + 3));
      expect(a[b]).toBe(row.indexOf(Math.max(...row)));
    }
    p.dispose();
  });

  it("log-probs and entropy match the probabilities", () => {
    const p = new CategoricalPolicy(4, 3, opts, new Rng(9));
    const obs = Float32Array.from({ length: 8 }, (_, i) => i / 8);
    const probs = p.probs(obs, 2);
    const res = tf.tidy(() => {
      const { logp, entropy } = p.logProbEntropy(tf.tensor2d(obs, [2, 4]), tf.tensor2d([0, 1, 0, 0, 0, 1], [2, 3]));
      return [logp.dataSync(), entropy.dataSync()];
    });
    expect(res[0]![0]).toBeCloseTo(Math.log(probs[1]!), 5);
    expect(res[0]![1]).toBeCloseTo(Math.log(probs[5]!), 5);
    const h0 = -[0, 1, 2].reduce((s, i) => s + probs[i]! * Math.log(probs[i]!), 0);
    expect(res[1]![0]).toBeCloseTo(h0, 5);
    p.dispose();
  });
});

describe("fs IO handler", () => {
  it("round-trips named tensors and metadata, and rejects a truncated weights file", async () => {
    const dir = path.join(tmpDir(), "ck");
    const t = tf.tensor2d([1, 2, 3, 4.5], [2, 2]);
    await saveTensors(dir, [{ name: "w", tensor: t }], { step: 3 });
    const { tensors, metadata } = await loadTensors(dir);
    expect(Array.from(tensors.w!.dataSync())).toEqual([1, 2, 3, 4.5]);
    expect(metadata).toEqual({ step: 3 });
    tf.dispose([t, ...Object.values(tensors)]);
    const bin = path.join(dir, "weights.bin");
    fs.writeFileSync(bin, fs.readFileSync(bin).subarray(0, 5));
    await expect(loadTensors(dir)).rejects.toThrow(/truncated checkpoint/);
  });
});
