import type { SystemState } from "../core/types.js";
import { ANSWER_FEATURES, answerFeatures, numericAnswer, promptFeatures } from "../tasks/answer-features.js";
import { answerKey, normalizeAnswer } from "../tasks/evaluators.js";
import { tf } from "./backend.js";
import { hashedNgrams, type StateEncoder } from "./encoders.js";

export interface AnswersEncoderOptions {
  /** Agent names of the pool, in action order. */
  agents: readonly string[];
  /** Agents that end the episode (the terminator): they get no answer slot. */
  terminal: readonly string[];
  maxSteps: number;
  /** Cost normaliser: call costs and cost spent are shown in these units. */
  costUnit: number;
  /** Task types of the dataset (one-hot; a task of another type shows none). */
  types: readonly string[];
  /** Hash buckets of the prompt's word n-grams (0 = none). */
  taskBuckets: number;
}

/** Per answering agent: called, the answer's text features, its cost, agreement with another answer. */
const SLOT = 1 + ANSWER_FEATURES + 1 + 1;
/** With three or more answering agents, per agent also: its group's share of the pool, in the largest group. */
const GROUP_SLOT = 2;
/**
 * ...and for the episode: models called, largest and second-largest agreeing group, distinct answers (each
 * over the pool size), whether the newest answer joined the largest group, whether the largest group is a
 * majority of the answers so far.
 */
const GROUP_GLOBAL = 6;

/** Answers agree: equal numbers, else equal normalised text. */
function agree(a: string, b: string): boolean {
  const x = numericAnswer(a);
  const y = numericAnswer(b);
  if (x !== undefined && y !== undefined) return Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x));
  return normalizeAnswer(a) === normalizeAnswer(b);
}

/**
 * The `answers` encoder, for cascades and routers: what the prompt looks like (length, number
 * count, task type, optional hashed n-grams) and, for every answering agent, whether it was called, the
 * text features of its latest answer (src/tasks/answer-features.ts: final answer in the expected form,
 * length, arithmetic checks, hedging...), that call's cost and whether its answer agrees with another
 * agent's; then the step (one-hot) and the cost spent. Text features come precomputed with recorded
 * answers (once per item) or are memoised per distinct reply.
 */
export class AnswersEncoder implements StateEncoder {
  readonly name = "answers";
  readonly dim: number;
  private readonly slotOf: Map<string, number>;
  private readonly nSlots: number;
  private readonly typeIndex: Map<string, number>;
  private readonly offType: number;
  private readonly offBuckets: number;
  private readonly offSlots: number;
  private readonly offStep: number;
  private readonly offCost: number;
  /** Agreement-group features (three or more answering agents), else 0. */
  private readonly groupSlot: number;
  private readonly slot: number;
  private readonly offGroup: number;
  private readonly promptMemo = new Map<string, Float32Array>();
  private readonly answerMemo = new Map<string, Float32Array>();

  constructor(private readonly o: AnswersEncoderOptions) {
    const answering = o.agents.filter((a) => !o.terminal.includes(a));
    this.slotOf = new Map(answering.map((a, i) => [a, i]));
    this.nSlots = answering.length;
    this.typeIndex = new Map(o.types.map((t, i) => [t, i]));
    this.offType = 2;
    this.offBuckets = this.offType + o.types.length;
    this.offSlots = this.offBuckets + o.taskBuckets;
    // with two answering agents the pairwise agreement bit says everything about groups
    this.groupSlot = this.nSlots >= 3 ? GROUP_SLOT : 0;
    this.slot = SLOT + this.groupSlot;
    this.offStep = this.offSlots + this.nSlots * this.slot;
    this.offCost = this.offStep + o.maxSteps + 1;
    this.offGroup = this.offCost + 1;
    this.dim = this.offGroup + (this.groupSlot > 0 ? GROUP_GLOBAL : 0);
  }

  private promptPart(prompt: string): Float32Array {
    let f = this.promptMemo.get(prompt);
    if (!f) {
      f = new Float32Array(this.offSlots);
      f.set(promptFeatures(prompt), 0);
      if (this.o.taskBuckets > 0) f.set(hashedNgrams(prompt, this.o.taskBuckets), this.offBuckets);
      if (this.promptMemo.size >= 50_000) this.promptMemo.clear();
      this.promptMemo.set(prompt, f);
    }
    return f;
  }

  private answerPart(content: string, answer: string | undefined, meta: Record<string, unknown> | undefined): Float32Array {
    const pre = meta?.features;
    if (pre instanceof Float32Array && pre.length === ANSWER_FEATURES) return pre;
    const key = `${answer ?? ""}\u0000${content}`;
    let f = this.answerMemo.get(key);
    if (!f) {
      f = answerFeatures(content, answer);
      if (this.answerMemo.size >= 50_000) this.answerMemo.clear();
      this.answerMemo.set(key, f);
    }
    return f;
  }

  encodeInto(states: readonly SystemState[], out: Float32Array): void {
    const { maxSteps, costUnit } = this.o;
    out.fill(0, 0, states.length * this.dim);
    const answers: Array<string | undefined> = new Array(this.nSlots);
    const slot = this.slot;
    for (let b = 0; b < states.length; b++) {
      const s = states[b]!;
      const row = b * this.dim;
      out.set(this.promptPart(s.task.prompt), row);
      const ti = s.task.type !== undefined ? this.typeIndex.get(s.task.type) : undefined;
      if (ti !== undefined) out[row + this.offType + ti] = 1;
      answers.fill(undefined);
      for (const turn of s.history) {
        const k = this.slotOf.get(turn.agent);
        if (k === undefined) continue;
        const o = turn.output;
        const at = row + this.offSlots + k * slot;
        out[at] = 1;
        out.set(this.answerPart(o.content, o.answer, o.meta), at + 1);
        out[at + 1 + ANSWER_FEATURES] = o.cost / costUnit;
        answers[k] = o.meta?.error === undefined ? o.answer : undefined;
      }
      for (let k = 0; k < this.nSlots; k++) {
        const a = answers[k];
        if (a === undefined) continue;
        for (let j = 0; j < this.nSlots; j++) {
          if (j !== k && answers[j] !== undefined && agree(a, answers[j]!)) {
            out[row + this.offSlots + k * slot + SLOT - 1] = 1;
            break;
          }
        }
      }
      out[row + this.offStep + Math.min(s.step, maxSteps)] = 1;
      out[row + this.offCost] = s.costSpent / costUnit;
      if (this.groupSlot > 0) this.groups(s, answers, out, row);
    }
  }

  /** Agreement groups of the answers so far (keys as the final-answer rules use them). */
  private groups(s: SystemState, answers: ReadonlyArray<string | undefined>, out: Float32Array, row: number): void {
    const n = this.nSlots;
    const keys = answers.map((a) => (a !== undefined && a !== "" ? answerKey(a) : undefined));
    const size = new Map<string, number>();
    for (const k of keys) if (k !== undefined) size.set(k, (size.get(k) ?? 0) + 1);
    const sizes = [...size.values()].sort((a, b) => b - a);
    const largest = sizes[0] ?? 0;
    let answered = 0;
    for (let k = 0; k < n; k++) {
      const key = keys[k];
      if (key === undefined) continue;
      answered++;
      const g = size.get(key)!;
      const at = row + this.offSlots + k * this.slot + SLOT;
      out[at] = g / n;
      out[at + 1] = g === largest ? 1 : 0;
    }
    let called = 0;
    for (const t of s.history) if (this.slotOf.has(t.agent)) called++;
    let newest: string | undefined;
    for (let i = s.history.length - 1; i >= 0 && newest === undefined; i--) {
      const k = this.slotOf.get(s.history[i]!.agent);
      if (k !== undefined) newest = keys[k] ?? "";
    }
    const g = row + this.offGroup;
    out[g] = called / n;
    out[g + 1] = largest / n;
    out[g + 2] = (sizes[1] ?? 0) / n;
    out[g + 3] = sizes.length / n;
    out[g + 4] = newest !== undefined && newest !== "" && size.get(newest) === largest ? 1 : 0;
    out[g + 5] = answered > 0 && largest * 2 > answered ? 1 : 0;
  }

  encode(states: readonly SystemState[]): tf.Tensor2D {
    const out = new Float32Array(states.length * this.dim);
    this.encodeInto(states, out);
    return tf.tensor2d(out, [states.length, this.dim]);
  }
}

/**
 * Appends the episode's cost knob, as its position in [0, 1] over its range, to another encoder's features
 * (budget-conditioned policies). A state without a knob is an error: the policy was trained
 * to read it.
 */
export class KnobEncoder implements StateEncoder {
  readonly name: string;
  readonly dim: number;

  constructor(
    readonly base: StateEncoder,
    /** The knob's position in its range, in [0, 1]. */
    readonly position: (knob: number) => number,
  ) {
    this.name = `${base.name}+knob`;
    this.dim = base.dim + 1;
    if (base.prepare) this.prepare = (states) => base.prepare!(states);
  }

  prepare?: (states: readonly SystemState[]) => Promise<void>;

  encodeInto(states: readonly SystemState[], out: Float32Array): void {
    const n = states.length;
    const d = this.base.dim;
    const tmp = new Float32Array(n * d);
    this.base.encodeInto(states, tmp);
    for (let b = 0; b < n; b++) {
      out.set(tmp.subarray(b * d, (b + 1) * d), b * this.dim);
      const k = states[b]!.knob;
      if (k === undefined) throw new Error("KnobEncoder: a state without a cost knob (the policy is budget-conditioned)");
      out[b * this.dim + d] = this.position(k);
    }
  }

  encode(states: readonly SystemState[]): tf.Tensor2D {
    const out = new Float32Array(states.length * this.dim);
    this.encodeInto(states, out);
    return tf.tensor2d(out, [states.length, this.dim]);
  }
}
