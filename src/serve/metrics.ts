/**
 * The server's Prometheus metrics (prom-client; https://prometheus.io/docs/practices/naming/ for the
 * names): requests, latency, episodes, cost, agent calls, tokens, load, and per API key (by the
 * operator's id for it, never the key) requests, spend, rejections and the budget standing.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { KeyRing } from "./keys.js";
import type { LimitStore } from "./limits.js";

/** The metrics of one server, registered on its own registry. */
export function makeMetrics() {
  const register = new Registry();
  collectDefaultMetrics({ register, prefix: "maestro_" });
  return {
    register,
    requests: new Counter({
      name: "maestro_http_requests_total",
      help: "HTTP requests answered, by route and status code.",
      labelNames: ["method", "route", "status"],
      registers: [register],
    }),
    errors: new Counter({
      name: "maestro_http_request_errors_total",
      help: "Requests answered with an error, by route and OpenAI error type (invalid_request_error, not_found_error, server_error, client_closed).",
      labelNames: ["route", "type"],
      registers: [register],
    }),
    latency: new Histogram({
      name: "maestro_http_request_duration_seconds",
      help: "Time from request to the end of the response, by route (completions: queueing + the whole episode).",
      labelNames: ["route"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [register],
    }),
    episodes: new Counter({
      name: "maestro_episodes_total",
      help: "Episodes completed, by what ended them (terminator, solved, max_steps).",
      labelNames: ["stop_reason"],
      registers: [register],
    }),
    cost: new Counter({
      name: "maestro_cost_total",
      help: "Summed episode cost under the run's cost rule (USD for price-based LLM costs).",
      registers: [register],
    }),
    steps: new Histogram({
      name: "maestro_episode_steps",
      help: "Agent calls per episode.",
      buckets: [1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30],
      registers: [register],
    }),
    agentCalls: new Counter({
      name: "maestro_agent_calls_total",
      help: "Agent calls, by agent.",
      labelNames: ["agent"],
      registers: [register],
    }),
    agentErrors: new Counter({
      name: "maestro_agent_error_turns_total",
      help: "Agent calls that failed and became error turns, by agent.",
      labelNames: ["agent"],
      registers: [register],
    }),
    tokens: new Counter({
      name: "maestro_tokens_total",
      help: "LLM tokens of all agent calls (cache hits included), by kind (prompt, completion).",
      labelNames: ["kind"],
      registers: [register],
    }),
    inFlight: new Gauge({ name: "maestro_episodes_in_flight", help: "Episodes running now.", registers: [register] }),
    queued: new Gauge({
      name: "maestro_requests_queued",
      help: "Completion requests waiting for a free episode slot.",
      registers: [register],
    }),
    // per key: the operator's id for it, never the key
    keyRequests: new Counter({
      name: "maestro_key_requests_total",
      help: "Completion requests of each API key (by the key's id), by status code.",
      labelNames: ["key", "status"],
      registers: [register],
    }),
    keySpend: new Counter({
      name: "maestro_key_spend_total",
      help: "Spend of each API key's requests answered by this server (run's cost units; $ for priced LLM runs; cache hits cost 0).",
      labelNames: ["key"],
      registers: [register],
    }),
    keyRejections: new Counter({
      name: "maestro_key_rejections_total",
      help: "Requests of each API key refused or stopped by its limits, by reason (budget, rate, concurrency).",
      labelNames: ["key", "reason"],
      registers: [register],
    }),
    authFailures: new Counter({
      name: "maestro_auth_failures_total",
      help: "Requests refused for their API key, by reason (missing, invalid, revoked), and for their Host header (host).",
      labelNames: ["reason"],
      registers: [register],
    }),
  };
}

export type ServerMetrics = ReturnType<typeof makeMetrics>;

/** Per-key gauges read at scrape time: each key's spend in its current budget period (from the store, shared by replicas) and its budget. */
export function addKeyGauges(metrics: ServerMetrics, keys: KeyRing, limits: LimitStore): void {
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
