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
 *
 * Serving a team (docs/serving.md): API keys (hashed in a keys file, or one from an environment
 * variable) with per-key budgets, rate and concurrency limits (in memory + a usage file, or in Redis
 * for replicas), a Host-header check against DNS rebinding, CORS only for the origins configured.
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import os from "node:os";
import { PassThrough } from "node:stream";
import cors from "@fastify/cors";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { InputError } from "../core/errors.js";
import { Limiter } from "../llm/limiter.js";
import { KeyRing, type Caller } from "./keys.js";
import { LocalLimitStore, type LimitStore } from "./limits.js";
import { episodeRejection, loadOrchestrator, NotInTableError, type LoadOrchestratorOptions, type OrchestrationTrace, type Orchestrator } from "./orchestrate.js";

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
  /** API keys; requests to /v1 (and /metrics unless `metricsPublic`) need one. Absent = no authentication. */
  keys?: KeyRing;
  /** Where the keys' spend, rate windows and concurrency live (default: in memory, no usage file). */
  limits?: LimitStore;
  /** Serve off loopback without keys (anyone who reaches the port spends the run's LLM budget). */
  insecureNoAuth?: boolean;
  /** Host-header names accepted besides loopback names (and, on a wildcard address, this machine's names); "*" = any. */
  allowedHosts?: readonly string[];
  /** Origins allowed to call from a browser (CORS); none by default. */
  corsOrigins?: readonly string[];
  /** /metrics without a key even when keys are configured (for a scraper that cannot send one). */
  metricsPublic?: boolean;
  /** A request must be received whole (headers and body) within this many ms (default 30 s); else 408. */
  bodyTimeoutMs?: number;
  /** On close(): how long requests in flight may take before their episodes are cancelled and connections closed (default 30 s). */
  graceMs?: number;
}

/** Whether a listen address or Host name is loopback only. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === "::ffff:127.0.0.1";
}

/** The Host-header names a server bound to `host` answers (lower case, without port or brackets); undefined = any. */
export function allowedHostNames(host: string, extra: readonly string[] = []): Set<string> | undefined {
  if (extra.includes("*")) return undefined;
  const names = new Set(["localhost", "127.0.0.1", "::1", ...extra.map((h) => h.toLowerCase().replace(/^\[|\]$/g, ""))]);
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (bare === "0.0.0.0" || bare === "::") {
    // a wildcard address: every address of this machine, and its host name
    names.add(os.hostname().toLowerCase());
    for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) names.add(a.address.toLowerCase().replace(/%.*$/, ""));
  } else names.add(bare);
  return names;
}

/** The host name of a Host header (no port, no IPv6 brackets, lower case). */
function hostOf(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(1, h.indexOf("]") > 0 ? h.indexOf("]") : undefined);
  const i = h.lastIndexOf(":");
  return i >= 0 && h.indexOf(":") === i ? h.slice(0, i) : h;
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
    /** OpenAI error type; default by status (404 not_found_error, 429 rate_limit_error, 5xx server_error, else invalid_request_error). */
    readonly type: string = status === 404 ? "not_found_error" : status === 429 ? "rate_limit_error" : status >= 500 ? "server_error" : "invalid_request_error",
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

/** Scrubs the given secrets, and anything shaped like a maestro API key (a client may paste one into a URL). */
function makeRedactor(secrets: readonly string[]): (text: string) => string {
  return (t) => {
    for (const s of secrets) if (t.includes(s)) t = t.split(s).join("[redacted]");
    return t.includes("mk-") ? t.replace(/mk-[A-Za-z0-9_-]{16,}/g, "mk-[redacted]") : t;
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
    // per key: the operator's id for it, never the key
    keyRequests: new Counter({ name: "maestro_key_requests_total", help: "Completion requests of each API key (by the key's id), by status code.", labelNames: ["key", "status"], registers: [register] }),
    keySpend: new Counter({ name: "maestro_key_spend_total", help: "Spend of each API key's requests answered by this server (run's cost units; $ for priced LLM runs; cache hits cost 0).", labelNames: ["key"], registers: [register] }),
    keyRejections: new Counter({ name: "maestro_key_rejections_total", help: "Requests of each API key refused or stopped by its limits, by reason (budget, rate, concurrency).", labelNames: ["key", "reason"], registers: [register] }),
    authFailures: new Counter({ name: "maestro_auth_failures_total", help: "Requests refused for their API key, by reason (missing, invalid, revoked), and for their Host header (host).", labelNames: ["reason"], registers: [register] }),
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
  /**
   * Stops accepting requests and finishes the ones in flight; after the grace period (ServeOptions
   * graceMs) their episodes are cancelled and every connection, finished or not, is closed. Then
   * disposes the orchestrator and closes the limit store.
   */
  close(): Promise<void>;
}

/** Why an episode was cancelled. */
class Cancelled extends Error {
  constructor(readonly why: "client_closed" | "budget" | "shutdown", message: string) {
    super(message);
  }
}

interface Built {
  app: FastifyInstance;
  concurrency: number;
  inFlight: () => number;
  /** Cancels every episode in flight (the grace period of a shutdown is over). */
  cancelAll: () => void;
}

/** Builds the fastify app for a loaded orchestrator (not listening yet). */
export function buildServer(orch: Orchestrator, o: ServeOptions = {}): Built {
  const concurrency = o.concurrency ?? orch.config.llm?.maxConcurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new InputError(`concurrency ${concurrency}: expected a positive integer`);
  const bodyLimit = o.bodyLimit ?? 1024 * 1024;
  const heartbeatMs = o.heartbeatMs ?? 15_000;
  const bodyTimeoutMs = o.bodyTimeoutMs ?? 30_000;
  if (!(bodyTimeoutMs > 0)) throw new InputError(`body timeout ${bodyTimeoutMs} ms: expected a positive number`);
  const redact = makeRedactor(secretValues(orch.config));
  const metrics = makeMetrics();
  const limiter = new Limiter(concurrency);
  const runName = orch.config.name;
  const fingerprint = `maestro-${runName}-u${orch.checkpointUpdate}`;
  const keys = o.keys?.configured ? o.keys : undefined;
  const limits = o.limits ?? LocalLimitStore.memory();
  const hosts = allowedHostNames(o.host ?? "127.0.0.1", o.allowedHosts);
  const episodes = new Set<AbortController>();
  let sampled = 0;

  if (keys) {
    // each key's spend in its current budget period, read from the store (shared by all replicas with Redis)
    new Gauge({
      name: "maestro_key_period_spend",
      help: "Spend of each API key in its current budget period, all servers sharing the store (run's cost units).",
      labelNames: ["key"],
      registers: [metrics.register],
      async collect() {
        const callers = keys.records.map((k) => ({ id: k.id, budget: k.budget, period: k.period, rpm: k.rpm, concurrency: k.concurrency }));
        try {
          for (const [id, v] of Object.entries(await limits.spent(callers))) this.set({ key: id }, v);
        } catch {
          // the store is unreachable: the gauge keeps its last values (requests fail with 503 meanwhile)
        }
      },
    });
    new Gauge({
      name: "maestro_key_budget",
      help: "Budget of each API key per period (keys without a budget are not listed).",
      labelNames: ["key", "period"],
      registers: [metrics.register],
      collect() {
        this.reset();
        for (const k of keys.records) if (k.budget !== null && !k.revoked) this.set({ key: k.id, period: k.period }, k.budget);
      },
    });
  }

  const app = Fastify({
    bodyLimit,
    // a request must arrive whole within bodyTimeoutMs (else 408 and the connection closes): a client
    // that sends half a body cannot hold a connection, or a shutdown, open; checked every ≤ 1 s
    serverFactory: (handler) =>
      http.createServer(
        {
          requestTimeout: bodyTimeoutMs,
          headersTimeout: Math.min(bodyTimeoutMs, 60_000),
          connectionsCheckingInterval: Math.max(50, Math.min(1000, bodyTimeoutMs / 4)),
        },
        handler,
      ),
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
  app.decorateRequest("caller", undefined);

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
    const caller = (req as FastifyRequest & { caller?: Caller }).caller;
    if (caller && route === "/v1/chat/completions") metrics.keyRequests.inc({ key: caller.id, status: String(reply.statusCode) });
    // a stream whose headers went out before the drain began did not say "connection: close"
    if (draining) app.server.closeIdleConnections();
  });

  const fail = (req: FastifyRequest, reply: FastifyReply, status: number, type: string, message: string, param: string | null = null, code: string | null = null) => {
    metrics.errors.inc({ route: req.routeOptions.url ?? "unmatched", type });
    return reply.code(status).type("application/json").send(errorBody(redact(message), type, param, code));
  };

  // Host header first (DNS rebinding: a page whose name resolves to this machine sends its own name),
  // then the API key, before any body is read
  app.addHook("onRequest", async (req, reply) => {
    if (hosts) {
      const host = req.headers.host;
      if (!host || !hosts.has(hostOf(host))) {
        metrics.authFailures.inc({ reason: "host" });
        return fail(req, reply, 403, "invalid_request_error", `Host header ${JSON.stringify(host ?? "")} is not a name of this server; allowed: ${[...hosts].join(", ")} (maestro serve --allowed-host NAME)`, null, "host_not_allowed");
      }
    }
    if (!keys || req.method === "OPTIONS") return;
    const path = req.url.split("?")[0]!;
    if (!(path.startsWith("/v1/") || (path === "/metrics" && !o.metricsPublic))) return;
    const auth = keys.authenticate(req.headers.authorization);
    if (!auth.ok) {
      metrics.authFailures.inc({ reason: auth.reason });
      const message =
        auth.reason === "missing"
          ? "missing API key: send it as the header Authorization: Bearer <key>"
          : auth.reason === "revoked"
            ? `this API key (id "${auth.id}") was revoked; ask the operator for a new one`
            : "invalid API key: no key of this server matches it";
      reply.header("www-authenticate", 'Bearer realm="maestro"');
      return fail(req, reply, 401, "invalid_request_error", message, null, "invalid_api_key");
    }
    (req as FastifyRequest & { caller?: Caller }).caller = auth.caller;
  });
  if (o.corsOrigins && o.corsOrigins.length > 0) {
    void app.register(cors, { origin: [...o.corsOrigins], methods: ["GET", "POST"], allowedHeaders: ["authorization", "content-type"], maxAge: 600 });
  }

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof RequestError) return fail(req, reply, err.status, err.type, err.message, err.param, err.code);
    if (err instanceof NotInTableError) return fail(req, reply, 400, "invalid_request_error", err.publicMessage, "messages");
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

  /** One request's episode under the concurrency bound; cancelled through `ctl` (client gone, budget spent, shutdown). */
  const runEpisode = async (
    task: string,
    id: string,
    greedy: boolean,
    seed: number,
    knob: number | undefined,
    ctl: AbortController,
    onOutput: (cost: number, cached: boolean) => void,
  ): Promise<OrchestrationTrace> => {
    metrics.queued.set(limiter.waiting + 1);
    return limiter.run(async () => {
      metrics.queued.set(limiter.waiting);
      ctl.signal.throwIfAborted();
      metrics.inFlight.inc();
      try {
        return await orch.solve(
          { id, prompt: task },
          {
            greedy,
            seed,
            signal: ctl.signal,
            onOutput: (out) => onOutput(out.cost, out.meta?.cached === true),
            ...(knob !== undefined ? { knob } : {}),
          },
        );
      } finally {
        metrics.inFlight.dec();
      }
    }, ctl.signal);
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

  /** The key's admission: a 429 (or 503 when the store cannot answer) as a thrown RequestError. */
  const admit = async (caller: Caller, reply: FastifyReply) => {
    let a;
    try {
      a = await limits.admit(caller);
    } catch (e) {
      throw new RequestError(503, `the key store is unavailable (${(e as Error).message}); try again`, null, "store_unavailable");
    }
    if (!a.ok) {
      metrics.keyRejections.inc({ key: caller.id, reason: a.reason });
      if (a.retryAfterS !== undefined) reply.header("retry-after", String(a.retryAfterS));
      throw new RequestError(429, a.message, null, a.reason === "budget" ? "insufficient_quota" : a.reason === "rate" ? "rate_limit_exceeded" : "concurrency_limit_exceeded");
    }
    return a;
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
    const caller = (req as FastifyRequest & { caller?: Caller }).caller;
    const admission = caller ? await admit(caller, reply) : undefined;

    // the episode stops when the client goes away, when the key's budget is spent, or at the end of a shutdown's grace
    const ctl = new AbortController();
    episodes.add(ctl);
    reply.raw.once("close", () => {
      if (!reply.raw.writableFinished) ctl.abort(new Cancelled("client_closed", "the client closed the connection"));
    });
    // spend: every agent output's cost as it arrives (cache hits cost nothing)
    let spent = 0;
    const onOutput = (cost: number, cached: boolean) => {
      if (cached || !(cost > 0)) return;
      spent += cost;
      if (caller?.budget != null && admission && admission.spent + spent > caller.budget && !ctl.signal.aborted) {
        ctl.abort(new Cancelled("budget", `key "${caller.id}": budget exhausted during this request: the key had spent ${admission.spent} of ${caller.budget}; this request's episode was stopped after spending ${spent.toPrecision(4)}`));
      }
    };
    const settle = async () => {
      episodes.delete(ctl);
      await admission?.release();
      if (caller) {
        if (spent > 0) metrics.keySpend.inc({ key: caller.id }, spent);
        try {
          await limits.addSpend(caller, spent);
        } catch (e) {
          req.log.error({ key: caller.id, spent, err: { message: (e as Error).message } }, "could not record spend");
        }
      }
    };
    /** Maps a cancelled episode to its error (status, type, message, code). */
    const cancelled = (e: unknown): [number, string, string, string | null] | undefined => {
      const c = e instanceof Cancelled ? e : ctl.signal.reason instanceof Cancelled && ctl.signal.aborted ? ctl.signal.reason : undefined;
      if (!c) return undefined;
      if (c.why === "budget") {
        metrics.keyRejections.inc({ key: caller!.id, reason: "budget" });
        return [429, "rate_limit_error", c.message, "insufficient_quota"];
      }
      if (c.why === "shutdown") return [503, "server_error", "the server is shutting down: this request's episode was cancelled at the end of the grace period", "shutting_down"];
      return [499, "client_closed", "the client closed the connection; the episode's remaining calls were cancelled", null];
    };

    if (!body.stream) {
      let t: OrchestrationTrace;
      try {
        t = await runEpisode(task, id, greedy, seed, knob, ctl, onOutput);
      } catch (e) {
        const c = cancelled(e);
        if (!c) throw e;
        return fail(req, reply, c[0], c[1], c[2], null, c[3]);
      } finally {
        await settle();
      }
      record(t);
      const rejected = episodeRejection(t);
      if (rejected !== undefined) return fail(req, reply, 400, "invalid_request_error", rejected, "messages", "upstream_rejected");
      const d = describe(t, seed, greedy, knobReq);
      req.log.info({ id, ...(caller ? { key: caller.id } : {}), steps: t.steps.length, cost: t.cost, stop: d.info.stop_reason, agents: t.steps.map((s) => s.agent) }, "completion");
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
    const done = runEpisode(task, id, greedy, seed, knob, ctl, onOutput)
      .then((t) => {
        record(t);
        const rejected = episodeRejection(t);
        if (rejected !== undefined) {
          metrics.errors.inc({ route: "/v1/chat/completions", type: "invalid_request_error" });
          sse.write(`data: ${redact(JSON.stringify(errorBody(rejected, "invalid_request_error", "messages", "upstream_rejected")))}\n\n`);
          return;
        }
        const d = describe(t, seed, greedy, knobReq);
        req.log.info({ id, ...(caller ? { key: caller.id } : {}), steps: t.steps.length, cost: t.cost, stop: d.info.stop_reason, agents: t.steps.map((s) => s.agent), stream: true }, "completion");
        if (d.content !== "") sse.write(chunk([{ index: 0, delta: { content: d.content }, logprobs: null, finish_reason: null }]));
        sse.write(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: d.finish }], { maestro: d.info }));
        if (body.stream_options?.include_usage) sse.write(chunk([], { usage: d.usage }));
        sse.write("data: [DONE]\n\n");
      })
      .catch((e: unknown) => {
        const c = cancelled(e);
        const msg = c ? c[2] : `the orchestrator failed: ${e instanceof Error ? e.message : String(e)}`;
        const type = c ? c[1] : "server_error";
        metrics.errors.inc({ route: "/v1/chat/completions", type });
        if (c?.[1] === "client_closed") return;
        if (!c) req.log.error({ err: { message: redact(msg) } }, "request failed");
        sse.write(`data: ${redact(JSON.stringify(errorBody(msg, type, null, c ? c[3] : null)))}\n\n`);
      })
      .finally(async () => {
        clearInterval(beat);
        sse.end();
        await settle();
      });
    void done;
    reply.header("cache-control", "no-cache").header("x-accel-buffering", "no").type("text/event-stream; charset=utf-8");
    return reply.send(sse);
  });

  const cancelAll = () => {
    for (const c of episodes) c.abort(new Cancelled("shutdown", "the server is shutting down"));
  };
  return { app, concurrency, inFlight: () => limiter.running + limiter.waiting, cancelAll };
}

/** Starts serving a loaded orchestrator; `close()` drains and disposes it. */
export async function startServer(orch: Orchestrator, o: ServeOptions = {}): Promise<MaestroServer> {
  const host = o.host ?? "127.0.0.1";
  if (!isLoopback(host) && !o.keys?.configured && !o.insecureNoAuth) {
    throw new InputError(
      `--host ${host}: serving off loopback needs API keys (--keys FILE or --api-key-env NAME): without them anyone who reaches the port spends this run's LLM budget. ` +
        `Create keys with: npx maestro keys create --file keys.json --id <name> (or, knowingly, --insecure-no-auth)`,
    );
  }
  const { app, concurrency, inFlight, cancelAll } = buildServer(orch, o);
  await app.listen({ host, port: o.port ?? 8000 });
  const addr = app.server.address();
  const port = addr && typeof addr === "object" ? addr.port : o.port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  const graceMs = o.graceMs ?? 30_000;
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
      closing ??= (async () => {
        // after the grace period: cancel the episodes still running and close every connection, also
        // those of clients still sending a request (app.close() waits for all of them)
        const timer = setTimeout(() => {
          cancelAll();
          setTimeout(() => app.server.closeAllConnections(), 100).unref();
        }, graceMs);
        try {
          await app.close();
        } finally {
          clearTimeout(timer);
          orch.dispose();
          await o.limits?.close();
        }
      })();
      return closing;
    },
  };
}

/** Loads the last checkpoint of `runDir` and serves it (what `maestro serve` does). */
export async function serveRun(runDir: string, o: ServeOptions & LoadOrchestratorOptions = {}): Promise<MaestroServer> {
  const orch = await loadOrchestrator(runDir, { ...(o.seed !== undefined ? { seed: o.seed } : {}), ...(o.sets ? { sets: o.sets } : {}), ...(o.live ? { live: o.live } : {}) });
  try {
    return await startServer(orch, o);
  } catch (e) {
    orch.dispose();
    throw e;
  }
}
