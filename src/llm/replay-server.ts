import { createHash } from "node:crypto";
import type http from "node:http";
import { InputError } from "../core/errors.js";
import { loadRecordedTable, promptKey, type RecordedItem, type RecordedTable } from "../tasks/recorded.js";
import { listenJson, openAiError, routeOf, sendJson } from "./http-json.js";
import { countTokens, type TokenizerName } from "./tokens.js";

/**
 * The replay server: recorded answers (src/tasks/recorded.ts tables) behind the OpenAI-compatible
 * `/v1/chat/completions` and `/v1/models`, so an orchestrator trained on `kind: recorded` agents runs on
 * the live path (`kind: llm` agents, an OpenAI-compatible provider) against exactly the answers it was
 * trained on. `maestro sim-server --replay FILE...` starts it.
 *
 * A request is answered with the requested model's recorded text for the item its last user message
 * asks (see {@link matchItem}), trimmed as `kind: recorded` agents show it, and the usage of the
 * recorded call: tokensIn / tokensOut where recorded, else counted with the tokenizer (the item's
 * prompt plus `promptOverheadTokens`, the answer text), which is the rule `kind: recorded` agents price.
 */

export interface ReplayOptions {
  /** Tokenizer counting the tokens a record does not state (as tasks.tokenizer). */
  tokenizer: TokenizerName;
  /** Added to counted input tokens (as tasks.promptOverheadTokens). */
  promptOverheadTokens: number;
}

export type ItemMatch =
  { item: RecordedItem } | { error: "prompt_not_found"; message: string } | { error: "ambiguous_prompt"; message: string };

/** The `Task:` block of the user message `kind: llm` agents send (src/agents/llm.ts). */
const llmTaskBlock = /^Task:\n([\s\S]*?)\n\nTranscript of the team so far:\n/;

/**
 * The table item a chat's last user message asks, compared under {@link promptKey} normalisation:
 * 1. the whole message is an item's prompt, or its `Task:` block (what `kind: llm` agents send) is;
 * 2. else the items whose prompt occurs in the message, dropping any prompt that occurs inside another
 *    matching one: exactly one left is the answer, none is `prompt_not_found`, several `ambiguous_prompt`.
 * Items sharing one prompt are one prompt: the first of them in the table answers.
 */
export function matchItem(table: RecordedTable, userMessage: string): ItemMatch {
  const whole = promptKey(userMessage);
  const direct = table.byPrompt.get(whole);
  if (direct) return { item: direct };
  const block = llmTaskBlock.exec(userMessage)?.[1];
  if (block !== undefined) {
    const hit = table.byPrompt.get(promptKey(block));
    if (hit) return { item: hit };
  }
  const found: Array<[string, RecordedItem]> = [];
  for (const [k, it] of table.byPrompt) if (k !== "" && whole.includes(k)) found.push([k, it]);
  const maximal = found.filter(([k]) => !found.some(([o]) => o !== k && o.includes(k)));
  if (maximal.length === 1) return { item: maximal[0]![1] };
  if (maximal.length === 0) {
    return {
      error: "prompt_not_found",
      message: `replay: the last user message contains no prompt of the recorded table (${table.items.length} items; prompts are compared with whitespace collapsed)`,
    };
  }
  return {
    error: "ambiguous_prompt",
    message: `replay: the last user message contains the prompts of ${maximal.length} items (${maximal
      .slice(0, 5)
      .map(([, it]) => `"${it.id}"`)
      .join(", ")}${maximal.length > 5 ? ", ..." : ""}); send one item's prompt`,
  };
}

export interface ReplayReply {
  content: string;
  promptTokens: number;
  completionTokens: number;
}

/** A recorded answer as the API returns it; undefined when the record has no text. */
export function replayReply(item: RecordedItem, model: string, o: ReplayOptions): ReplayReply | undefined {
  const rec = item.models[model];
  const text = rec?.text?.trim();
  if (rec === undefined || text === undefined) return undefined;
  return {
    content: text,
    promptTokens: rec.tokensIn ?? countTokens(item.prompt, o.tokenizer) + o.promptOverheadTokens,
    completionTokens: rec.tokensOut ?? countTokens(text, o.tokenizer),
  };
}

/** Non-fatal findings about a table served for replay (said once at start-up). */
export function replayWarnings(table: RecordedTable): string[] {
  const out = [...table.warnings];
  for (const m of table.models) {
    const missing = table.items.filter((it) => it.models[m]?.text === undefined).length;
    if (missing > 0)
      out.push(
        `model "${m}": ${missing} of ${table.items.length} items have no recorded text; requests for them get a 400 (no_recorded_text)`,
      );
    const costed = table.items.filter((it) => it.models[m]?.cost !== undefined).length;
    if (costed > 0) {
      out.push(
        `model "${m}": ${costed} items record a cost, which the OpenAI usage object cannot carry: API clients price the call as tokens × their prices`,
      );
    }
  }
  const seen = new Map<string, RecordedItem>();
  let shared = 0;
  for (const it of table.items) {
    const k = promptKey(it.prompt);
    const first = seen.get(k);
    if (!first) seen.set(k, it);
    else if (table.models.some((m) => first.models[m]?.text !== it.models[m]?.text)) shared++;
  }
  if (shared > 0)
    out.push(`${shared} items share a prompt with an earlier item but record other answers: the API answers with the first one`);
  return out;
}

/** The text of a chat's last user message (string content, or the text parts joined by newlines). */
function lastUserText(messages: unknown): { text: string } | { error: string } {
  if (!Array.isArray(messages) || messages.length === 0) return { error: "messages: expected a non-empty array of chat messages" };
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: unknown; content?: unknown } | null;
    if (!m || typeof m !== "object" || m.role !== "user") continue;
    if (typeof m.content === "string") return { text: m.content };
    if (Array.isArray(m.content)) {
      return {
        text: m.content
          .map((p: { type?: unknown; text?: unknown }) => (p && p.type === "text" && typeof p.text === "string" ? p.text : ""))
          .join("\n"),
      };
    }
    return { error: `messages[${i}].content: expected a string or an array of text parts` };
  }
  return { error: "messages: no user message (the last user message holds the prompt)" };
}

export interface ReplayServerStats {
  requests: number;
  byPath: Record<string, number>;
  byStatus: Record<string, number>;
}

export interface ReplayServer {
  readonly port: number;
  readonly url: string;
  readonly table: RecordedTable;
  readonly stats: ReplayServerStats;
  /** What {@link replayWarnings} found. */
  readonly warnings: string[];
  close(): Promise<void>;
}

export interface StartReplayOptions extends Partial<ReplayOptions> {
  /** Recorded-output files (CSV or JSONL, anything loadRecordedTable reads), already resolved. */
  files: readonly string[];
  /** Port (default 8787; 0 = an ephemeral port). */
  port?: number;
  host?: string;
}

/**
 * Loads the table (a malformed file is an {@link InputError} naming file and line, before anything
 * listens) and serves it. Error bodies never name a file of the server: the table is called "the
 * recorded table" and items by id.
 */
export async function startReplayServer(o: StartReplayOptions): Promise<ReplayServer> {
  if (o.files.length === 0) throw new InputError("--replay: give at least one recorded-output file (CSV or JSONL)");
  const table = loadRecordedTable({ files: o.files });
  const opts: ReplayOptions = { tokenizer: o.tokenizer ?? "cl100k_base", promptOverheadTokens: o.promptOverheadTokens ?? 0 };
  if (!Number.isInteger(opts.promptOverheadTokens) || opts.promptOverheadTokens < 0) {
    throw new InputError(`--prompt-overhead-tokens ${opts.promptOverheadTokens}: expected a non-negative integer`);
  }
  const warnings = replayWarnings(table);
  const stats: ReplayServerStats = { requests: 0, byPath: {}, byStatus: {} };
  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
    sendJson(res, status, body);
  };
  const modelEntry = (id: string) => ({ id, object: "model", created: 0, owned_by: "maestro-replay" });
  const unknownModel = (model: string) =>
    openAiError(
      `The model "${model}" does not exist in the recorded table (models: ${table.models.join(", ")})`,
      "invalid_request_error",
      "model_not_found",
      "model",
    );

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, text: string): Promise<void> {
    const url = routeOf(req);
    stats.requests++;
    stats.byPath[url] = (stats.byPath[url] ?? 0) + 1;
    if (req.method === "GET" && url.endsWith("/models")) {
      send(res, 200, { object: "list", data: table.models.map(modelEntry) });
      return;
    }
    const one = req.method === "GET" ? /\/models\/(.+)$/.exec(url) : null;
    if (one) {
      const id = decodeURIComponent(one[1]!);
      if (table.models.includes(id)) send(res, 200, modelEntry(id));
      else send(res, 404, unknownModel(id));
      return;
    }
    if (req.method !== "POST" || !url.endsWith("/chat/completions")) {
      send(
        res,
        404,
        openAiError(
          `replay: no route ${req.method} ${url} (serves POST /v1/chat/completions, GET /v1/models)`,
          "invalid_request_error",
          "unknown_url",
        ),
      );
      return;
    }
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
      body = parsed as Record<string, unknown>;
    } catch {
      send(res, 400, openAiError("replay: the request body is not a JSON object", "invalid_request_error"));
      return;
    }
    if (typeof body.model !== "string" || body.model === "") {
      send(
        res,
        400,
        openAiError("replay: model: expected the name of a model of the recorded table", "invalid_request_error", null, "model"),
      );
      return;
    }
    const model = body.model;
    if (!table.models.includes(model)) {
      send(res, 404, unknownModel(model));
      return;
    }
    const user = lastUserText(body.messages);
    if ("error" in user) {
      send(res, 400, openAiError(`replay: ${user.error}`, "invalid_request_error", null, "messages"));
      return;
    }
    const match = matchItem(table, user.text);
    if ("error" in match) {
      send(res, 400, openAiError(match.message, "invalid_request_error", match.error, "messages"));
      return;
    }
    const reply = replayReply(match.item, model, opts);
    if (!reply) {
      send(
        res,
        400,
        openAiError(
          `replay: item "${match.item.id}" has no recorded text of model "${model}"`,
          "invalid_request_error",
          "no_recorded_text",
          "messages",
        ),
      );
      return;
    }
    const id = `chatcmpl-replay-${createHash("sha256").update(`${model}\u0000${match.item.id}`).digest("hex").slice(0, 16)}`;
    const usage = {
      prompt_tokens: reply.promptTokens,
      completion_tokens: reply.completionTokens,
      total_tokens: reply.promptTokens + reply.completionTokens,
    };
    if (body.stream === true) {
      // server-sent events as OpenAI streams them: role, content, finish, usage if asked, [DONE]
      stats.byStatus[200] = (stats.byStatus[200] ?? 0) + 1;
      if (res.destroyed) return;
      res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
      const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
        `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created: 0, model, choices, ...extra })}\n\n`;
      res.write(chunk([{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]));
      res.write(chunk([{ index: 0, delta: { content: reply.content }, logprobs: null, finish_reason: null }]));
      res.write(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }]));
      const so = body.stream_options as { include_usage?: unknown } | undefined;
      if (so && so.include_usage === true) res.write(chunk([], { usage }));
      res.end("data: [DONE]\n\n");
      return;
    }
    send(res, 200, {
      id,
      object: "chat.completion",
      created: 0,
      model,
      choices: [{ index: 0, message: { role: "assistant", content: reply.content, refusal: null }, finish_reason: "stop", logprobs: null }],
      usage,
    });
  }

  const server = await listenJson(
    o.port ?? 8787,
    handle,
    // the message of an unexpected fault, never a stack (which would name the server's files)
    (e) => openAiError(`replay: internal error (${e instanceof Error ? e.name : "error"})`, "server_error"),
    o.host,
  );
  return { port: server.port, url: server.url, table, stats, warnings, close: () => server.close() };
}
