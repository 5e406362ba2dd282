/**
 * Factored action spaces. An orchestration decision may have several heads, e.g. *which
 * agent acts* × *which model tier backs it*. Head 0 is always the agent head (its choices are the
 * pool, in action order); every other head has named choices that reach the chosen agent through
 * `AgentContext.options` ({headName: choice}).
 *
 * A joint action is one integer in mixed radix, head 0 least significant:
 *   joint = i_0 + K_0·(i_1 + K_1·(i_2 + …)),
 * so with a single head the joint action IS the agent index and nothing earlier changes. Rollout
 * batches, the oracle's LP and exact evaluation work on joint actions; trainers that need the
 * per-head indices (MACPO, MAPPO-Lagrangian) decode them with {@link decodeJoint}.
 */

/** One head of a factored action: its name and the names of its choices. */
export interface HeadSpec {
  name: string;
  choices: readonly string[];
}

/** Number of joint actions Π_h K_h. */
export function jointSize(heads: readonly HeadSpec[]): number {
  return heads.reduce((n, h) => n * h.choices.length, 1);
}

/** Sizes K_h of the heads. */
export function headSizes(heads: readonly HeadSpec[]): number[] {
  return heads.map((h) => h.choices.length);
}

/** Per-head indices of joint action `a` (head 0 least significant), written into `out`. */
export function decodeJoint(
  a: number,
  sizes: readonly number[],
  out: number[] | Int32Array = new Array<number>(sizes.length),
): number[] | Int32Array {
  let rest = a;
  for (let h = 0; h < sizes.length; h++) {
    const k = sizes[h]!;
    out[h] = rest % k;
    rest = Math.floor(rest / k);
  }
  return out;
}

/** Joint action of per-head indices. */
export function encodeJoint(idx: ArrayLike<number>, sizes: readonly number[]): number {
  let a = 0;
  for (let h = sizes.length - 1; h >= 0; h--) a = a * sizes[h]! + idx[h]!;
  return a;
}

/** The options an agent receives for joint action `a`: {headName: choice} of every head but the agent head. */
export function jointOptions(heads: readonly HeadSpec[], a: number): Record<string, string> {
  const idx = decodeJoint(a, headSizes(heads));
  const out: Record<string, string> = {};
  for (let h = 1; h < heads.length; h++) out[heads[h]!.name] = heads[h]!.choices[idx[h]!]!;
  return out;
}

/** Human-readable label of a joint action: `agent` for one head, `agent/choice/...` otherwise. */
export function jointLabel(heads: readonly HeadSpec[], a: number): string {
  const idx = decodeJoint(a, headSizes(heads));
  return heads.map((h, i) => h.choices[idx[i]!]!).join("/");
}
