import fs from "node:fs";
import type { HeadSpec } from "../env/heads.js";

/**
 * The emergent-structure analysis of the Puppeteer paper (Dang et al. 2025, §4 "emergent
 * organizational structures"): the orchestrator's choices form a directed graph over the agents,
 * edge i→j counting how often agent j acts right after agent i within an episode. As training
 * progresses the paper reports the graph becoming more compact (lower density, a few hub agents) and
 * more cyclic (agents revisited). maestro records the graph of every update in structure.jsonl and
 * summarises it in structure.json at the end of a run.
 */

/** Agent usage and transition counts of one update's episodes. */
export interface StructureRecord {
  update: number;
  agents: string[];
  /** usage[i]: how many steps agent i took. */
  usage: number[];
  /** starts[i]: episodes whose first step was agent i. */
  starts: number[];
  /** transitions[i][j]: how often agent j acted right after agent i. */
  transitions: number[][];
  /** Fraction of episodes in which some agent acted more than once (a cycle in the episode's path). */
  cycle_rate: number;
  episodes: number;
  /**
   * Multi-head runs (policy.heads): per further head (e.g. `tier`), its choices, how many steps took
   * each (`usage`) and, per agent, how many of that agent's steps took each (`byAgent[i][c]`).
   */
  heads?: Record<string, HeadUsage>;
}

/** How often the choices of one further head (e.g. the model tier) were taken. */
export interface HeadUsage {
  choices: string[];
  usage: number[];
  byAgent: number[][];
}

export interface GraphMetrics {
  /** Distinct directed edges (self-loops included) over the K² possible ones. */
  density: number;
  edges: number;
  /** Transitions from an agent to itself over all transitions. */
  self_loop_share: number;
  /** Elementary cycles of the edge graph (self-loops included), counted up to 10,000. */
  simple_cycles: number;
  /** Fraction of episodes that revisited an agent. */
  cycle_rate: number;
  /** Agents by share of weighted degree (in + out transitions), largest first. */
  hubs: { agent: string; degree_share: number; usage_share: number }[];
  /** Agents whose degree share is at least twice the uniform share 1/K. */
  hub_agents: string[];
}

/**
 * Counts usage and transitions of a batch of episodes (each given by its sequence of agent names and,
 * in multi-head runs, the other heads' choices per step); `heads` are the run's heads (head 0 = agent).
 */
export function structureRecord(
  update: number,
  agentNames: readonly string[],
  episodes: readonly { agents: readonly string[]; options?: ReadonlyArray<Readonly<Record<string, string>>> }[],
  heads: readonly HeadSpec[] = [],
): StructureRecord {
  const K = agentNames.length;
  const index = new Map(agentNames.map((n, i) => [n, i]));
  const usage = new Array<number>(K).fill(0);
  const starts = new Array<number>(K).fill(0);
  const transitions = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  let cyclic = 0;
  for (const e of episodes) {
    const ids = e.agents.map((a) => index.get(a)!);
    ids.forEach((a, t) => {
      usage[a]!++;
      if (t === 0) starts[a]!++;
      else transitions[ids[t - 1]!]![a]!++;
    });
    if (new Set(ids).size < ids.length) cyclic++;
  }
  const rec: StructureRecord = {
    update,
    agents: [...agentNames],
    usage,
    starts,
    transitions,
    cycle_rate: episodes.length ? cyclic / episodes.length : 0,
    episodes: episodes.length,
  };
  const others = heads.slice(1);
  if (others.length > 0) {
    rec.heads = {};
    for (const h of others) {
      const ci = new Map(h.choices.map((c, i) => [c, i]));
      const u: HeadUsage = {
        choices: [...h.choices],
        usage: new Array<number>(h.choices.length).fill(0),
        byAgent: Array.from({ length: K }, () => new Array<number>(h.choices.length).fill(0)),
      };
      for (const e of episodes) {
        e.agents.forEach((a, t) => {
          const c = ci.get(e.options?.[t]?.[h.name] ?? "");
          if (c === undefined) return;
          u.usage[c]!++;
          u.byAgent[index.get(a)!]![c]!++;
        });
      }
      rec.heads[h.name] = u;
    }
  }
  return rec;
}

/** Sums several records (e.g. the last 10% of updates) into one; cycle_rate is episode-weighted. */
export function mergeRecords(records: readonly StructureRecord[]): StructureRecord {
  const first = records[0]!;
  const K = first.agents.length;
  const out: StructureRecord = {
    update: records[records.length - 1]!.update,
    agents: first.agents,
    usage: new Array<number>(K).fill(0),
    starts: new Array<number>(K).fill(0),
    transitions: Array.from({ length: K }, () => new Array<number>(K).fill(0)),
    cycle_rate: 0,
    episodes: 0,
  };
  let cyc = 0;
  for (const r of records) {
    for (let i = 0; i < K; i++) {
      out.usage[i]! += r.usage[i]!;
      out.starts[i]! += r.starts[i]!;
      for (let j = 0; j < K; j++) out.transitions[i]![j]! += r.transitions[i]![j]!;
    }
    cyc += r.cycle_rate * r.episodes;
    out.episodes += r.episodes;
  }
  out.cycle_rate = out.episodes ? cyc / out.episodes : 0;
  if (first.heads) {
    out.heads = {};
    for (const [name, h] of Object.entries(first.heads)) {
      const m: HeadUsage = {
        choices: h.choices,
        usage: new Array<number>(h.choices.length).fill(0),
        byAgent: Array.from({ length: K }, () => new Array<number>(h.choices.length).fill(0)),
      };
      for (const r of records) {
        const x = r.heads?.[name];
        if (!x) continue;
        x.usage.forEach((v, c) => (m.usage[c]! += v));
        x.byAgent.forEach((row, i) => row.forEach((v, c) => (m.byAgent[i]![c]! += v)));
      }
      out.heads[name] = m;
    }
  }
  return out;
}

/** Elementary cycles of a small directed graph (DFS from each start node over higher-numbered nodes). */
export function countSimpleCycles(adj: readonly (readonly boolean[])[], cap = 10_000): number {
  const K = adj.length;
  let count = 0;
  const onPath = new Array<boolean>(K).fill(false);
  const dfs = (start: number, v: number): void => {
    for (let w = start; w < K && count < cap; w++) {
      if (!adj[v]![w]) continue;
      if (w === start) count++;
      else if (!onPath[w]) {
        onPath[w] = true;
        dfs(start, w);
        onPath[w] = false;
      }
    }
  };
  for (let s = 0; s < K && count < cap; s++) {
    onPath[s] = true;
    dfs(s, s);
    onPath[s] = false;
  }
  return count;
}

export function graphMetrics(r: StructureRecord): GraphMetrics {
  const K = r.agents.length;
  const adj = r.transitions.map((row) => row.map((c) => c > 0));
  const edges = adj.flat().filter(Boolean).length;
  const totalT = r.transitions.flat().reduce((a, b) => a + b, 0);
  const self = r.transitions.reduce((a, row, i) => a + row[i]!, 0);
  const degree = r.agents.map((_, i) => r.transitions[i]!.reduce((a, b) => a + b, 0) + r.transitions.reduce((a, row) => a + row[i]!, 0));
  const degTotal = degree.reduce((a, b) => a + b, 0);
  const useTotal = r.usage.reduce((a, b) => a + b, 0);
  const hubs = r.agents
    .map((agent, i) => ({ agent, degree_share: degTotal ? degree[i]! / degTotal : 0, usage_share: useTotal ? r.usage[i]! / useTotal : 0 }))
    .sort((a, b) => b.degree_share - a.degree_share);
  return {
    density: K ? edges / (K * K) : 0,
    edges,
    self_loop_share: totalT ? self / totalT : 0,
    simple_cycles: countSimpleCycles(adj),
    cycle_rate: r.cycle_rate,
    hubs,
    hub_agents: hubs.filter((h) => degTotal > 0 && h.degree_share >= 2 / K).map((h) => h.agent),
  };
}

/** Reads a run's structure.jsonl (torn last lines are skipped). */
export function readStructure(file: string): StructureRecord[] {
  if (!fs.existsSync(file)) return [];
  const out: StructureRecord[] = [];
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as StructureRecord);
    } catch {
      // torn line of a killed run
    }
  }
  return out;
}

/** structure.json: the graph metrics of the first and last 10% of updates and of the whole run. */
export function structureSummary(records: readonly StructureRecord[]): Record<string, unknown> | null {
  if (records.length === 0) return null;
  const w = Math.max(1, Math.round(records.length / 10));
  const part = (rs: readonly StructureRecord[]) => {
    const m = mergeRecords(rs);
    return {
      updates: [rs[0]!.update, m.update],
      ...graphMetrics(m),
      usage: m.usage,
      starts: m.starts,
      transitions: m.transitions,
      ...(m.heads ? { heads: m.heads } : {}),
    };
  };
  return { agents: records[0]!.agents, first: part(records.slice(0, w)), final: part(records.slice(-w)), all: part(records) };
}
