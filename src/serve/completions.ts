/**
 * POST /v1/chat/completions: one episode of the orchestrator per request, answered as an OpenAI chat
 * completion (https://platform.openai.com/docs/api-reference/chat/object) or, with `stream: true`, as
 * server-sent chunks (https://platform.openai.com/docs/api-reference/chat-streaming). The reply's content
 * is the final answer; its `maestro` object says what the orchestrator did.
 */
import { randomUUID } from "node:crypto";
import { PassThrough } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Limiter } from "../llm/limiter.js";
import type { Caller } from "./keys.js";
import type { Admission, LimitStore } from "./limits.js";
import type { ServerMetrics } from "./metrics.js";
import { episodeRejection, type OrchestrationTrace, type Orchestrator } from "./orchestrate.js";
import { chatBodyJsonSchema, checkKnob, errorBody, RequestError, requestedKnob, taskOf, type ChatBody } from "./request.js";

/** The `maestro` object of a completion: what the orchestrator did for this request. */
export interface MaestroInfo {
  run: string;
  checkpoint_update: number;
  seed: number;
  greedy: boolean;
  knob: { name: string; value: number } | null;
  steps: Array<{
    step: number;
    agent: string;
    model?: string;
    /** Multi-head runs: the other heads' choices (e.g. {tier: "large"}). */
    options?: Record<string, string>;
    cost: number;
    tokens_in: number;
    tokens_out: number;
    cached: boolean;
    answer?: string;
    error?: string;
  }>;
  final_answer: string | null;
  cost: number;
  stop_reason: "terminator" | "solved" | "max_steps";
}

/** Why an episode was cancelled. */
export class Cancelled extends Error {
  constructor(
    readonly why: "client_closed" | "budget" | "shutdown",
    message: string,
  ) {
    super(message);
  }
}

/** Answers a request with an OpenAI-style error (counted, redacted). */
export type Fail = (
  req: FastifyRequest,
  reply: FastifyReply,
  status: number,
  type: string,
  message: string,
  param?: string | null,
  code?: string | null,
) => FastifyReply;

/** What the completions route shares with the server around it. */
export interface CompletionContext {
  orch: Orchestrator;
  metrics: ServerMetrics;
  /** The server-wide bound on episodes running at once (FIFO). */
  limiter: Limiter;
  limits: LimitStore;
  redact: (text: string) => string;
  fail: Fail;
  /** The episodes in flight, cancelled together at the end of a shutdown's grace period. */
  episodes: Set<AbortController>;
  heartbeatMs: number;
  /** The seed of the k-th sampled request without its own (server seed + k). */
  nextSampledSeed: () => number;
}

/** A checked request: its task, knob and sampling. */
interface Prepared {
  body: ChatBody;
  task: string;
  knobReq: { name: string; value: number } | undefined;
  knob: number | undefined;
  greedy: boolean;
  seed: number;
  id: string;
  created: number;
  caller: Caller | undefined;
}

type CallerRequest = FastifyRequest & { caller?: Caller };

function prepare(ctx: CompletionContext, req: FastifyRequest): Prepared {
  const body = req.body as ChatBody;
  const knobReq = requestedKnob(body);
  const knob = checkKnob(ctx.orch, knobReq);
  const task = taskOf(body.messages);
  const greedy = !(body.temperature !== undefined && body.temperature > 0);
  // seed: the request's own; else the server's (greedy: as `maestro orchestrate` with that seed),
  // else for the k-th sampled request without a seed, server seed + k (reported in maestro.seed)
  const seed = body.seed ?? (greedy ? ctx.orch.seed : ctx.nextSampledSeed());
  const id = `chatcmpl-${randomUUID().replace(/-/g, "")}`;
  return { body, task, knobReq, knob, greedy, seed, id, created: Math.floor(Date.now() / 1000), caller: (req as CallerRequest).caller };
}

/** The key's admission: a 429 (or 503 when the store cannot answer) as a thrown RequestError. */
async function admit(ctx: CompletionContext, caller: Caller, reply: FastifyReply): Promise<Extract<Admission, { ok: true }>> {
  let a;
  try {
    a = await ctx.limits.admit(caller);
  } catch (e) {
    throw new RequestError(503, `the key store is unavailable (${(e as Error).message}); try again`, null, "store_unavailable");
  }
  if (!a.ok) {
    ctx.metrics.keyRejections.inc({ key: caller.id, reason: a.reason });
    if (a.retryAfterS !== undefined) reply.header("retry-after", String(a.retryAfterS));
    throw new RequestError(
      429,
      a.message,
      null,
      a.reason === "budget" ? "insufficient_quota" : a.reason === "rate" ? "rate_limit_exceeded" : "concurrency_limit_exceeded",
    );
  }
  return a;
}

/**
 * One request's episode: cancelled when the client goes away, when the key's budget is spent, or at the
 * end of a shutdown's grace; its spend is counted as each agent output arrives (cache hits cost nothing).
 */
class RequestEpisode {
  readonly ctl = new AbortController();
  private spent = 0;

  constructor(
    private readonly ctx: CompletionContext,
    private readonly req: FastifyRequest,
    reply: FastifyReply,
    private readonly p: Prepared,
    private readonly admission: Extract<Admission, { ok: true }> | undefined,
  ) {
    ctx.episodes.add(this.ctl);
    reply.raw.once("close", () => {
      if (!reply.raw.writableFinished) this.ctl.abort(new Cancelled("client_closed", "the client closed the connection"));
    });
  }

  private onOutput(cost: number, cached: boolean): void {
    if (cached || !(cost > 0)) return;
    this.spent += cost;
    const { caller } = this.p;
    if (caller?.budget != null && this.admission && this.admission.spent + this.spent > caller.budget && !this.ctl.signal.aborted) {
      this.ctl.abort(
        new Cancelled(
          "budget",
          `key "${caller.id}": budget exhausted during this request: the key had spent ${this.admission.spent} of ${caller.budget}; this request's episode was stopped after spending ${this.spent.toPrecision(4)}`,
        ),
      );
    }
  }

  /** Runs the episode under the server's concurrency bound. */
  run(): Promise<OrchestrationTrace> {
    const { metrics, limiter, orch } = this.ctx;
    const { signal } = this.ctl;
    metrics.queued.set(limiter.waiting + 1);
    return limiter.run(async () => {
      metrics.queued.set(limiter.waiting);
      signal.throwIfAborted();
      metrics.inFlight.inc();
      try {
        const { greedy, seed, knob } = this.p;
        return await orch.solve(
          { id: this.p.id, prompt: this.p.task },
          {
            greedy,
            seed,
            signal,
            onOutput: (out) => this.onOutput(out.cost, out.meta?.cached === true),
            ...(knob !== undefined ? { knob } : {}),
          },
        );
      } finally {
        metrics.inFlight.dec();
      }
    }, signal);
  }

  /** Frees the key's concurrency slot and records its spend. */
  async settle(): Promise<void> {
    this.ctx.episodes.delete(this.ctl);
    await this.admission?.release();
    const { caller } = this.p;
    if (!caller) return;
    if (this.spent > 0) this.ctx.metrics.keySpend.inc({ key: caller.id }, this.spent);
    try {
      await this.ctx.limits.addSpend(caller, this.spent);
    } catch (e) {
      this.req.log.error({ key: caller.id, spent: this.spent, err: { message: (e as Error).message } }, "could not record spend");
    }
  }

  /** A cancelled episode's error (status, type, message, code); undefined for any other failure. */
  cancelled(e: unknown): [number, string, string, string | null] | undefined {
    const c =
      e instanceof Cancelled
        ? e
        : this.ctl.signal.reason instanceof Cancelled && this.ctl.signal.aborted
          ? this.ctl.signal.reason
          : undefined;
    if (!c) return undefined;
    if (c.why === "budget") {
      this.ctx.metrics.keyRejections.inc({ key: this.p.caller!.id, reason: "budget" });
      return [429, "rate_limit_error", c.message, "insufficient_quota"];
    }
    if (c.why === "shutdown")
      return [
        503,
        "server_error",
        "the server is shutting down: this request's episode was cancelled at the end of the grace period",
        "shutting_down",
      ];
    return [499, "client_closed", "the client closed the connection; the episode's remaining calls were cancelled", null];
  }
}

/** Counts a finished episode in the metrics. */
function recordTrace(metrics: ServerMetrics, t: OrchestrationTrace): void {
  metrics.episodes.inc({ stop_reason: t.endedBy === "maxSteps" ? "max_steps" : t.endedBy });
  metrics.cost.inc(t.cost);
  metrics.steps.observe(t.steps.length);
  for (const s of t.steps) {
    metrics.agentCalls.inc({ agent: s.agent });
    if (s.error !== undefined) metrics.agentErrors.inc({ agent: s.agent });
  }
  const tin = t.steps.reduce((a, s) => a + s.tokensIn, 0);
  const tout = t.steps.reduce((a, s) => a + s.tokensOut, 0);
  if (tin > 0) metrics.tokens.inc({ kind: "prompt" }, tin);
  if (tout > 0) metrics.tokens.inc({ kind: "completion" }, tout);
}

/** A finished episode as a completion: the maestro object, the answer text, usage and finish reason. */
function describeTrace(orch: Orchestrator, t: OrchestrationTrace, p: Prepared) {
  const info: MaestroInfo = {
    run: orch.config.name,
    checkpoint_update: orch.checkpointUpdate,
    seed: p.seed,
    greedy: p.greedy,
    knob: p.knobReq ?? null,
    steps: t.steps.map((s) => ({
      step: s.step,
      agent: s.agent,
      ...(s.model !== undefined ? { model: s.model } : {}),
      ...(s.options !== undefined ? { options: s.options } : {}),
      cost: s.cost,
      tokens_in: s.tokensIn,
      tokens_out: s.tokensOut,
      cached: s.cached,
      ...(s.answer !== undefined ? { answer: s.answer } : {}),
      ...(s.error !== undefined ? { error: s.error } : {}),
    })),
    final_answer: t.finalAnswer ?? null,
    cost: t.cost,
    stop_reason: t.endedBy === "maxSteps" ? "max_steps" : t.endedBy,
  };
  // the final answer; without one, the last agent reply that is not an error or the Terminator's
  const fallback = [...t.steps]
    .reverse()
    .find((s) => s.error === undefined && s.agent !== "terminator" && s.content.trim() !== "" && s.content !== "TERMINATE");
  const content = t.finalAnswer ?? fallback?.content ?? "";
  const prompt = info.steps.reduce((a, s) => a + s.tokens_in, 0);
  const completion = info.steps.reduce((a, s) => a + s.tokens_out, 0);
  const usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  return { info, content, usage, finish: t.endedBy === "maxSteps" ? "length" : "stop" };
}

function logCompletion(req: FastifyRequest, p: Prepared, t: OrchestrationTrace, stop: string, stream: boolean): void {
  req.log.info(
    {
      id: p.id,
      ...(p.caller ? { key: p.caller.id } : {}),
      steps: t.steps.length,
      cost: t.cost,
      stop,
      agents: t.steps.map((s) => s.agent),
      ...(stream ? { stream: true } : {}),
    },
    "completion",
  );
}

/** The whole completion in one JSON body. */
async function answerJson(ctx: CompletionContext, req: FastifyRequest, reply: FastifyReply, p: Prepared, ep: RequestEpisode) {
  let t: OrchestrationTrace;
  try {
    t = await ep.run();
  } catch (e) {
    const c = ep.cancelled(e);
    if (!c) throw e;
    return ctx.fail(req, reply, c[0], c[1], c[2], null, c[3]);
  } finally {
    await ep.settle();
  }
  recordTrace(ctx.metrics, t);
  const rejected = episodeRejection(t);
  if (rejected !== undefined) return ctx.fail(req, reply, 400, "invalid_request_error", rejected, "messages", "upstream_rejected");
  const d = describeTrace(ctx.orch, t, p);
  logCompletion(req, p, t, d.info.stop_reason, false);
  return {
    id: p.id,
    object: "chat.completion",
    created: p.created,
    model: p.body.model,
    system_fingerprint: fingerprintOf(ctx.orch),
    choices: [{ index: 0, message: { role: "assistant", content: d.content, refusal: null }, logprobs: null, finish_reason: d.finish }],
    usage: d.usage,
    maestro: d.info,
  };
}

/**
 * The completion as server-sent events: headers and the role chunk now, `: keep-alive` comments while
 * the episode runs, then the answer in one content chunk, the finish chunk (with the maestro object),
 * usage if asked, [DONE]. An error after the headers went out is sent as an error event.
 */
function answerStream(ctx: CompletionContext, req: FastifyRequest, reply: FastifyReply, p: Prepared, ep: RequestEpisode) {
  const { metrics, redact } = ctx;
  const sse = new PassThrough();
  const event = (data: unknown) => sse.write(`data: ${redact(JSON.stringify(data))}\n\n`);
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    event({
      id: p.id,
      object: "chat.completion.chunk",
      created: p.created,
      model: p.body.model,
      system_fingerprint: fingerprintOf(ctx.orch),
      choices,
      ...extra,
    });
  chunk([{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]);
  const beat = setInterval(() => sse.write(": keep-alive\n\n"), ctx.heartbeatMs);
  const answer = (t: OrchestrationTrace) => {
    recordTrace(metrics, t);
    const rejected = episodeRejection(t);
    if (rejected !== undefined) {
      metrics.errors.inc({ route: "/v1/chat/completions", type: "invalid_request_error" });
      event(errorBody(rejected, "invalid_request_error", "messages", "upstream_rejected"));
      return;
    }
    const d = describeTrace(ctx.orch, t, p);
    logCompletion(req, p, t, d.info.stop_reason, true);
    if (d.content !== "") chunk([{ index: 0, delta: { content: d.content }, logprobs: null, finish_reason: null }]);
    chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: d.finish }], { maestro: d.info });
    if (p.body.stream_options?.include_usage) chunk([], { usage: d.usage });
    sse.write("data: [DONE]\n\n");
  };
  const failed = (e: unknown) => {
    const c = ep.cancelled(e);
    const msg = c ? c[2] : `the orchestrator failed: ${e instanceof Error ? e.message : String(e)}`;
    const type = c ? c[1] : "server_error";
    metrics.errors.inc({ route: "/v1/chat/completions", type });
    if (c?.[1] === "client_closed") return;
    if (!c) req.log.error({ err: { message: redact(msg) } }, "request failed");
    event(errorBody(msg, type, null, c ? c[3] : null));
  };
  void ep
    .run()
    .then(answer)
    .catch(failed)
    .finally(async () => {
      clearInterval(beat);
      sse.end();
      await ep.settle();
    });
  reply.header("cache-control", "no-cache").header("x-accel-buffering", "no").type("text/event-stream; charset=utf-8");
  return reply.send(sse);
}

/** The `system_fingerprint` of every completion: the run and the checkpoint it serves. */
export function fingerprintOf(orch: Orchestrator): string {
  return `maestro-${orch.config.name}-u${orch.checkpointUpdate}`;
}

/** Registers POST /v1/chat/completions, its body checked against the zod request schema's JSON schema. */
export function registerCompletions(app: FastifyInstance, ctx: CompletionContext): void {
  app.post("/v1/chat/completions", { schema: { body: chatBodyJsonSchema } }, async (req, reply) => {
    const p = prepare(ctx, req);
    const admission = p.caller ? await admit(ctx, p.caller, reply) : undefined;
    const ep = new RequestEpisode(ctx, req, reply, p, admission);
    return p.body.stream ? answerStream(ctx, req, reply, p, ep) : answerJson(ctx, req, reply, p, ep);
  });
}
