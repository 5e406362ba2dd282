/**
 * `maestro serve`: a trained orchestrator behind an OpenAI-compatible HTTP endpoint (fastify, with
 * JSON-schema validation; Prometheus metrics through prom-client). Every request runs one episode of
 * the run's {@link Orchestrator} — this file owns only the HTTP side: parsing and checking requests,
 * the cost knob, the concurrency bound, streaming, metrics, key redaction and draining.
 *
 *   POST /v1/chat/completions  the last user message is the task; the reply's content is the final answer
 *   GET  /v1/models            the served model id ("maestro") and what it is
 *   GET  /health               liveness + load
 *   GET  /metrics              Prometheus text format
 */
import { randomUUID } from "node:crypto";
import { PassThrough } from "node:stream";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { InputError } from "../core/errors.js";
import { Limiter } from "../llm/limiter.js";
import { loadOrchestrator, type LoadOrchestratorOptions, type OrchestrationTrace, type Orchestrator } from "./orchestrate.js";

/** The model id the endpoint serves (`maestro`, or `maestro:budget=<d>` / `maestro:lambda=<λ>`). */
export const SERVED_MODEL = "maestro";

export interface ServeOptions {
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Port (default 8000; 0 = any free port). */
  port?: number;
  /** Episodes run at once; further requests wait in FIFO order (default: the run's llm.maxConcurrency, 1 without an llm section). */
  concurrency?: number;
  /** Largest request body in bytes (default 1 MiB); a larger one gets a 400. */
  bodyLimit?: number;
  /** Interval of `: keep-alive` comments on an SSE stream while its episode runs (default 15 s). */
  heartbeatMs?: number;
  /** Log level of the request log (JSON lines on `logStream`, default stderr); "silent" for none. */
  logLevel?: "fatal" | "error" | "warn" | "info" | "debug" | "silent";
  logStream?: NodeJS.WritableStream;
}

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

// ---------------------------------------------------------------- request schema (validated by fastify's ajv)

const textPart = {
  type: "object",
  required: ["type"],
  properties: { type: { type: "string" }, text: { type: "string" } },
} as const;

const chatBodySchema = {
  type: "object",
  required: ["model", "messages"],
  properties: {
    model: { type: "string", minLength: 1 },
    messages: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        required: ["role"],
        properties: {
          role: { type: "string", enum: ["system", "developer", "user", "assistant", "tool", "function"] },
          content: { anyOf: [{ type: "string" }, { type: "array", items: textPart }, { type: "null" }] },
          name: { type: "string" },
        },
      },
    },
    temperature: { type: "number", minimum: 0, maximum: 2 },
    seed: { type: "integer" },
    n: { type: "integer", minimum: 1, maximum: 1 },
    stream: { type: "boolean" },
    stream_options: {
      anyOf: [{ type: "object", properties: { include_usage: { type: "boolean" } } }, { type: "null" }],
    },
    maestro: {
      type: "object",
      additionalProperties: false,
      properties: { budget: { type: "number" }, lambda: { type: "number" } },
    },
  },
} as const;

interface ChatBody {
  model: string;
  messages: Array<{ role: string; content?: string | Array<{ type: string; text?: string }> | null }>;
  temperature?: number;
  seed?: number;
  n?: number;
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  maestro?: { budget?: number; lambda?: number };
}

/** A client error with an OpenAI-style body. */
class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

const errorBody = (message: string, type: string, param: string | null = null, code: string | null = null) => ({
  error: { message, type, param, code },
});

/** The task of a request: the text of its last user message. */
export function taskOf(messages: ChatBody["messages"]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role !== "user") continue;
    let text: string;
    if (typeof m.content === "string") text = m.content;
    else if (Array.isArray(m.content)) {
      const other = m.content.find((p) => p.type !== "text" || typeof p.text !== "string");
      if (other) throw new RequestError(400, `messages[${i}].content: only text parts are supported (got a "${other.type}" part)`, `messages[${i}].content`);
      text = m.content.map((p) => p.text!).join("\n");
    } else text = "";
    if (text.trim() === "") throw new RequestError(400, `messages[${i}]: the last user message is empty; it is the task`, `messages[${i}].content`);
    return text;
  }
  throw new RequestError(400, "messages: no user message; the last user message is the task", "messages");
}

/** The cost knob a request asks for: from `model: "maestro:budget=0.002"` and/or `maestro: {budget}`. */
export function requestedKnob(body: Pick<ChatBody, "model" | "maestro">): { name: "budget" | "lambda"; value: number } | undefined {
  let fromModel: { name: "budget" | "lambda"; value: number } | undefined;
  if (body.model !== SERVED_MODEL) {
    if (!body.model.startsWith(`${SERVED_MODEL}:`)) {
      throw new RequestError(404, `model "${body.model}" does not exist; this server serves "${SERVED_MODEL}" (see GET /v1/models)`, "model", "model_not_found");
    }
    const m = /^maestro:(budget|lambda)=(.+)$/.exec(body.model);
    const value = m ? Number(m[2]) : NaN;
    if (!m || m[2]!.trim() === "" || !Number.isFinite(value)) {
      throw new RequestError(400, `model "${body.model}": expected "${SERVED_MODEL}", "${SERVED_MODEL}:budget=<number>" or "${SERVED_MODEL}:lambda=<number>"`, "model");
    }
    fromModel = { name: m[1] as "budget" | "lambda", value };
  }
  const b = body.maestro ?? {};
  if (b.budget !== undefined && b.lambda !== undefined) throw new RequestError(400, "maestro: give budget or lambda, not both", "maestro");
  const fromBody = b.budget !== undefined ? { name: "budget" as const, value: b.budget } : b.lambda !== undefined ? { name: "lambda" as const, value: b.lambda } : undefined;
  if (fromModel && fromBody && (fromModel.name !== fromBody.name || fromModel.value !== fromBody.value)) {
    throw new RequestError(400, `model "${body.model}" and maestro.${fromBody.name}=${fromBody.value} disagree; give the knob once`, "maestro");
  }
  return fromModel ?? fromBody;
}

/** Checks a requested knob against the knob the loaded policy takes. */
export function checkKnob(orch: Pick<Orchestrator, "knob">, k: { name: string; value: number } | undefined): number | undefined {
  const knob = orch.knob;
  if (!k) {
    if (!knob) return undefined;
    throw new RequestError(
      400,
      `the served policy is budget-conditioned: give its ${knob.name} in [${knob.min}, ${knob.max}], as model "${SERVED_MODEL}:${knob.name}=<value>" or "maestro": {"${knob.name}": <value>}`,
      knob.name,
    );
  }
  if (!knob) {
    throw new RequestError(400, `${k.name}=${k.value}: the served policy is not budget-conditioned; it takes no ${k.name} (use model "${SERVED_MODEL}")`, k.name);
  }
  if (k.name !== knob.name) {
    throw new RequestError(400, `${k.name}=${k.value}: the served policy is conditioned on ${knob.name}, not ${k.name} (allowed ${knob.name} range [${knob.min}, ${knob.max}])`, k.name);
  }
  if (!(k.value >= knob.min && k.value <= knob.max)) {
    throw new RequestError(400, `${k.name}=${k.value} is out of range: the policy was trained for ${knob.name} in [${knob.min}, ${knob.max}]`, k.name);
  }
  return k.value;
}

/** Values of every API-key variable a config names (`apiKeyEnv` at any depth), to scrub from output. */
export function secretValues(config: unknown, env: NodeJS.ProcessEnv = process.env): string[] {
  const names = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (k === "apiKeyEnv" && typeof x === "string") names.add(x);
        else walk(x);
      }
    }
  };
  walk(config);
  return [...names].map((n) => env[n]).filter((s): s is string => typeof s === "string" && s.length >= 4);
}

function makeRedactor(secrets: readonly string[]): (text: string) => string {
  if (secrets.length === 0) return (t) => t;
  return (t) => {
    for (const s of secrets) if (t.includes(s)) t = t.split(s).join("[redacted]");
    return t;
  };
}

// ---------------------------------------------------------------- metrics

function makeMetrics() {
  const register = new Registry();
  collectDefaultMetrics({ register, prefix: "maestro_" });
  return {
    register,
    requests: new Counter({ name: "maestro_http_requests_total", help: "HTTP requests answered, by route and status code.", labelNames: ["method", "route", "status"], registers: [register] }),
    errors: new Counter({ name: "maestro_http_request_errors_total", help: "Requests answered with an error, by route and OpenAI error type (invalid_request_error, not_found_error, server_error, client_closed).", labelNames: ["route", "type"], registers: [register] }),
    latency: new Histogram({
      name: "maestro_http_request_duration_seconds",
      help: "Time from request to the end of the response, by route (completions: queueing + the whole episode).",
      labelNames: ["route"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [register],
    }),
    episodes: new Counter({ name: "maestro_episodes_total", help: "Episodes completed, by what ended them (terminator, solved, max_steps).", labelNames: ["stop_reason"], registers: [register] }),
    cost: new Counter({ name: "maestro_cost_total", help: "Summed episode cost under the run's cost rule (USD for price-based LLM costs).", registers: [register] }),
    steps: new Histogram({ name: "maestro_episode_steps", help: "Agent calls per episode.", buckets: [1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30], registers: [register] }),
    agentCalls: new Counter({ name: "maestro_agent_calls_total", help: "Agent calls, by agent.", labelNames: ["agent"], registers: [register] }),
    agentErrors: new Counter({ name: "maestro_agent_error_turns_total", help: "Agent calls that failed and became error turns, by agent.", labelNames: ["agent"], registers: [register] }),
    tokens: new Counter({ name: "maestro_tokens_total", help: "LLM tokens of all agent calls (cache hits included), by kind (prompt, completion).", labelNames: ["kind"], registers: [register] }),
    inFlight: new Gauge({ name: "maestro_episodes_in_flight", help: "Episodes running now.", registers: [register] }),
    queued: new Gauge({ name: "maestro_requests_queued", help: "Completion requests waiting for a free episode slot.", registers: [register] }),
  };
}

// ---------------------------------------------------------------- the server

export interface MaestroServer {
  app: FastifyInstance;
  /** http://host:port (the OpenAI base URL is `${url}/v1`). */
  url: string;
  orchestrator: Orchestrator;
  concurrency: number;
  /** Requests being answered now (queued or running). */
  readonly inFlight: number;
  /** Stops accepting requests, finishes the ones in flight, then disposes the orchestrator. */
  close(): Promise<void>;
}

/** Builds the fastify app for a loaded orchestrator (not listening yet). */
export function buildServer(orch: Orchestrator, o: ServeOptions = {}): { app: FastifyInstance; concurrency: number; inFlight: () => number } {
  const concurrency = o.concurrency ?? orch.config.llm?.maxConcurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new InputError(`concurrency ${concurrency}: expected a positive integer`);
  const bodyLimit = o.bodyLimit ?? 1024 * 1024;
  const heartbeatMs = o.heartbeatMs ?? 15_000;
  const redact = makeRedactor(secretValues(orch.config));
  const metrics = makeMetrics();
  const limiter = new Limiter(concurrency);
  const runName = orch.config.name;
  const fingerprint = `maestro-${runName}-u${orch.checkpointUpdate}`;
  let sampled = 0;

  const app = Fastify({
    bodyLimit,
    logger:
      o.logLevel === "silent"
        ? false
        : {
            level: o.logLevel ?? "info",
            stream: o.logStream ?? process.stderr,
            // the request line, with a key someone put into the URL scrubbed like everything else
            serializers: { req: (r: { method: string; url: string; ip?: string }) => ({ method: r.method, url: redact(r.url), remoteAddress: r.ip }) },
          },
    // no type coercion: "temperature": "0.5" or "messages": "hi" are wrong types (400), not fixed up
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    // a server that is draining answers new requests with 503 (and closes idle keep-alive sockets)
    return503OnClosing: true,
    forceCloseConnections: "idle",
  });

  // JSON only: without this, fastify would take text/plain bodies and fail them later as "body must be object"
  app.removeContentTypeParser("text/plain");
  // draining (close() called): the responses still in flight are the last on their connection, so a
  // client's kept-alive socket does not hold the process open after the last one is answered
  let draining = false;
  app.addHook("preClose", async () => {
    draining = true;
  });
  // every JSON body leaves through here: scrub API-key values, whatever produced them
  app.addHook("onSend", async (_req, reply, payload) => {
    if (draining) reply.header("connection", "close");
    return typeof payload === "string" ? redact(payload) : payload;
  });
  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url ?? "unmatched";
    metrics.requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.latency.observe({ route }, reply.elapsedTime / 1000);
    // a stream whose headers went out before the drain began did not say "connection: close"
    if (draining) app.server.closeIdleConnections();
  });

  const fail = (req: FastifyRequest, reply: FastifyReply, status: number, type: string, message: string, param: string | null = null, code: string | null = null) => {
    metrics.errors.inc({ route: req.routeOptions.url ?? "unmatched", type });
    return reply.code(status).type("application/json").send(errorBody(redact(message), type, param, code));
  };

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof RequestError) return fail(req, reply, err.status, err.status === 404 ? "not_found_error" : "invalid_request_error", err.message, err.param, err.code);
    if (err.validation) {
      const v = err.validation[0];
      const param = v?.instancePath ? v.instancePath.slice(1).replace(/\//g, ".") : null;
      return fail(req, reply, 400, "invalid_request_error", `invalid request: ${err.message}`, param);
    }
    if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      return fail(req, reply, 400, "invalid_request_error", `request body too large: the limit is ${bodyLimit} bytes (maestro serve --body-limit)`, null, "request_too_large");
    }
    if (err.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
      return fail(req, reply, 400, "invalid_request_error", "the request body must be JSON (Content-Type: application/json)");
    }
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      return fail(req, reply, 400, "invalid_request_error", `invalid request: ${err.message}`);
    }
    req.log.error({ err: { message: redact(err.message), code: err.code } }, "request failed");
    return fail(req, reply, 500, "server_error", `the orchestrator failed: ${err.message}`);
  });
  app.setNotFoundHandler((req, reply) => fail(req, reply, 404, "not_found_error", `no route ${req.method} ${req.url} (maestro serves POST /v1/chat/completions, GET /v1/models, /health, /metrics)`));

  const modelEntry = () => ({
    id: SERVED_MODEL,
    object: "model",
    created: 0,
    owned_by: "maestro",
    maestro: {
      run: runName,
      checkpoint_update: orch.checkpointUpdate,
      agents: orch.agentNames,
      knob: orch.knob ?? null,
      concurrency,
    },
  });
  app.get("/v1/models", async () => ({ object: "list", data: [modelEntry()] }));
  app.get("/v1/models/:id", async (req) => {
    const id = (req.params as { id: string }).id;
    if (id !== SERVED_MODEL) throw new RequestError(404, `model "${id}" does not exist; this server serves "${SERVED_MODEL}"`, "model", "model_not_found");
    return modelEntry();
  });
  app.get("/health", async () => ({ status: "ok", run: runName, checkpoint_update: orch.checkpointUpdate, backend: orch.backend, running: limiter.running, queued: limiter.waiting }));
  app.get("/metrics", async (_req, reply) => {
    metrics.queued.set(limiter.waiting);
    reply.type(metrics.register.contentType);
    return metrics.register.metrics();
  });

  /** Runs one request's episode under the concurrency bound; undefined if the client left while it waited. */
  const runEpisode = async (task: string, id: string, greedy: boolean, seed: number, knob: number | undefined, gone: () => boolean): Promise<OrchestrationTrace | undefined> => {
    metrics.queued.set(limiter.waiting + 1);
    return limiter.run(async () => {
      metrics.queued.set(limiter.waiting);
      if (gone()) return undefined;
      metrics.inFlight.inc();
      try {
        return await orch.solve({ id, prompt: task }, { greedy, seed, ...(knob !== undefined ? { knob } : {}) });
      } finally {
        metrics.inFlight.dec();
      }
    });
  };

  const record = (t: OrchestrationTrace) => {
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
  };

  const describe = (t: OrchestrationTrace, seed: number, greedy: boolean, knob: { name: string; value: number } | undefined) => {
    const info: MaestroInfo = {
      run: runName,
      checkpoint_update: orch.checkpointUpdate,
      seed,
      greedy,
      knob: knob ?? null,
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
    const fallback = [...t.steps].reverse().find((s) => s.error === undefined && s.agent !== "terminator" && s.content.trim() !== "" && s.content !== "TERMINATE");
    const content = t.finalAnswer ?? fallback?.content ?? "";
    const usage = {
      prompt_tokens: info.steps.reduce((a, s) => a + s.tokens_in, 0),
      completion_tokens: info.steps.reduce((a, s) => a + s.tokens_out, 0),
      total_tokens: 0,
    };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    return { info, content, usage, finish: t.endedBy === "maxSteps" ? "length" : "stop" };
  };

  app.post("/v1/chat/completions", { schema: { body: chatBodySchema } }, async (req, reply) => {
    const body = req.body as ChatBody;
    const knobReq = requestedKnob(body);
    const knob = checkKnob(orch, knobReq);
    const task = taskOf(body.messages);
    const greedy = !(body.temperature !== undefined && body.temperature > 0);
    // seed: the request's own; else the server's (greedy: as `maestro orchestrate` with that seed),
    // else for the k-th sampled request without a seed, server seed + k (reported in maestro.seed)
    const seed = body.seed ?? (greedy ? orch.seed : orch.seed + ++sampled);
    const id = `chatcmpl-${randomUUID().replace(/-/g, "")}`;
    const created = Math.floor(Date.now() / 1000);
    const model = body.model;
    let left = false;
    reply.raw.once("close", () => {
      if (!reply.raw.writableFinished) left = true;
    });
    if (!body.stream) {
      const t = await runEpisode(task, id, greedy, seed, knob, () => left);
      if (!t) return fail(req, reply, 499, "client_closed", "the client closed the connection before its episode started");
      record(t);
      const d = describe(t, seed, greedy, knobReq);
      req.log.info({ id, steps: t.steps.length, cost: t.cost, stop: d.info.stop_reason, agents: t.steps.map((s) => s.agent) }, "completion");
      return {
        id,
        object: "chat.completion",
        created,
        model,
        system_fingerprint: fingerprint,
        choices: [{ index: 0, message: { role: "assistant", content: d.content, refusal: null }, logprobs: null, finish_reason: d.finish }],
        usage: d.usage,
        maestro: d.info,
      };
    }

    // stream: headers and the role chunk now, `: keep-alive` comments while the episode runs, then
    // the answer in one content chunk, the finish chunk (with the maestro object), usage if asked, [DONE]
    const sse = new PassThrough();
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      `data: ${redact(JSON.stringify({ id, object: "chat.completion.chunk", created, model, system_fingerprint: fingerprint, choices, ...extra }))}\n\n`;
    sse.write(chunk([{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]));
    const beat = setInterval(() => sse.write(": keep-alive\n\n"), heartbeatMs);
    const done = runEpisode(task, id, greedy, seed, knob, () => left)
      .then((t) => {
        if (!t) {
          metrics.errors.inc({ route: "/v1/chat/completions", type: "client_closed" });
          return;
        }
        record(t);
        const d = describe(t, seed, greedy, knobReq);
        req.log.info({ id, steps: t.steps.length, cost: t.cost, stop: d.info.stop_reason, agents: t.steps.map((s) => s.agent), stream: true }, "completion");
        if (d.content !== "") sse.write(chunk([{ index: 0, delta: { content: d.content }, logprobs: null, finish_reason: null }]));
        sse.write(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: d.finish }], { maestro: d.info }));
        if (body.stream_options?.include_usage) sse.write(chunk([], { usage: d.usage }));
        sse.write("data: [DONE]\n\n");
      })
      .catch((e: unknown) => {
        const msg = e instanceof Error ? e.message : String(e);
        metrics.errors.inc({ route: "/v1/chat/completions", type: "server_error" });
        req.log.error({ err: { message: redact(msg) } }, "request failed");
        sse.write(`data: ${redact(JSON.stringify(errorBody(`the orchestrator failed: ${msg}`, "server_error")))}\n\n`);
      })
      .finally(() => {
        clearInterval(beat);
        sse.end();
      });
    void done;
    reply.header("cache-control", "no-cache").header("x-accel-buffering", "no").type("text/event-stream; charset=utf-8");
    return reply.send(sse);
  });

  return { app, concurrency, inFlight: () => limiter.running + limiter.waiting };
}

/** Starts serving a loaded orchestrator; `close()` drains and disposes it. */
export async function startServer(orch: Orchestrator, o: ServeOptions = {}): Promise<MaestroServer> {
  const { app, concurrency, inFlight } = buildServer(orch, o);
  const host = o.host ?? "127.0.0.1";
  await app.listen({ host, port: o.port ?? 8000 });
  const addr = app.server.address();
  const port = addr && typeof addr === "object" ? addr.port : o.port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    app,
    url: `http://${shownHost}:${port}`,
    orchestrator: orch,
    concurrency,
    get inFlight() {
      return inFlight();
    },
    close() {
      closing ??= app.close().then(() => orch.dispose());
      return closing;
    },
  };
}

/** Loads the last checkpoint of `runDir` and serves it (what `maestro serve` does). */
export async function serveRun(runDir: string, o: ServeOptions & LoadOrchestratorOptions = {}): Promise<MaestroServer> {
  const orch = await loadOrchestrator(runDir, { ...(o.seed !== undefined ? { seed: o.seed } : {}), ...(o.sets ? { sets: o.sets } : {}) });
  try {
    return await startServer(orch, o);
  } catch (e) {
    orch.dispose();
    throw e;
  }
}
