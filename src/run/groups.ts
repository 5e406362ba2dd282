/**
 * Grouping run folders by configuration: runs whose resolved configs are equal apart from the seed (and
 * output-only settings) are seeds of one configuration; only those are averaged — by `plot` and by `eval`
 * of a folder of runs.
 */
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { InputError } from "../core/errors.js";

/** Several seeds of one configuration, drawn as one mean curve with a 95% band. */
export interface RunGroup {
  label: string;
  runDirs: string[];
  /** Drawn dashed (e.g. a sweep trial stopped early). */
  dashed?: boolean;
}

/**
 * Config fields that do not change what a run measures: the seed (the point of a seed group), and
 * output settings (logging, plots, checkpoint cadence).
 */
const ignoredFields = [/^seed$/, /^log\./, /^train\.checkpointEvery$/, /^train\.keepCheckpoints$/];

/** A run's resolved config (config.yaml) as dotted leaf paths → JSON values; arrays are leaves. */
export function flatConfig(runDir: string): Map<string, string> {
  const file = path.join(runDir, "config.yaml");
  if (!fs.existsSync(file))
    throw new InputError(`${runDir}: no config.yaml, so it cannot be grouped with other runs (plot it on its own)`, file);
  const out = new Map<string, string>();
  const walk = (v: unknown, prefix: string) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(x, prefix ? `${prefix}.${k}` : k);
    } else out.set(prefix, JSON.stringify(v ?? null));
  };
  walk(YAML.parse(fs.readFileSync(file, "utf8")), "");
  return out;
}

const runSeed = (c: Map<string, string>) => c.get("seed") ?? "?";

/** What a grouping of runs found, for the command to say. */
export interface RunGrouping {
  groups: RunGroup[];
  /** Dotted config fields whose values differ between the groups (the labels show them). */
  differing: string[];
  /** Runs left out because another run of the same config and seed was kept (the later folder, by name). */
  duplicates: { dropped: string; kept: string }[];
}

/**
 * Splits runs into groups whose resolved configs are equal apart from the seed (and output-only
 * settings), so that only seeds of one configuration are averaged. A repeated seed within a group is
 * kept once (the later folder). Groups are labelled by the fields that differ between them (the
 * config name alone when that tells them apart); `prefix` starts every label.
 */
export function groupRuns(runDirs: readonly string[], prefix = ""): RunGrouping {
  const configs = runDirs.map((d) => flatConfig(d));
  const keyOf = (c: Map<string, string>) =>
    JSON.stringify(
      [...c.entries()].filter(([k]) => !ignoredFields.some((r) => r.test(k))).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
  const byKey = new Map<string, number[]>();
  configs.forEach((c, i) => {
    const k = keyOf(c);
    byKey.set(k, [...(byKey.get(k) ?? []), i]);
  });
  const duplicates: RunGrouping["duplicates"] = [];
  const members = [...byKey.values()].map((idx) => {
    const bySeed = new Map<string, number>();
    for (const i of idx) {
      const s = runSeed(configs[i]!);
      const prev = bySeed.get(s);
      if (prev !== undefined) duplicates.push({ dropped: runDirs[prev]!, kept: runDirs[i]! });
      bySeed.set(s, i);
    }
    return [...bySeed.values()].sort((a, b) => a - b);
  });
  // fields that differ between the groups (the first member stands for its group)
  const reps = members.map((m) => configs[m[0]!]!);
  const fields = [...new Set(reps.flatMap((c) => [...c.keys()]))].filter((k) => !ignoredFields.some((r) => r.test(k)));
  const differing = fields.filter((k) => new Set(reps.map((c) => c.get(k) ?? "(absent)")).size > 1);
  // label: the config name when names differ, then the fields that differ between groups of that name
  const names = reps.map((c) => c.get("name") ?? '""');
  const showName = differing.includes("name");
  const labelOf = (g: number) => {
    const same = reps.filter((_, h) => names[h] === names[g]);
    const keys = differing.filter((k) => k !== "name" && new Set(same.map((c) => c.get(k) ?? "(absent)")).size > 1);
    const short = shortFieldNames(keys);
    const parts = keys.map((k) => {
      const v = JSON.parse(reps[g]!.get(k) ?? "null") as unknown;
      return `${short.get(k)}=${typeof v === "string" ? v : JSON.stringify(v)}`;
    });
    return [...(showName ? [JSON.parse(names[g]!) as string] : []), ...parts].join(", ");
  };
  const groups = members.map((m, g) => {
    const text = members.length > 1 ? labelOf(g) : "";
    return {
      label: [prefix, text].filter(Boolean).join(": ") || path.basename(path.resolve(runDirs[m[0]!]!)),
      runDirs: m.map((i) => runDirs[i]!),
    };
  });
  return { groups, differing, duplicates };
}

/** Dotted field names shortened to their last segment where that is unambiguous (`algo.lr` → `lr`). */
export function shortFieldNames(keys: readonly string[]): Map<string, string> {
  const last = keys.map((k) => k.split(".").pop()!);
  return new Map(keys.map((k, i) => [k, last.filter((l) => l === last[i]).length === 1 ? last[i]! : k]));
}
