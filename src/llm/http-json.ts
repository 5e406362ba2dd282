import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * The small node:http plumbing the local LLM servers share (the simulated server, the replay server):
 * whole-body reading, JSON replies, OpenAI-style error bodies and listening on loopback.
 */

/** An OpenAI-style error body (https://platform.openai.com/docs/guides/error-codes). */
export function openAiError(message: string, type: string, code: string | null = null, param: string | null = null) {
  return { error: { message, type, param, code } };
}

/** Writes a JSON (or pre-serialised) body; a response whose client already left is skipped. */
export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(text);
}

/** The request path without query string and trailing slashes. */
export function routeOf(req: http.IncomingMessage): string {
  return (req.url ?? "/").split("?")[0]!.replace(/\/+$/, "");
}

export interface LocalServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `handle(req, res, body)` on `host`:`port` (0 = an ephemeral port) once each request's body is
 * read; a handler that throws answers 500 with `onCrash`'s body.
 */
export async function listenJson(
  port: number,
  handle: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => Promise<void>,
  onCrash: (e: unknown) => unknown,
  host = "127.0.0.1",
): Promise<LocalServer> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void handle(req, res, Buffer.concat(chunks).toString("utf8")).catch((e: unknown) => sendJson(res, 500, onCrash(e)));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  server.keepAliveTimeout = 5_000;
  const actual = (server.address() as AddressInfo).port;
  return {
    port: actual,
    url: `http://${host.includes(":") ? `[${host}]` : host}:${actual}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
