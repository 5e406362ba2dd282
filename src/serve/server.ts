/**
 * `maestro serve`: a trained orchestrator behind an OpenAI-compatible HTTP endpoint (fastify; the
 * request body is checked against the JSON schema of one zod schema, request.ts; Prometheus metrics
 * through prom-client, metrics.ts). Every request runs one episode of the run's {@link Orchestrator}
 * (completions.ts) — this file builds the HTTP side around it: limits, the Host and API-key guard,
 * redaction, error responses, the info routes, and draining on close.
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
import http from "node:http";
import os from "node:os";
import cors from "@fastify/cors";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from "fastify";
import { InputError } from "../core/errors.js";
import { Limiter } from "../llm/limiter.js";
import { Cancelled, registerCompletions, type Fail } from "./completions.js";
import type { Caller, KeyRing } from "./keys.js";
import { LocalLimitStore, type LimitStore } from "./limits.js";
import { addKeyGauges, makeMetrics, type ServerMetrics } from "./metrics.js";
import { loadOrchestrator, NotInTableError, type LoadOrchestratorOptions, type Orchestrator } from "./orchestrate.js";
import { errorBody, RequestError, SERVED_MODEL } from "./request.js";

export { SERVED_MODEL, checkKnob, requestedKnob, taskOf, chatBody, type ChatBody } from "./request.js";
export type { MaestroInfo } from "./completions.js";

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
    for (const list of Object.values(os.networkInterfaces()))
      for (const a of list ?? []) names.add(a.address.toLowerCase().replace(/%.*$/, ""));
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

interface Built {
  app: FastifyInstance;
  concurrency: number;
  inFlight: () => number;
  /** Cancels every episode in flight (the grace period of a shutdown is over). */
  cancelAll: () => void;
}

/** The server's limits, checked: episodes at once, body size, heartbeat and body timeout. */
function serverLimits(orch: Orchestrator, o: ServeOptions) {
  const concurrency = o.concurrency ?? orch.config.llm?.maxConcurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new InputError(`concurrency ${concurrency}: expected a positive integer`);
  const bodyLimit = o.bodyLimit ?? 1024 * 1024;
  const heartbeatMs = o.heartbeatMs ?? 15_000;
  const bodyTimeoutMs = o.bodyTimeoutMs ?? 30_000;
  if (!(bodyTimeoutMs > 0)) throw new InputError(`body timeout ${bodyTimeoutMs} ms: expected a positive number`);
  return { concurrency, bodyLimit, heartbeatMs, bodyTimeoutMs };
}

/** The fastify instance: body limit and timeout, the request log, strict validation, draining behaviour. */
function createApp(o: ServeOptions, limits: ReturnType<typeof serverLimits>, redact: (t: string) => string): FastifyInstance {
  const { bodyLimit, bodyTimeoutMs } = limits;
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
            serializers: {
              req: (r: { method: string; url: string; ip?: string }) => ({ method: r.method, url: redact(r.url), remoteAddress: r.ip }),
            },
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
  return app;
}

/** Redaction of every response, the request metrics, and `connection: close` on responses sent while draining. */
function addResponseHooks(app: FastifyInstance, metrics: ServerMetrics, redact: (t: string) => string): void {
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
}

/**
 * The Host header first (DNS rebinding: a page whose name resolves to this machine sends its own name),
 * then the API key, before any body is read.
 */
function addRequestGuard(
  app: FastifyInstance,
  g: { hosts: Set<string> | undefined; keys: KeyRing | undefined; metricsPublic: boolean; metrics: ServerMetrics; fail: Fail },
): void {
  const { hosts, keys, metrics, fail } = g;
  app.addHook("onRequest", async (req, reply) => {
    if (hosts) {
      const host = req.headers.host;
      if (!host || !hosts.has(hostOf(host))) {
        metrics.authFailures.inc({ reason: "host" });
        return fail(
          req,
          reply,
          403,
          "invalid_request_error",
          `Host header ${JSON.stringify(host ?? "")} is not a name of this server; allowed: ${[...hosts].join(", ")} (maestro serve --allowed-host NAME)`,
          null,
          "host_not_allowed",
        );
      }
    }
    if (!keys || req.method === "OPTIONS") return;
    const path = req.url.split("?")[0]!;
    if (!(path.startsWith("/v1/") || (path === "/metrics" && !g.metricsPublic))) return;
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
}

/** Every error answered in OpenAI's shape: request errors, validation, body size and type, then a 500. */
function setErrorHandlers(app: FastifyInstance, fail: Fail, bodyLimit: number, redact: (t: string) => string): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof RequestError) return fail(req, reply, err.status, err.type, err.message, err.param, err.code);
    if (err instanceof NotInTableError) return fail(req, reply, 400, "invalid_request_error", err.publicMessage, "messages");
    if (err.validation) {
      const v = err.validation[0];
      const param = v?.instancePath ? v.instancePath.slice(1).replace(/\//g, ".") : null;
      return fail(req, reply, 400, "invalid_request_error", `invalid request: ${err.message}`, param);
    }
    if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      return fail(
        req,
        reply,
        400,
        "invalid_request_error",
        `request body too large: the limit is ${bodyLimit} bytes (maestro serve --body-limit)`,
        null,
        "request_too_large",
      );
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
  app.setNotFoundHandler((req, reply) =>
    fail(
      req,
      reply,
      404,
      "not_found_error",
      `no route ${req.method} ${req.url} (maestro serves POST /v1/chat/completions, GET /v1/models, /health, /metrics)`,
    ),
  );
}

/** GET /v1/models, /v1/models/:id, /health and /metrics. */
function registerInfoRoutes(app: FastifyInstance, orch: Orchestrator, limiter: Limiter, metrics: ServerMetrics, concurrency: number): void {
  const runName = orch.config.name;
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
    if (id !== SERVED_MODEL)
      throw new RequestError(404, `model "${id}" does not exist; this server serves "${SERVED_MODEL}"`, "model", "model_not_found");
    return modelEntry();
  });
  app.get("/health", async () => ({
    status: "ok",
    run: runName,
    checkpoint_update: orch.checkpointUpdate,
    backend: orch.backend,
    running: limiter.running,
    queued: limiter.waiting,
  }));
  app.get("/metrics", async (_req, reply) => {
    metrics.queued.set(limiter.waiting);
    reply.type(metrics.register.contentType);
    return metrics.register.metrics();
  });
}

/** Builds the fastify app for a loaded orchestrator (not listening yet). */
export function buildServer(orch: Orchestrator, o: ServeOptions = {}): Built {
  const limits = serverLimits(orch, o);
  const redact = makeRedactor(secretValues(orch.config));
  const metrics = makeMetrics();
  const limiter = new Limiter(limits.concurrency);
  const keys = o.keys?.configured ? o.keys : undefined;
  const store = o.limits ?? LocalLimitStore.memory();
  if (keys) addKeyGauges(metrics, keys, store);
  const app = createApp(o, limits, redact);
  const fail: Fail = (req, reply, status, type, message, param = null, code = null) => {
    metrics.errors.inc({ route: req.routeOptions.url ?? "unmatched", type });
    return reply
      .code(status)
      .type("application/json")
      .send(errorBody(redact(message), type, param, code));
  };
  addResponseHooks(app, metrics, redact);
  addRequestGuard(app, {
    hosts: allowedHostNames(o.host ?? "127.0.0.1", o.allowedHosts),
    keys,
    metricsPublic: o.metricsPublic === true,
    metrics,
    fail,
  });
  if (o.corsOrigins && o.corsOrigins.length > 0) {
    void app.register(cors, {
      origin: [...o.corsOrigins],
      methods: ["GET", "POST"],
      allowedHeaders: ["authorization", "content-type"],
      maxAge: 600,
    });
  }
  setErrorHandlers(app, fail, limits.bodyLimit, redact);
  registerInfoRoutes(app, orch, limiter, metrics, limits.concurrency);
  const episodes = new Set<AbortController>();
  let sampled = 0;
  registerCompletions(app, {
    orch,
    metrics,
    limiter,
    limits: store,
    redact,
    fail,
    episodes,
    heartbeatMs: limits.heartbeatMs,
    nextSampledSeed: () => orch.seed + ++sampled,
  });
  const cancelAll = () => {
    for (const c of episodes) c.abort(new Cancelled("shutdown", "the server is shutting down"));
  };
  return { app, concurrency: limits.concurrency, inFlight: () => limiter.running + limiter.waiting, cancelAll };
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
  const orch = await loadOrchestrator(runDir, {
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.sets ? { sets: o.sets } : {}),
    ...(o.live ? { live: o.live } : {}),
  });
  try {
    return await startServer(orch, o);
  } catch (e) {
    orch.dispose();
    throw e;
  }
}
