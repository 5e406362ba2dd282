/**
 * The `fetch` the LLM SDKs (openai, @anthropic-ai/sdk) are given. Two faults the SDKs' own options do
 * not bound:
 *
 * 1. Both SDKs arm their `timeout` around `fetch()` only, which resolves when the response headers
 *    arrive; reading the body afterwards is bounded by nothing but undici's 300 s body timeout. Here
 *    `fetch` resolves only once the whole body is read, so the SDK's per-attempt timer (and its abort
 *    signal) covers the body too, and a stalled body counts as a timed-out attempt that the SDK retries.
 * 2. Both SDKs sleep for whatever `Retry-After` / `retry-after-ms` a 429/5xx asks for (an hour, if
 *    the server says so). A wait longer than `maxRetryWaitMs` is not retried: the response is handed
 *    back with `x-should-retry: false` and a body saying why, so the call fails at once (an error turn).
 */

/** The wait in ms a response asks for through `retry-after-ms` or `Retry-After` (seconds or an HTTP date). */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const ms = headers.get("retry-after-ms");
  if (ms !== null && Number.isFinite(parseFloat(ms))) return parseFloat(ms);
  const ra = headers.get("retry-after");
  if (ra === null) return undefined;
  const s = parseFloat(ra);
  if (Number.isFinite(s)) return s * 1000;
  const at = Date.parse(ra);
  return Number.isFinite(at) ? at - now : undefined;
}

/** Status codes both SDKs retry (and so would sleep for a Retry-After of). */
const retried = (status: number) => status === 408 || status === 409 || status === 429 || status >= 500;

export function boundedFetch(o: { maxRetryWaitMs: number; fetch?: typeof fetch }): typeof fetch {
  const base = o.fetch ?? globalThis.fetch;
  return async (input, init) => {
    const res = await base(input, init);
    // the body is read under the SDK's timer and abort signal (init.signal): a stall aborts the attempt
    const body = await res.arrayBuffer();
    const headers = new Headers(res.headers);
    // the body is already decoded and complete: these no longer describe it
    headers.delete("content-encoding");
    headers.delete("content-length");
    const wait = retried(res.status) ? retryAfterMs(headers) : undefined;
    if (wait !== undefined && wait > o.maxRetryWaitMs) {
      headers.set("x-should-retry", "false");
      headers.set("content-type", "application/json");
      const message =
        `HTTP ${res.status}: the server asked to retry after ${Math.round(wait / 1000)} s, longer than llm.maxRetryWaitMs ` +
        `(${o.maxRetryWaitMs} ms); not retried`;
      return new Response(JSON.stringify({ error: { message, type: "retry_after_too_long" } }), {
        status: res.status,
        statusText: res.statusText,
        headers,
      });
    }
    return new Response(res.status === 204 || res.status === 304 ? null : body, {
      status: res.status,
      statusText: res.statusText,
      headers,
    });
  };
}
