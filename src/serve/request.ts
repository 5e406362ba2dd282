/**
 * The chat-completions request (the OpenAI Chat Completions body, the subset maestro serves) written once,
 * as a zod schema: it gives the request's TypeScript type, and the JSON schema that fastify's ajv
 * validates the body with (z.toJSONSchema, https://zod.dev/json-schema), so the HTTP 400 messages are
 * ajv's (e.g. "body/messages must NOT have fewer than 1 items"). Then what the JSON schema cannot say:
 * the task of a request and the cost knob it asks for.
 */
import { z } from "zod";
import type { Orchestrator } from "./orchestrate.js";

/** The model id the endpoint serves (`maestro`, or `maestro:budget=<d>` / `maestro:lambda=<λ>`). */
export const SERVED_MODEL = "maestro";

const textPart = z.object({ type: z.string(), text: z.string().optional() });

export const chatBody = z.object({
  model: z.string().min(1),
  messages: z
    .array(
      z.object({
        role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
        content: z.union([z.string(), z.array(textPart), z.null()]).optional(),
        name: z.string().optional(),
      }),
    )
    .min(1),
  temperature: z.number().min(0).max(2).optional(),
  seed: z.number().int().optional(),
  n: z.number().int().min(1).max(1).optional(),
  stream: z.boolean().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
  maestro: z.strictObject({ budget: z.number().optional(), lambda: z.number().optional() }).optional(),
});

export type ChatBody = z.infer<typeof chatBody>;

/**
 * `chatBody` as a draft-07 JSON schema (fastify's ajv default). zod writes `.int()` as an integer within
 * ±(2^53 − 1), so a seed JSON cannot carry exactly (a larger one parses to a nearby float) is refused
 * by both.
 */
export const chatBodyJsonSchema = (() => {
  const { $schema: _, ...schema } = z.toJSONSchema(chatBody, { target: "draft-7", io: "input" });
  return schema;
})();

/** A client error with an OpenAI-style body. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** OpenAI error type; default by status (404 not_found_error, 429 rate_limit_error, 5xx server_error, else invalid_request_error). */
    readonly type: string = status === 404
      ? "not_found_error"
      : status === 429
        ? "rate_limit_error"
        : status >= 500
          ? "server_error"
          : "invalid_request_error",
  ) {
    super(message);
  }
}

/** The body of an error response (OpenAI's shape). */
export const errorBody = (message: string, type: string, param: string | null = null, code: string | null = null) => ({
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
      if (other)
        throw new RequestError(
          400,
          `messages[${i}].content: only text parts are supported (got a "${other.type}" part)`,
          `messages[${i}].content`,
        );
      text = m.content.map((p) => p.text!).join("\n");
    } else text = "";
    if (text.trim() === "")
      throw new RequestError(400, `messages[${i}]: the last user message is empty; it is the task`, `messages[${i}].content`);
    return text;
  }
  throw new RequestError(400, "messages: no user message; the last user message is the task", "messages");
}

/** The cost knob a request asks for: from `model: "maestro:budget=0.002"` and/or `maestro: {budget}`. */
export function requestedKnob(body: Pick<ChatBody, "model" | "maestro">): { name: "budget" | "lambda"; value: number } | undefined {
  let fromModel: { name: "budget" | "lambda"; value: number } | undefined;
  if (body.model !== SERVED_MODEL) {
    if (!body.model.startsWith(`${SERVED_MODEL}:`)) {
      throw new RequestError(
        404,
        `model "${body.model}" does not exist; this server serves "${SERVED_MODEL}" (see GET /v1/models)`,
        "model",
        "model_not_found",
      );
    }
    const m = /^maestro:(budget|lambda)=(.+)$/.exec(body.model);
    const value = m ? Number(m[2]) : NaN;
    if (!m || m[2]!.trim() === "" || !Number.isFinite(value)) {
      throw new RequestError(
        400,
        `model "${body.model}": expected "${SERVED_MODEL}", "${SERVED_MODEL}:budget=<number>" or "${SERVED_MODEL}:lambda=<number>"`,
        "model",
      );
    }
    fromModel = { name: m[1] as "budget" | "lambda", value };
  }
  const b = body.maestro ?? {};
  if (b.budget !== undefined && b.lambda !== undefined) throw new RequestError(400, "maestro: give budget or lambda, not both", "maestro");
  const fromBody =
    b.budget !== undefined
      ? { name: "budget" as const, value: b.budget }
      : b.lambda !== undefined
        ? { name: "lambda" as const, value: b.lambda }
        : undefined;
  if (fromModel && fromBody && (fromModel.name !== fromBody.name || fromModel.value !== fromBody.value)) {
    throw new RequestError(
      400,
      `model "${body.model}" and maestro.${fromBody.name}=${fromBody.value} disagree; give the knob once`,
      "maestro",
    );
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
    throw new RequestError(
      400,
      `${k.name}=${k.value}: the served policy is not budget-conditioned; it takes no ${k.name} (use model "${SERVED_MODEL}")`,
      k.name,
    );
  }
  if (k.name !== knob.name) {
    throw new RequestError(
      400,
      `${k.name}=${k.value}: the served policy is conditioned on ${knob.name}, not ${k.name} (allowed ${knob.name} range [${knob.min}, ${knob.max}])`,
      k.name,
    );
  }
  if (!(k.value >= knob.min && k.value <= knob.max)) {
    throw new RequestError(
      400,
      `${k.name}=${k.value} is out of range: the policy was trained for ${knob.name} in [${knob.min}, ${knob.max}]`,
      k.name,
    );
  }
  return k.value;
}
