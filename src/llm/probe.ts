import { InputError } from "../core/errors.js";

/**
 * A look at an OpenAI-compatible endpoint before a live session starts, so a dead or refusing endpoint
 * is one clear error naming its base URL instead of a session of failed calls: GET `<baseURL>/models`.
 * Unreachable, or 401/403: an {@link InputError}. Another status (some servers have no model list):
 * nothing is known, nothing is said. A list: the asked models it lacks are returned.
 */
export async function probeEndpoint(
  baseURL: string,
  o: { apiKey?: string; apiKeyEnv?: string; models: readonly string[]; timeoutMs?: number; label?: string },
): Promise<{ listed: boolean; missing: string[] }> {
  const label = o.label ?? "--live";
  const url = `${baseURL.replace(/\/+$/, "")}/models`;
  let res: Response;
  try {
    res = await fetch(url, {
      headers: o.apiKey !== undefined ? { authorization: `Bearer ${o.apiKey}` } : {},
      signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why =
      (e as Error).name === "TimeoutError"
        ? `no answer within ${(o.timeoutMs ?? 10_000) / 1000} s`
        : (cause?.code ?? cause?.message ?? (e as Error).message);
    throw new InputError(
      `${label} ${baseURL}: cannot reach the endpoint (${why}); is the server running? (to replay recorded answers: npx maestro sim-server --replay FILE --port PORT, then --live http://127.0.0.1:PORT/v1)`,
    );
  }
  if (res.status === 401 || res.status === 403) {
    throw new InputError(
      `${label} ${baseURL}: the endpoint refused ${o.apiKeyEnv !== undefined ? `the API key in ${o.apiKeyEnv}` : "the request without an API key (give --api-key-env NAME)"} (HTTP ${res.status})`,
    );
  }
  if (!res.ok) {
    await res.body?.cancel();
    return { listed: false, missing: [] };
  }
  let ids: string[] | undefined;
  try {
    const body = (await res.json()) as { data?: Array<{ id?: unknown }> };
    if (Array.isArray(body.data)) ids = body.data.map((m) => String(m.id));
  } catch {
    ids = undefined;
  }
  if (!ids) return { listed: false, missing: [] };
  return { listed: true, missing: o.models.filter((m) => !ids.includes(m)) };
}
