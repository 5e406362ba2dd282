/**
 * Config keys that moved to the block of the code that reads them: the critics' fields from algo.ppo and
 * algo.reinforce to algo.critic, the epochs loop and learning-rate annealing to algo, the multiplier from
 * algo.lagrangian to algo.dual, the head order from algo.macpo to algo. A user's config (file, --set,
 * sweep override) that uses an old key is refused with the new name; the config.yaml of a run folder
 * written before is moved to the new keys, so old runs keep loading for eval, orchestrate, serve and resume.
 */

/** Old dotted key → new dotted key. A key whose value is a block moves every field under it. */
export const renamedKeys: ReadonlyArray<readonly [string, string]> = [
  ["algo.ppo.epochs", "algo.epochs"],
  ["algo.ppo.minibatches", "algo.minibatches"],
  ["algo.ppo.annealLr", "algo.annealLr"],
  ["algo.ppo.gaeLambda", "algo.critic.gaeLambda"],
  ["algo.ppo.costGamma", "algo.critic.costGamma"],
  ["algo.ppo.costGaeLambda", "algo.critic.costGaeLambda"],
  ["algo.ppo.normalizeAdvantage", "algo.critic.normalizeAdvantage"],
  ["algo.ppo.standardizeCostAdvantage", "algo.critic.standardizeCostAdvantage"],
  ["algo.ppo.costWindow", "algo.critic.costWindow"],
  ["algo.ppo.valueLr", "algo.critic.lr"],
  ["algo.ppo.valueHidden", "algo.critic.hidden"],
  ["algo.reinforce.valueLr", "algo.critic.lr"],
  ["algo.reinforce.valueHidden", "algo.critic.hidden"],
  ["algo.lagrangian", "algo.dual"],
  ["algo.macpo.headOrder", "algo.headOrder"],
];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

function at(raw: Obj, key: string): { present: boolean; value?: unknown; parent?: Obj; last: string } {
  const parts = key.split(".");
  let node: unknown = raw;
  for (const k of parts.slice(0, -1)) {
    if (!isObj(node) || !(k in node)) return { present: false, last: parts.at(-1)! };
    node = node[k];
  }
  const last = parts.at(-1)!;
  return isObj(node) && last in node ? { present: true, value: node[last], parent: node, last } : { present: false, last };
}

/** The new name of a dotted key (or of a key under a moved block), or undefined if it did not move. */
export function renamedTo(key: string): string | undefined {
  for (const [old, now] of renamedKeys) {
    if (key === old) return now;
    if (key.startsWith(`${old}.`)) return now + key.slice(old.length);
  }
  return undefined;
}

/** The old keys present in a raw config, each with its new name (a moved block: one entry per field). */
export function findRenamed(raw: Obj): Array<{ old: string; now: string }> {
  const out: Array<{ old: string; now: string }> = [];
  for (const [old, now] of renamedKeys) {
    const r = at(raw, old);
    if (!r.present) continue;
    const fields = isObj(r.value) && old === "algo.lagrangian" ? Object.keys(r.value) : [];
    if (fields.length === 0) out.push({ old, now });
    else for (const f of fields) out.push({ old: `${old}.${f}`, now: `${now}.${f}` });
  }
  return out;
}

/**
 * A copy of a run folder's config with every old key moved to its new name. Where two old keys meet in one
 * new key (algo.ppo.valueLr and algo.reinforce.valueLr → algo.critic.lr), the one the run's trainer read wins.
 */
export function migrateRenamed(raw: unknown): unknown {
  if (!isObj(raw)) return raw;
  const copy = structuredClone(raw);
  const reinforce = isObj(copy.algo) && copy.algo.name === "reinforce";
  // the losing source first, so the winner's value is the one left in place
  const order = [...renamedKeys].sort(([a], [b]) => rank(a, reinforce) - rank(b, reinforce));
  for (const [old, now] of order) {
    const r = at(copy, old);
    if (!r.present) continue;
    delete r.parent![r.last];
    const parts = now.split(".");
    let node = copy;
    for (const k of parts.slice(0, -1)) {
      if (!isObj(node[k])) node[k] = {};
      node = node[k] as Obj;
    }
    const last = parts.at(-1)!;
    node[last] = isObj(r.value) && isObj(node[last]) ? { ...(node[last] as Obj), ...r.value } : r.value;
  }
  return copy;
}

/** 1 for the key the run's trainer read where two old keys share a new one, else 0. */
function rank(old: string, reinforce: boolean): number {
  if (old.startsWith("algo.reinforce.value")) return reinforce ? 1 : 0;
  if (old.startsWith("algo.ppo.value")) return reinforce ? 0 : 1;
  return 0;
}
