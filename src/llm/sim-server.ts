import { createHash } from "node:crypto";
import type http from "node:http";
import { z } from "zod";
import { listenJson, routeOf, sendJson } from "./http-json.js";
import { arithmeticTypes, formatNumber, parseArithmeticProblem } from "../tasks/arithmetic.js";

/**
 * A simulated LLM server on 127.0.0.1 (node:http): OpenAI-compatible `/v1/chat/completions`,
 * `/v1/models`, `/v1/embeddings`, and the Anthropic Messages API at `/v1/messages`. Deterministic and
 * seeded: it reads the arithmetic problem of the prompt (src/tasks/arithmetic.ts), answers correctly
 * with a probability given by a skill table over (role found in the system prompt) × (task type) plus
 * a per-model bonus, reports realistic token usage, and injects latency, 429s, 500s and malformed
 * bodies on demand. Tests and `maestro sim-server` use it; configs rehearse at zero spend.
 */

const prob = z.number().min(0).max(1);

const roleSchema = z
  .object({
    behavior: z
      .enum(["solve", "verify", "restate"])
      .describe("solve: answers from scratch; verify: checks the latest answer in the transcript and may fix it; restate: repeats it."),
    addsub: prob.describe("P(correct) on addsub problems when solving from scratch."),
    muldiv: prob.describe("P(correct) on muldiv problems when solving from scratch."),
    percent: prob.describe("P(correct) on percent problems when solving from scratch."),
    keep: prob.default(0.95).describe("verify/restate: P(keeping a correct earlier answer)."),
    fix: prob.default(0).describe("verify: P(correcting a wrong earlier answer)."),
    words: z.number().int().positive().default(60).describe("Typical length of the reply in words (drives completion tokens)."),
    plan: z.boolean().default(false).describe("The reply contains a PLAN: section (solvers after it gain planBonus)."),
  })
  .strict();

const faultSchema = z
  .object({
    rate429: prob.default(0).describe("Probability of a 429 per attempt."),
    rate500: prob.default(0).describe("Probability of a 500 per attempt."),
    rateMalformed: prob.default(0).describe("Probability of a 200 with a malformed (non-JSON) body."),
    first429: z.number().int().nonnegative().default(0).describe("The first N attempts of every distinct request get 429."),
    latencyMs: z.number().nonnegative().default(0).describe("Added latency per request."),
    jitterMs: z.number().nonnegative().default(0).describe("Uniform extra latency in [0, jitterMs)."),
  })
  .strict();

// per-model overrides: no defaults here, so unset fields fall back to `defaults`
const modelSchema = z
  .object({
    skill: z.number().min(-1).max(1).default(0).describe("Added to every role's P(correct) (clamped to [0.02, 0.98])."),
    rate429: prob.optional().describe("Overrides defaults.rate429."),
    rate500: prob.optional().describe("Overrides defaults.rate500."),
    rateMalformed: prob.optional().describe("Overrides defaults.rateMalformed."),
    first429: z.number().int().nonnegative().optional().describe("Overrides defaults.first429."),
    latencyMs: z.number().nonnegative().optional().describe("Overrides defaults.latencyMs."),
    jitterMs: z.number().nonnegative().optional().describe("Overrides defaults.jitterMs."),
  })
  .strict();

export const simServerConfigSchema = z
  .object({
    seed: z.number().int().default(0).describe("Seed of every random choice of the server."),
    retryAfterMs: z.number().int().nonnegative().default(20).describe("retry-after-ms header sent with 429/500s."),
    planBonus: z.number().default(0.1).describe("Added to P(correct) of a solver when an earlier turn holds a plan."),
    defaults: faultSchema.default(faultSchema.parse({})).describe("Faults and latency of every model."),
    models: z.record(z.string(), modelSchema).default({}).describe("Per-model skill bonus and fault overrides."),
    roles: z.record(z.string(), roleSchema).default({}).describe("Skill table (merged over the built-in one)."),
  })
  .strict();

export type SimServerConfig = z.input<typeof simServerConfigSchema>;
type Resolved = z.infer<typeof simServerConfigSchema>;
type Role = z.infer<typeof roleSchema>;

/**
 * The built-in skill table. Roles specialise by task type (planner: add/sub chains; coder: mul/div;
 * researcher: percentages; reasoner: generalist), checkers fix earlier answers, restaters copy them.
 */
export const defaultRoles: Record<string, z.input<typeof roleSchema>> = {
  planner: { behavior: "solve", addsub: 0.9, muldiv: 0.35, percent: 0.3, words: 90, plan: true },
  reasoner: { behavior: "solve", addsub: 0.6, muldiv: 0.55, percent: 0.5, words: 140 },
  coder: { behavior: "solve", addsub: 0.5, muldiv: 0.9, percent: 0.45, words: 110 },
  researcher: { behavior: "solve", addsub: 0.4, muldiv: 0.4, percent: 0.88, words: 120 },
  critic: { behavior: "verify", addsub: 0.35, muldiv: 0.35, percent: 0.35, keep: 0.95, fix: 0.4, words: 80 },
  reviewer: { behavior: "verify", addsub: 0.4, muldiv: 0.4, percent: 0.4, keep: 0.95, fix: 0.45, words: 100 },
  reflector: { behavior: "verify", addsub: 0.3, muldiv: 0.3, percent: 0.3, keep: 0.9, fix: 0.3, words: 90 },
  summarizer: { behavior: "restate", addsub: 0.25, muldiv: 0.25, percent: 0.25, keep: 0.97, words: 50 },
  concluder: { behavior: "restate", addsub: 0.3, muldiv: 0.3, percent: 0.3, keep: 0.98, words: 40 },
};

/** Built-in model profiles: the names configs/llm-arithmetic.yaml uses. */
export const defaultModels: Record<string, z.input<typeof modelSchema>> = {
  "sim-fast": { skill: 0 },
  "sim-strong": { skill: 0.2 },
};

const fallbackRole: z.input<typeof roleSchema> = { behavior: "solve", addsub: 0.5, muldiv: 0.5, percent: 0.5, words: 80 };

export function resolveSimConfig(c: SimServerConfig = {}): Resolved {
  const r = simServerConfigSchema.parse(c);
  const roles: Record<string, Role> = {};
  for (const [k, v] of Object.entries({ ...defaultRoles, ...r.roles })) roles[k] = roleSchema.parse(v);
  const models = { ...Object.fromEntries(Object.entries(defaultModels).map(([k, v]) => [k, modelSchema.parse(v)])), ...r.models };
  return { ...r, roles, models };
}

/** Deterministic uniform in [0,1) from a string. */
function u01(...parts: Array<string | number>): number {
  const h = createHash("sha256").update(parts.join("\u0000")).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

const words = (text: string) => Math.ceil(text.length / 4);
/** Rough token count (≈ 4 characters per token, plus per-message overhead). */
export function countTokens(messages: ReadonlyArray<{ content: string }>): number {
  return messages.reduce((s, m) => s + words(m.content) + 4, 0);
}

const filler = [
  "Let me restate the quantities carefully.",
  "I track the running total after each sentence.",
  "Each operation applies to the current amount.",
  "Double-checking the arithmetic of every step.",
  "Units stay the same throughout.",
  "No information is missing from the problem.",
];

/** A plausible wrong answer: off by 1–9 for integers (clamped at 0, never the right one), ±10% for amounts in cents. */
function wrongAnswer(correct: number, r: number): number {
  if (Number.isInteger(correct)) {
    const off = 1 + Math.floor(r * 9);
    if (r < 0.5) return correct + off;
    const down = Math.max(0, correct - off);
    return down === correct ? correct + off : down;
  }
  return Math.round(correct * (r < 0.5 ? 1.1 : 0.9) * 100) / 100;
}

export interface SimReply {
  content: string;
  promptTokens: number;
  completionTokens: number;
}

/** The simulated model's reply to a chat (pure function of the config, model, messages and seed). */
export function simulateChat(
  cfg: Resolved,
  model: string,
  messages: ReadonlyArray<{ role: string; content: string }>,
  seed: number | string,
): SimReply {
  const system = messages
    .filter((m) => m.role === "system")
    .map((m) => m.content)
    .join("\n");
  const convo = messages
    .filter((m) => m.role !== "system")
    .map((m) => m.content)
    .join("\n");
  const key = JSON.stringify([cfg.seed, model, messages, seed]);
  const roleName =
    system.match(/\brole:\s*([a-z]+)/i)?.[1]?.toLowerCase() ??
    Object.keys(cfg.roles).find((r) => new RegExp(`\\b${r}\\b`, "i").test(system));
  const role = roleSchema.parse(cfg.roles[roleName ?? ""] ?? fallbackRole);
  const skill = cfg.models[model]?.skill ?? 0;
  const problem = parseArithmeticProblem(convo);
  const pad = (n: number) => {
    const out: string[] = [];
    for (let i = 0; out.join(" ").split(" ").length < n; i++) out.push(filler[Math.floor(u01(key, "pad", i) * filler.length)]!);
    return out.join(" ");
  };
  let content: string;
  if (!problem) {
    content = `${pad(role.words / 2)}\nI could not find an arithmetic problem to work on.`;
  } else {
    const clamp = (p: number) => Math.min(0.98, Math.max(0.02, p + skill));
    const planned = /^PLAN:/m.test(convo);
    const solveP = clamp(role[problem.type] + (planned && role.behavior === "solve" ? cfg.planBonus : 0));
    const priorText = [...convo.matchAll(/ANSWER:\s*(-?[\d.]+)/g)].pop()?.[1];
    const prior = priorText === undefined ? undefined : Number(priorText);
    const correct = problem.answer;
    const r = u01(key, "correct");
    let answer: number;
    let how: string;
    if (role.behavior !== "solve" && prior !== undefined) {
      const priorOk = Math.abs(prior - correct) < 1e-6;
      if (priorOk) {
        answer = r < clamp(role.keep) ? correct : wrongAnswer(correct, u01(key, "wrong"));
        how = `The earlier answer ${formatNumber(prior)} looks right.`;
      } else if (role.behavior === "verify") {
        answer = r < clamp(role.fix) ? correct : prior;
        how =
          answer === correct
            ? `The earlier answer ${formatNumber(prior)} is wrong; recomputing.`
            : `The earlier answer ${formatNumber(prior)} seems fine.`;
      } else {
        answer = prior;
        how = `Restating the answer found so far.`;
      }
    } else {
      answer = r < solveP ? correct : wrongAnswer(correct, u01(key, "wrong"));
      const steps = problem.trace.map((v, i) => (i === problem.trace.length - 1 ? formatNumber(answer) : formatNumber(v)));
      how = `Working step by step: ${steps.join(" -> ")}.`;
    }
    const plan = role.plan ? `PLAN: read the starting amount, apply each change in order, report the final amount.\n` : "";
    content = `${plan}${pad(role.words)}\n${how}\nANSWER: ${formatNumber(answer)}`;
  }
  const jitter = 0.8 + 0.4 * u01(key, "len");
  return {
    content,
    promptTokens: countTokens(messages),
    completionTokens: Math.max(1, Math.round(words(content) * jitter)),
  };
}

/** Deterministic hashed-trigram embedding of a text, L2-normalised. */
export function simulateEmbedding(text: string, dims: number): number[] {
  const v = new Array<number>(dims).fill(0);
  const t = ` ${text.toLowerCase()} `;
  for (let i = 0; i + 3 <= t.length; i++) {
    const h = createHash("md5")
      .update(t.slice(i, i + 3))
      .digest();
    v[h.readUInt32BE(0) % dims]! += h[4]! & 1 ? 1 : -1;
  }
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => x / n);
}

export interface SimServerStats {
  /** Every HTTP request received. */
  requests: number;
  /** Requests per path (e.g. `/v1/chat/completions`). */
  byPath: Record<string, number>;
  /** Responses by status code. */
  byStatus: Record<string, number>;
}

export interface SimServer {
  readonly port: number;
  readonly url: string;
  readonly stats: SimServerStats;
  readonly config: Resolved;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts the simulated server on 127.0.0.1:`port` (0 = an ephemeral port). */
export async function startSimServer(opts: { port?: number; config?: SimServerConfig } = {}): Promise<SimServer> {
  const cfg = resolveSimConfig(opts.config);
  const stats: SimServerStats = { requests: 0, byPath: {}, byStatus: {} };
  const attempts = new Map<string, number>();

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
    sendJson(res, status, body, headers);
  };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, text: string): Promise<void> {
    const url = routeOf(req);
    stats.requests++;
    stats.byPath[url] = (stats.byPath[url] ?? 0) + 1;
    const anthropic = url.endsWith("/v1/messages");
    if (req.method === "GET" && url.endsWith("/models")) {
      const names = Object.keys(cfg.models);
      send(res, 200, { object: "list", data: names.map((id) => ({ id, object: "model", created: 0, owned_by: "maestro-sim" })) });
      return;
    }
    if (req.method !== "POST" || !(url.endsWith("/chat/completions") || url.endsWith("/embeddings") || anthropic)) {
      send(res, 404, { error: { message: `sim-server: no route ${req.method} ${url}`, type: "invalid_request_error" } });
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      send(res, 400, { error: { message: "sim-server: request body is not JSON", type: "invalid_request_error" } });
      return;
    }
    const model = String(body.model ?? "");
    const m = cfg.models[model] ?? {};
    const f = { ...cfg.defaults, ...Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined)) } as z.infer<
      typeof faultSchema
    >;
    const bodyKey = createHash("sha256")
      .update(url + text)
      .digest("hex");
    const attempt = attempts.get(bodyKey) ?? 0;
    attempts.set(bodyKey, attempt + 1);
    const latency = f.latencyMs + f.jitterMs * u01(cfg.seed, bodyKey, attempt, "lat");
    if (latency > 0) await sleep(latency);
    const retry = { "retry-after-ms": String(cfg.retryAfterMs) };
    const err = (status: number, type: string, message: string) =>
      anthropic ? { type: "error", error: { type, message } } : { error: { message, type, code: null } };
    if (attempt < f.first429 || u01(cfg.seed, bodyKey, attempt, "429") < f.rate429) {
      send(res, 429, err(429, "rate_limit_error", "sim-server: rate limit reached, retry later"), retry);
      return;
    }
    if (u01(cfg.seed, bodyKey, attempt, "500") < f.rate500) {
      send(res, 500, err(500, anthropic ? "api_error" : "server_error", "sim-server: internal error"), retry);
      return;
    }
    if (u01(cfg.seed, bodyKey, attempt, "bad") < f.rateMalformed) {
      send(res, 200, '{"id": "chatcmpl-sim", "choices": [ {"message": ');
      return;
    }
    if (url.endsWith("/embeddings")) {
      const inputs = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? "")];
      const dims = typeof body.dimensions === "number" ? body.dimensions : 64;
      const tokens = inputs.reduce((s, t) => s + words(t), 0);
      send(res, 200, {
        object: "list",
        model,
        data: inputs.map((t, index) => {
          const v = simulateEmbedding(t, dims);
          const embedding = body.encoding_format === "base64" ? Buffer.from(Float32Array.from(v).buffer).toString("base64") : v;
          return { object: "embedding", index, embedding };
        }),
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      });
      return;
    }
    const rawMessages = Array.isArray(body.messages) ? (body.messages as Array<{ role: string; content: unknown }>) : [];
    const messages = rawMessages.map((x) => ({
      role: x.role,
      content:
        typeof x.content === "string"
          ? x.content
          : Array.isArray(x.content)
            ? x.content.map((b: { text?: string }) => b.text ?? "").join("")
            : "",
    }));
    if (anthropic && typeof body.system === "string") messages.unshift({ role: "system", content: body.system });
    const reply = simulateChat(cfg, model, messages, typeof body.seed === "number" ? body.seed : "none");
    const id = `sim-${bodyKey.slice(0, 16)}`;
    if (anthropic) {
      send(res, 200, {
        id: `msg_${id}`,
        type: "message",
        role: "assistant",
        model,
        content: [{ type: "text", text: reply.content }],
        stop_reason: "end_turn",
        stop_sequence: null,
        usage: { input_tokens: reply.promptTokens, output_tokens: reply.completionTokens },
      });
      return;
    }
    send(res, 200, {
      id: `chatcmpl-${id}`,
      object: "chat.completion",
      created: 0,
      model,
      choices: [{ index: 0, message: { role: "assistant", content: reply.content }, finish_reason: "stop", logprobs: null }],
      usage: {
        prompt_tokens: reply.promptTokens,
        completion_tokens: reply.completionTokens,
        total_tokens: reply.promptTokens + reply.completionTokens,
      },
    });
  }

  const server = await listenJson(opts.port ?? 8787, handle, (e) => {
    stats.byStatus[500] = (stats.byStatus[500] ?? 0) + 1;
    return { error: { message: `sim-server: ${String(e)}`, type: "server_error" } };
  });
  return { port: server.port, url: server.url, stats, config: cfg, close: () => server.close() };
}

export { arithmeticTypes };
