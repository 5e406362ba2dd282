import { InputError } from "../core/errors.js";
import type { AgentOutput, SystemState, Usage } from "../core/types.js";
import { usageCost, type CostSettings } from "../llm/cost.js";
import { countTokens, type TokenizerName } from "../llm/tokens.js";
import type { ModelSettings } from "../llm/types.js";
import { answerFeatures } from "../tasks/answer-features.js";
import { findItem, type RecordedItem, type RecordedTable } from "../tasks/recorded.js";
import type { Agent } from "./agent.js";
import { extractAnswer } from "./llm.js";
import { recordedAgentName, type extractModes } from "./definition.js";

/** Which correctness counts when an item has both a recorded flag and a gold answer. */
export type JudgeRule = "auto" | "recorded" | "evaluator";

/** A recorded agent: its model column and answer form, plus what every recorded agent of the pool shares. */
export interface RecordedAgentOptions extends Omit<RecordedPool, "models"> {
  name: string;
  /** Model column of the table. */
  model: string;
  extract: { mode: (typeof extractModes)[number]; pattern?: string };
  /** Prices of the model (llm.models entry), if any. */
  pricing?: ModelSettings;
  /** Fixed cost per call, where neither a recorded cost nor a price exists. */
  fixedCost?: number;
}

/** How a recorded call's cost is formed (documented in docs/routing.md). */
type CostRule = { kind: "recorded"; cost: number } | { kind: "price"; usage: Usage } | { kind: "fixed"; cost: number };

interface Prepared {
  output: AgentOutput;
  rule: CostRule;
}

/**
 * An agent that returns a real model's recorded answer (`kind: recorded`). Everything about an
 * item — the answer text or a marker, the extracted final answer, its correctness under the judge rule,
 * token usage, the answer's text features — is computed once, when the agent is built; a call is a map
 * lookup. Cost: the recorded cost, else llm.models prices × tokens (recorded counts, else counted with
 * the tokenizer), else the agent's fixed cost. A missing piece is an error at build time, never a
 * silent zero.
 */
export class RecordedAgent implements Agent {
  readonly kind = "recorded";
  readonly name: string;
  private readonly prepared = new Map<string, Prepared>();

  constructor(readonly o: RecordedAgentOptions) {
    this.name = o.name;
    if (!o.table.models.includes(o.model)) {
      throw new InputError(
        `agent "${o.name}": model "${o.model}" is not a model of the recorded table (${o.table.files.join(", ")} has: ${o.table.models.join(", ")})`,
        o.table.files[0],
        `agents.${o.name}.model`,
      );
    }
    for (const item of o.table.items) this.prepared.set(item.id, this.prepare(item));
  }

  private prepare(item: RecordedItem): Prepared {
    const o = this.o;
    const rec = item.models[o.model]!;
    const where = `${item.file}:${item.line}`;
    const text = rec.text?.trim();
    // the answer extracted when the outputs were graded wins (null: the grader found none)
    const answer =
      rec.answer !== undefined ? (rec.answer ?? undefined) : text !== undefined ? extractAnswer(text, o.extract, o.model) : undefined;
    const recorded = rec.correct ?? (rec.score !== undefined ? rec.score >= o.scoreThreshold : undefined);
    let correct: boolean;
    if (o.judge !== "evaluator" && recorded !== undefined) correct = recorded;
    else if (o.judge !== "recorded" && item.answer !== undefined && o.matches)
      correct = answer !== undefined && o.matches(answer, item.answer);
    else {
      const need =
        o.judge === "recorded"
          ? "no recorded correctness (tasks.judge: recorded)"
          : o.judge === "evaluator"
            ? "no gold answer to judge it against (tasks.judge: evaluator; add tasks.gold or an answer field)"
            : "neither a recorded correctness/score nor a gold answer to judge it against (add tasks.gold or an answer field)";
      throw new InputError(`${where}: item "${item.id}", model "${o.model}": ${need}`, item.file, `models.${o.model}`);
    }
    let rule: CostRule;
    if (rec.cost !== undefined) rule = { kind: "recorded", cost: rec.cost };
    else if (o.pricing) {
      const inputTokens = rec.tokensIn ?? countTokens(item.prompt, o.tokenizer) + o.promptOverheadTokens;
      const outputTokens = rec.tokensOut ?? (text !== undefined ? countTokens(text, o.tokenizer) : o.outputTokensWithoutText);
      rule = { kind: "price", usage: { inputTokens, outputTokens } };
    } else if (o.fixedCost !== undefined) rule = { kind: "fixed", cost: o.fixedCost };
    else if (o.priceFile !== undefined) {
      throw new InputError(
        `${o.priceFile}: no price for model "${o.model}" (agent "${o.name}"; llm.prices): add \`${o.model}: {inputPricePerM: …, outputPricePerM: …}\` or drop the model from the pool`,
        o.priceFile,
        o.model,
      );
    } else {
      throw new InputError(
        `${where}: model "${o.model}" (agent "${o.name}"): no cost — the table records none, llm.models has no prices for it (add an entry with model: "${o.model}" or set the agent's price), and the agent has no fixed cost`,
        item.file,
        `agents.${o.name}.cost`,
      );
    }
    const content = text ?? `[recorded answer of ${o.model}; no text recorded]`;
    const output: AgentOutput = {
      content,
      cost: rule.kind === "price" ? usageCost(rule.usage, o.pricing!, o.cost, 0) : rule.cost,
      ...(rule.kind === "price"
        ? { usage: rule.usage }
        : rec.tokensIn !== undefined && rec.tokensOut !== undefined
          ? { usage: { inputTokens: rec.tokensIn, outputTokens: rec.tokensOut } }
          : {}),
      ...(answer !== undefined ? { answer } : {}),
      meta: { model: o.model, correct, features: answerFeatures(text ?? "", answer), recorded: true },
    };
    // what the call costs in money, whatever cost the policy is trained for (see countCalls)
    output.meta!.usd = output.cost;
    return { output, rule };
  }

  /**
   * The correctness of a reply this agent's model gave on the live path (an API call, not the table):
   * the reply that IS the recorded text (trimmed) is the recorded answer, judged as {@link act} judges
   * it; another reply is judged against the item's gold answer with the evaluator (tasks.judge auto or
   * evaluator); a task outside the table, against its own answer. Undefined when nothing judges it.
   */
  judgeReply(task: SystemState["task"], content: string, answer: string | undefined): boolean | undefined {
    const item = findItem(this.o.table, task);
    if (!item) {
      // a task from outside the table (the live path answers any text): its own reference answer, if any
      if (this.o.judge === "recorded" || task.answer === undefined || !this.o.matches) return undefined;
      return answer !== undefined && this.o.matches(answer, task.answer);
    }
    const p = this.prepared.get(item.id)!;
    if (item.models[this.o.model]!.text !== undefined && content.trim() === p.output.content) return p.output.meta!.correct as boolean;
    if (this.o.judge === "recorded" || item.answer === undefined || !this.o.matches) return undefined;
    return answer !== undefined && this.o.matches(answer, item.answer);
  }

  /** The recorded item a task refers to (by id, else by prompt), if the table has it. */
  item(task: SystemState["task"]): RecordedItem | undefined {
    return findItem(this.o.table, task);
  }

  /** The prepared output of an item (cost as of step 0). */
  outputFor(itemId: string): AgentOutput | undefined {
    return this.prepared.get(itemId)?.output;
  }

  /**
   * Train for strong-model calls instead of money (tasks.costAxis: strong-calls): every call of this agent
   * costs 1 when it is the strong model, else 0. `meta.usd` keeps the call's money cost.
   */
  countCalls(strong: boolean): void {
    this.callCost = strong ? 1 : 0;
    for (const p of this.prepared.values()) p.output.cost = this.callCost;
  }

  private callCost: number | undefined;

  /** Mean money cost of one call over `items` ($, whatever the cost axis). */
  meanUsd(items: readonly { id: string }[]): number {
    if (items.length === 0) return 0;
    let s = 0;
    for (const it of items) s += (this.prepared.get(it.id)?.output.meta?.usd as number | undefined) ?? 0;
    return s / items.length;
  }

  /** Mean cost of one call over `items` (step 0). */
  meanCost(items: readonly { id: string }[]): number {
    if (items.length === 0) return 0;
    let s = 0;
    for (const it of items) s += this.prepared.get(it.id)?.output.cost ?? 0;
    return s / items.length;
  }

  act(state: SystemState): AgentOutput {
    const item = findItem(this.o.table, state.task);
    const p = item ? this.prepared.get(item.id) : undefined;
    if (!p) {
      const error = `no recorded answer of ${this.o.model} for task "${state.task.id}" (not in ${this.o.table.files.join(", ")})`;
      return { content: `[error] ${error}`, cost: 0, meta: { model: this.o.model, error, correct: false } };
    }
    // the compute-proxy cost with logStepPhi depends on the step; every other rule is fixed per item
    if (this.callCost === undefined && p.rule.kind === "price" && this.o.cost.mode === "compute" && this.o.cost.logStepPhi !== undefined) {
      const cost = usageCost(p.rule.usage, this.o.pricing!, this.o.cost, state.step);
      return { ...p.output, cost, meta: { ...p.output.meta, usd: cost } };
    }
    return { ...p.output };
  }
}

/** What every recorded agent of a config shares: the table, the prices and the cost and judge rules. */
export interface RecordedPool {
  table: RecordedTable;
  /** llm.models, resolved (prices). */
  models: Record<string, ModelSettings>;
  /** The price table merged into llm.models (llm.prices), if any: a model without a price is then an error naming it. */
  priceFile?: string;
  cost: CostSettings;
  tokenizer: TokenizerName;
  /** Tokens added to every call's input (e.g. a few-shot prefix the recorded prompt does not show). */
  promptOverheadTokens: number;
  /** Output tokens of a call whose answer text is not recorded. */
  outputTokensWithoutText: number;
  /**
   * auto: the recorded flag (or score) where there is one, else the evaluator against the gold answer;
   * recorded: the recorded flag only; evaluator: the evaluator against the gold answer only.
   */
  judge: JudgeRule;
  /** Does the extracted answer match the reference answer (the task's evaluator)? */
  matches?: (answer: string, expected: string) => boolean;
  /** A recorded score counts as correct when ≥ this. */
  scoreThreshold: number;
}

/** The recorded-agent fields of an agent definition (kind: recorded). */
export interface RecordedAgentDef {
  name: string;
  model: string;
  price?: string;
  cost?: number;
  extract: { mode: (typeof extractModes)[number]; pattern?: string };
}

/** Prices of a model column: llm.models[price], else the entry whose key or `model` is the column. */
export function pricingFor(model: string, price: string | undefined, models: Record<string, ModelSettings>): ModelSettings | undefined {
  if (price !== undefined) {
    const m = models[price];
    if (!m)
      throw new InputError(
        `agents: price "${price}" is not a key of llm.models (has: ${Object.keys(models).join(", ") || "none"})`,
        undefined,
        "price",
      );
    return m;
  }
  return models[model] ?? Object.values(models).find((m) => m.model === model);
}

export function buildRecordedAgent(def: RecordedAgentDef, pool: RecordedPool): RecordedAgent {
  const pricing = pricingFor(def.model, def.price, pool.models);
  return new RecordedAgent({
    name: def.name,
    model: def.model,
    table: pool.table,
    extract: def.extract,
    ...(pricing ? { pricing } : {}),
    ...(pool.priceFile !== undefined ? { priceFile: pool.priceFile } : {}),
    cost: pool.cost,
    ...(def.cost !== undefined ? { fixedCost: def.cost } : {}),
    tokenizer: pool.tokenizer,
    promptOverheadTokens: pool.promptOverheadTokens,
    outputTokensWithoutText: pool.outputTokensWithoutText,
    judge: pool.judge,
    ...(pool.matches ? { matches: pool.matches } : {}),
    scoreThreshold: pool.scoreThreshold,
  });
}

/**
 * Expands `model: "*"` definitions into one agent per model of the table, cheapest first (mean cost over
 * all items), so a config runs unchanged on another recorded file. Generated names are the columns' last
 * path segments (made unique with a numeric suffix).
 */
export function expandRecordedDefinitions<D extends { kind: string; name: string }>(defs: readonly D[], pool: RecordedPool): D[] {
  const taken = new Set(
    defs.filter((d) => !(d.kind === "recorded" && (d as unknown as RecordedAgentDef).model === "*")).map((d) => d.name),
  );
  const out: D[] = [];
  for (const d of defs) {
    const r = d as unknown as RecordedAgentDef & { kind: string };
    if (d.kind !== "recorded" || r.model !== "*") {
      out.push(d);
      continue;
    }
    if (r.price !== undefined)
      throw new InputError(
        `agents: "${d.name}": model "*" cannot name one price (llm.models entries are matched per model)`,
        undefined,
        "price",
      );
    const explicit = new Set(defs.filter((x) => x.kind === "recorded").map((x) => (x as unknown as RecordedAgentDef).model));
    const models = pool.table.models.filter((m) => !explicit.has(m));
    const costs = new Map(models.map((m) => [m, buildRecordedAgent({ ...r, name: "probe", model: m }, pool).meanCost(pool.table.items)]));
    models.sort((a, b) => costs.get(a)! - costs.get(b)!);
    for (const m of models) {
      let name = recordedName(m);
      for (let k = 2; taken.has(name); k++) name = `${recordedName(m)}-${k}`;
      taken.add(name);
      out.push({ ...d, name, model: m } as D);
    }
  }
  return out;
}

const recordedName = recordedAgentName;
