/**
 * The factored action space of a config: `policy.heads` validated against the pool, and
 * turned into the runtime {@link HeadSpec}s of src/env/heads.ts.
 */
import { InputError } from "../core/errors.js";
import type { HeadSpec } from "../env/heads.js";
import type { Config } from "./schema.js";

/** Head names agents understand: `agent` (the pool) and `tier` (sim agents' `tiers`, options.tier). */
export const knownHeadNames = ["agent", "tier"] as const;

/** The heads of a config: its `policy.heads`, or the single agent head. */
export function headsOf(c: Config): HeadSpec[] {
  const agents = c.agents.map((a) => a.name);
  const heads = c.policy.heads;
  if (!heads) return [{ name: "agent", choices: agents }];
  return heads.map((h) => ({ name: h.name, choices: h.name === "agent" ? agents : h.choices! }));
}

/** Whether the config has more than the one agent head. */
export function isMultiHead(c: Config): boolean {
  return (c.policy.heads?.length ?? 1) > 1;
}

/**
 * Cross-field checks of `policy.heads` and of sim agents' `tiers`: known, unique head names; `agent`
 * first and without choices; every other head with choices; tiers only with a `tier` head and only
 * naming its choices.
 */
export function checkHeadsConfig(c: Config, file: string): void {
  const heads = c.policy.heads;
  const seen = new Set<string>();
  heads?.forEach((h, i) => {
    const field = `policy.heads[${i}]`;
    if (!(knownHeadNames as readonly string[]).includes(h.name)) {
      throw new InputError(
        `${file}: ${field}.name: unknown head "${h.name}" (known heads: ${knownHeadNames.join(", ")})`,
        file,
        `${field}.name`,
      );
    }
    if (seen.has(h.name)) throw new InputError(`${file}: ${field}.name: duplicate head "${h.name}"`, file, `${field}.name`);
    seen.add(h.name);
    if (i === 0 && h.name !== "agent") {
      throw new InputError(
        `${file}: ${field}.name: the first head must be "agent" (which agent acts), got "${h.name}"`,
        file,
        `${field}.name`,
      );
    }
    if (h.name === "agent" && h.choices !== undefined) {
      throw new InputError(
        `${file}: ${field}.choices: the agent head's choices are the agents of the pool; remove choices`,
        file,
        `${field}.choices`,
      );
    }
    if (h.name !== "agent") {
      if (h.choices === undefined) {
        throw new InputError(
          `${file}: ${field}.choices: head "${h.name}" needs its list of choices (e.g. [small, large])`,
          file,
          `${field}.choices`,
        );
      }
      const dup = h.choices.find((x, j) => h.choices!.indexOf(x) !== j);
      if (dup !== undefined) throw new InputError(`${file}: ${field}.choices: duplicate choice "${dup}"`, file, `${field}.choices`);
    }
  });
  if (heads && heads[0]?.name !== "agent") {
    throw new InputError(`${file}: policy.heads[0].name: the first head must be "agent"`, file, "policy.heads[0].name");
  }
  const tierHead = heads?.find((h) => h.name === "tier");
  c.agents.forEach((a, i) => {
    if (a.kind !== "sim" || a.tiers === undefined) return;
    if (!tierHead) {
      throw new InputError(
        `${file}: agents[${i}] (${a.name}).tiers: the agent declares tiers but policy.heads has no "tier" head (add {name: tier, choices: [...]})`,
        file,
        `agents[${i}].tiers`,
      );
    }
    for (const t of Object.keys(a.tiers)) {
      if (!tierHead.choices!.includes(t)) {
        throw new InputError(
          `${file}: agents[${i}] (${a.name}).tiers.${t}: not a choice of the tier head (policy.heads tier choices: ${tierHead.choices!.join(", ")})`,
          file,
          `agents[${i}].tiers`,
        );
      }
    }
  });
}
