/**
 * A streamed reply as the parts of POST /chat/stream build it: applyPart() takes one part into the draft and says
 * what changed, so the sender only shows it and acts on the session; the answers a finished draft amounts to are
 * built here too, as POST /chat would have answered them. Nothing here keeps state or performs a request: the draft
 * it is given is all it changes.
 */
import type { ChatResponseBody, FunctionCall } from "./api-types";
import { ChatApiError } from "./chat-error";
import type { ChatFunctionCall } from "./chat-state";
import type { StreamMetadata, UiMessagePart } from "./ui-message-stream";

/** A streamed reply as its parts have built it so far. */
export interface Draft {
  readonly key: string;
  readonly createdAt: string;
  text: string;
  /** The text part written last; another one starts a new paragraph. */
  textPart: string | null;
  newParagraph: boolean;
  calls: ChatFunctionCall[];
  /** `start`'s session_id: the session a message sent without one went to. */
  sessionId: string | null;
  /** `start`'s user_message_id: the stored message whose reply the history holds if the stream drops. */
  userMessageId: string | null;
  metadata: StreamMetadata | null;
  /** An `error` part's sentence and a `data-error` part's code. */
  failure: { detail: string | null; code: string | null } | null;
  /** `finish`, `[DONE]` or `error` arrived: the server ended the stream. */
  ended: boolean;
  /**
   * Sent while a person has the session: no reply is shown unless a model call starts (the session was handed back
   * to the AI meanwhile), as the server keeps the message for the person instead.
   */
  held: boolean;
}

/**
 * What one part changed that the client shows or acts on: `started`, the server has the message (the ids `start`
 * named are on the draft); `content`, the reply's text or tool calls; `unheld`, a model answers a message sent
 * while a person had the session (it was handed back meanwhile), so the draft shows from now on; `failed`, an
 * `error` part, after which nothing is read; null, nothing to show.
 */
export type DraftChange = "started" | "content" | "unheld" | "failed" | null;

/** An empty draft, keyed `key`; `held` when the message goes to a session a person has. */
export function newDraft(key: string, createdAt: string, held: boolean): Draft {
  return {
    key, createdAt, text: "", textPart: null, newParagraph: false, calls: [], sessionId: null, userMessageId: null,
    metadata: null, failure: null, ended: false, held,
  };
}

/** A tool's input as FunctionCall.arguments holds it: an object, or the text the model wrote. */
export function callArguments(input: unknown): FunctionCall["arguments"] {
  if (typeof input === "string" || (typeof input === "object" && input !== null && !Array.isArray(input))) {
    return input as FunctionCall["arguments"];
  }
  return JSON.stringify(input ?? null);
}

/** A tool's output as FunctionCall.result holds it: an object, anything else wrapped as `{value}`. */
export function callResult(output: unknown): FunctionCall["result"] {
  return typeof output === "object" && output !== null && !Array.isArray(output)
    ? (output as FunctionCall["result"])
    : { value: output };
}

/** A stream's error part as an error: the API's code (its kind decides the retry), and its sentence. */
export function streamError(failure: Draft["failure"]): ChatApiError {
  const code = failure?.code ?? "stream_error";
  const status = code.startsWith("provider_") ? 502 : code.endsWith("_limit_exceeded") ? 400 : 500;
  return new ChatApiError(status, { code, detail: failure?.detail ?? undefined });
}

/**
 * Take one part into the draft. After `failed` the caller reads no further, as the AI SDK's chat stops at the
 * first `error` part: the server sends all a client needs (`data-error`, then the stored reply's
 * `message-metadata`) before it.
 */
export function applyPart(draft: Draft, part: UiMessagePart): DraftChange {
  switch (part.type) {
    case "start": {
      const ids = part.messageMetadata ?? {};
      if (ids.user_message_id) draft.userMessageId = ids.user_message_id;
      if (ids.session_id && draft.sessionId === null) draft.sessionId = ids.session_id;
      return "started";
    }
    case "start-step":
      // A model call: the session was handed back to the AI since the message was sent, and it answers.
      if (!draft.held) return null;
      draft.held = false;
      return "unheld";
    case "text-start":
      if (draft.text !== "" && part.id !== draft.textPart) draft.newParagraph = true;
      draft.textPart = part.id;
      return null;
    case "text-delta":
      if (draft.newParagraph && part.delta !== "") {
        draft.text += /\n\s*$/.test(draft.text) ? "\n" : "\n\n";
        draft.newParagraph = false;
      }
      draft.text += part.delta;
      draft.textPart = part.id;
      return "content";
    case "tool-input-available": {
      const call: ChatFunctionCall = {
        id: part.toolCallId, name: part.toolName, arguments: callArguments(part.input), status: "running", result: {},
      };
      const at = draft.calls.findIndex((c) => c.id === part.toolCallId);
      draft.calls = at === -1 ? [...draft.calls, call] : draft.calls.map((c, n) => (n === at ? call : c));
      return "content";
    }
    case "tool-output-available":
    case "tool-output-error": {
      const result = part.type === "tool-output-error" ? { error: part.errorText } : callResult(part.output);
      const status = part.type === "tool-output-error" ? "error" : "ok";
      draft.calls = draft.calls.map((c) => (c.id === part.toolCallId ? { ...c, status, result } : c));
      return "content";
    }
    case "message-metadata":
      draft.metadata = { ...draft.metadata, ...part.messageMetadata };
      return null;
    case "error":
      draft.failure = { code: draft.failure?.code ?? null, detail: part.errorText };
      draft.ended = true;
      return "failed";
    case "data-error":
      draft.failure = { detail: draft.failure?.detail ?? part.data.detail ?? null, code: part.data.code ?? null };
      return null;
    case "finish":
    case "done":
      draft.ended = true;
      return null;
    default:
      return null; // finish-step, text-end: nothing to show
  }
}

/**
 * The stored reply the stream ended with, answered as POST /chat answers one; `sessionId` when the metadata names
 * none. A call the stream never answered did not finish: the stored message says what came of it.
 */
export function storedReply(draft: Draft, metadata: StreamMetadata, sessionId: string): ChatResponseBody {
  const calls = draft.calls.map((c): FunctionCall =>
    c.status === "running" ? { ...c, status: "error", result: { error: "The tool did not answer." } } : { ...c, status: c.status });
  return {
    session_id: metadata.session_id ?? sessionId,
    message: draft.text,
    role: "assistant",
    function_calls: calls,
    metadata: {
      tokens: metadata.tokens ?? 0,
      input_tokens: metadata.input_tokens ?? 0,
      output_tokens: metadata.output_tokens ?? 0,
      cost_cents: metadata.cost_cents ?? 0,
      model: metadata.model ?? "",
      provider: metadata.provider ?? "",
      message_id: metadata.message_id ?? draft.key,
      truncated: metadata.truncated ?? false,
      stopped: metadata.stopped ?? null,
      estimated: metadata.estimated ?? false,
    },
  };
}

/**
 * The answer to a message the server kept for the person who has the session (no model answered), stored as
 * `storedId`: POST /chat's `waiting_for_person`, nothing charged.
 */
export function keptReply(draft: Draft, storedId: string, sessionId: string): ChatResponseBody {
  const metadata = draft.metadata ?? {};
  return {
    session_id: metadata.session_id ?? sessionId,
    message: draft.text,
    role: "assistant",
    status: "waiting_for_person",
    function_calls: [],
    metadata: {
      tokens: 0, input_tokens: 0, output_tokens: 0, cost_cents: 0, model: metadata.model ?? "",
      provider: metadata.provider ?? "", message_id: storedId, truncated: false, stopped: metadata.stopped ?? null,
      estimated: false,
    },
  };
}
