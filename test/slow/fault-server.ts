import http from "node:http";
import type net from "node:net";

/**
 * A fault-injecting LLM server on 127.0.0.1 for tests. It answers both the OpenAI chat
 * completions path and the Anthropic messages path with the fault chosen by `mode`:
 * - `stall-body`: 200, headers with a Content-Length, half the body, then silence (socket kept open);
 * - `retry-after`: 429 with `Retry-After: <retryAfter>` seconds and a JSON error body;
 * - `ok`: a well-formed reply;
 * - `down`: 503 without Retry-After.
 * - `flaky`: like `down` for two requests of every three, `ok` for the third.
 */
export type FaultMode = "stall-body" | "retry-after" | "ok" | "down" | "flaky";

export interface FaultServer {
  url: string;
  mode: FaultMode;
  retryAfter: string;
  /** Requests received, by path. */
  requests: Record<string, number>;
  total(): number;
  close(): Promise<void>;
}

function replyBody(path: string): string {
  if (path.endsWith("/messages")) {
    return JSON.stringify({
      id: "msg_1",
      type: "message",
      role: "assistant",
      model: "fault",
      content: [{ type: "text", text: "The answer is 42. ANSWER: 42" }],
      stop_reason: "end_turn",
      usage: { input_tokens: 10, output_tokens: 5 },
    });
  }
  return JSON.stringify({
    id: "c1",
    object: "chat.completion",
    created: 0,
    model: "fault",
    choices: [{ index: 0, message: { role: "assistant", content: "The answer is 42. ANSWER: 42" }, finish_reason: "stop" }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  });
}

export async function startFaultServer(mode: FaultMode, retryAfter = "3600"): Promise<FaultServer> {
  const sockets = new Set<net.Socket>();
  const requests: Record<string, number> = {};
  const state: FaultServer = {
    url: "",
    mode,
    retryAfter,
    requests,
    total: () => Object.values(requests).reduce((a, b) => a + b, 0),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = http.createServer((req, res) => {
    const p = (req.url ?? "").split("?")[0]!;
    req.resume();
    req.on("end", () => {
      requests[p] = (requests[p] ?? 0) + 1;
      const mode = state.mode === "flaky" ? (state.total() % 3 === 0 ? "ok" : "down") : state.mode;
      switch (mode) {
        case "stall-body": {
          const body = replyBody(p);
          res.writeHead(200, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) });
          res.write(body.slice(0, Math.floor(body.length / 2)));
          // ... and nothing more: the socket stays open until the client gives up or the server closes
          return;
        }
        case "retry-after":
          res.writeHead(429, { "content-type": "application/json", "retry-after": state.retryAfter });
          res.end(JSON.stringify({ error: { message: "rate limited", type: "rate_limit_error" } }));
          return;
        case "down":
          res.writeHead(503, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: { message: "service unavailable", type: "overloaded_error" } }));
          return;
        case "ok":
          res.writeHead(200, { "content-type": "application/json" });
          res.end(replyBody(p));
      }
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return state;
}
