import { describe, expect, it } from "vitest";
import { buildServer } from "../src/serve/server.js";
import { chatBody, chatBodyJsonSchema } from "../src/serve/request.js";
import type { OrchestrationTrace, Orchestrator } from "../src/serve/orchestrate.js";

/**
 * The chat request is written once, as a zod schema: its TypeScript type and the JSON schema fastify
 * validates with both come from it. These tests pin the generated JSON schema (the HTTP contract) and
 * check that the zod schema and the server accept and refuse the same bodies.
 */

/** A stand-in orchestrator: one Terminator step, no knob (the HTTP layer is what is under test). */
function fakeOrchestrator(): Orchestrator {
  const trace = (prompt: string): OrchestrationTrace => ({
    task: { id: "t", prompt },
    steps: [{ step: 0, agent: "solver", excerpt: "42", content: "42", tokensIn: 3, tokensOut: 1, cost: 0.5, cached: false }],
    finalAnswer: "42",
    endedBy: "terminator",
    cost: 0.5,
    tokens: 4,
  });
  return {
    config: { name: "fake", llm: undefined },
    checkpointUpdate: 3,
    seed: 1,
    knob: undefined,
    agentNames: ["solver", "terminator"],
    backend: "cpu",
    solve: async (task: { prompt: string }) => trace(task.prompt),
    dispose: () => {},
  } as unknown as Orchestrator;
}

const user = [{ role: "user", content: "What is 6 * 7?" }];
const bodies: Array<[string, unknown]> = [
  ["minimal", { model: "maestro", messages: user }],
  [
    "every field",
    {
      model: "maestro",
      messages: [
        { role: "system", content: null, name: "s" },
        { role: "user", content: [{ type: "text", text: "6 * 7?" }] },
      ],
      temperature: 0,
      seed: 2 ** 40,
      n: 1,
      stream: false,
      stream_options: null,
      maestro: {},
    },
  ],
  ["unknown top-level field (ignored, as OpenAI clients send many)", { model: "maestro", messages: user, top_p: 1 }],
  ["no messages", { model: "maestro" }],
  ["empty messages", { model: "maestro", messages: [] }],
  ["messages a string", { model: "maestro", messages: "hi" }],
  ["empty model", { model: "", messages: user }],
  ["content a number", { model: "maestro", messages: [{ role: "user", content: 42 }] }],
  ["unknown role", { model: "maestro", messages: [{ role: "wizard", content: "x" }] }],
  ["text part without type", { model: "maestro", messages: [{ role: "user", content: [{ text: "x" }] }] }],
  ["temperature a string", { model: "maestro", messages: user, temperature: "0.5" }],
  ["temperature above 2", { model: "maestro", messages: user, temperature: 3 }],
  ["seed not an integer", { model: "maestro", messages: user, seed: 1.5 }],
  ["seed beyond 2^53 (JSON cannot carry it exactly)", { model: "maestro", messages: user, seed: 2 ** 60 }],
  ["n = 2", { model: "maestro", messages: user, n: 2 }],
  ["stream a string", { model: "maestro", messages: user, stream: "yes" }],
  ["stream_options a number", { model: "maestro", messages: user, stream_options: 1 }],
  ["unknown maestro field", { model: "maestro", messages: user, maestro: { tokens: 1 } }],
  ["maestro.budget a string", { model: "maestro", messages: user, maestro: { budget: "1" } }],
];

describe("the chat request schema", () => {
  it("generates the draft-07 JSON schema fastify validates with: no $schema, integers safe, maestro closed", () => {
    expect(chatBodyJsonSchema).not.toHaveProperty("$schema");
    const props = (chatBodyJsonSchema as { properties: Record<string, Record<string, unknown>> }).properties;
    expect(chatBodyJsonSchema).toMatchObject({ type: "object", required: ["model", "messages"] });
    expect(props.seed).toEqual({ type: "integer", minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER });
    expect(props.n).toEqual({ type: "integer", minimum: 1, maximum: 1 });
    expect(props.temperature).toEqual({ type: "number", minimum: 0, maximum: 2 });
    expect(props.maestro).toEqual({
      type: "object",
      properties: { budget: { type: "number" }, lambda: { type: "number" } },
      additionalProperties: false,
    });
    expect(props.stream_options).toEqual({
      anyOf: [{ type: "object", properties: { include_usage: { type: "boolean" } } }, { type: "null" }],
    });
    expect(props.messages).toMatchObject({ type: "array", minItems: 1, items: { required: ["role"] } });
  });

  it.each(bodies)("zod and the server agree on a body: %s", async (_name, body) => {
    const { app } = buildServer(fakeOrchestrator(), { logLevel: "silent" });
    try {
      const r = await app.inject({ method: "POST", url: "/v1/chat/completions", payload: body as object });
      const zodOk = chatBody.safeParse(body).success;
      if (zodOk) {
        expect(r.statusCode, r.body).toBe(200);
        expect(r.json()).toMatchObject({
          object: "chat.completion",
          choices: [{ message: { content: "42" } }],
          maestro: { run: "fake", checkpoint_update: 3 },
        });
      } else {
        expect(r.statusCode).toBe(400);
        expect(r.json().error).toMatchObject({ type: "invalid_request_error" });
        expect(r.json().error.message).toMatch(/^invalid request: body/);
      }
    } finally {
      await app.close();
    }
  });
});
