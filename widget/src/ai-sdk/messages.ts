/**
 * This API's messages as the AI SDK's `UIMessage`s: the metadata a reply's stream carries, the `data-*` parts it
 * sends, and a stored history mapped to what `useChat` shows, so a reloaded conversation looks as it did.
 */
import type { UIMessage } from "ai";
import type { FunctionCall, HandoffMarker, HistoryMessageBody } from "../api-types";
import type { StreamMetadata } from "../ui-message-stream";

/** Who wrote a message: the customer, the model, or a person of the support team (`name` as the API shows it). */
export type BackendAuthor = { kind: "user" } | { kind: "model" } | { kind: "person"; name: string | null };

/**
 * `message.metadata`: the stream's `start` ids merged with its `message-metadata` usage (POST /chat's metadata),
 * and, for messages read from the history, who wrote it and its status.
 */
export interface BackendMetadata extends StreamMetadata {
  author?: BackendAuthor;
  /** A person's marker: they joined the conversation, or left it. */
  handoff?: HandoffMarker;
  /** From the history: `pending` while its turn is answered, `failed` when no answer came. */
  status?: "ok" | "pending" | "failed";
  created_at?: string;
}

/** The stream's data parts: `data-ending` (kept in the message) and `data-error` (transient: onData only). */
export type BackendDataParts = {
  ending: { code: string };
  error: { code: string; detail: string; session_id: string | null };
};

/** A message of a conversation with this API, as `useChat<BackendUIMessage>` holds it. */
export type BackendUIMessage = UIMessage<BackendMetadata, BackendDataParts>;

export interface ToUIMessagesOptions {
  /** A person joining or leaving: kept as a message of its own (`metadata.handoff`, the default) or skipped. */
  markers?: "keep" | "skip";
}

type Part = BackendUIMessage["parts"][number];

function argumentsOf(call: FunctionCall): unknown {
  const raw: unknown = call.arguments;
  if (typeof raw !== "string") return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw; // the model's own text, not JSON: shown as it wrote it (as the stream does)
  }
}

/** A stored tool call as the stream showed it: a dynamic tool part with its input and its output or error. */
function toolPart(call: FunctionCall): Part {
  const base = { type: "dynamic-tool" as const, toolName: call.name, toolCallId: call.id, input: argumentsOf(call) };
  if (call.status === "error") {
    const result = call.result as { error?: unknown } | null | undefined;
    const errorText = typeof result?.error === "string" ? result.error : JSON.stringify(call.result);
    return { ...base, state: "output-error", errorText };
  }
  return { ...base, state: "output-available", output: call.result };
}

/** One stored message as a UIMessage; null for a marker when markers are skipped. */
export function toUIMessage(message: HistoryMessageBody, options: ToUIMessagesOptions = {}): BackendUIMessage | null {
  const common = { status: message.status ?? "ok", created_at: message.created_at } as const;
  const text: Part[] = message.content ? [{ type: "text", text: message.content, state: "done" }] : [];
  if (message.role === "user") {
    return { id: message.id, role: "user", parts: text, metadata: { ...common, author: { kind: "user" } } };
  }
  if (message.role === "agent") {
    if (message.handoff && options.markers === "skip") return null;
    return {
      id: message.id, role: "assistant", parts: text,
      metadata: { ...common, author: { kind: "person", name: message.agent_name ?? null },
        ...(message.handoff ? { handoff: message.handoff } : {}) },
    };
  }
  const ending: Part[] = message.stopped ? [{ type: "data-ending", data: { code: message.stopped } }] : [];
  return {
    id: message.id, role: "assistant", parts: [...(message.function_calls ?? []).map(toolPart), ...text, ...ending],
    metadata: {
      ...common, author: { kind: "model" }, message_id: message.id, tokens: message.tokens,
      stopped: message.stopped ?? null, estimated: message.estimated ?? false, truncated: message.truncated ?? false,
    },
  };
}

/**
 * A history page's messages (oldest first, as GET …/history gives them) as `useChat`'s messages: each reply's tool
 * calls as dynamic tool parts before its text, a `data-ending` part when it ended short (`stopped`), and a person's
 * messages as assistant messages whose `metadata.author` is `{kind: "person", name}`.
 */
export function toUIMessages(messages: readonly HistoryMessageBody[], options: ToUIMessagesOptions = {}): BackendUIMessage[] {
  return messages.map((m) => toUIMessage(m, options)).filter((m): m is BackendUIMessage => m !== null);
}

// The API's ids: 26 characters of Crockford base32 that sort by when they were made (useChat's own ids are not).
const API_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/**
 * The newest id the API gave any of `messages` (a reply's own, or a turn's `message_id` / `user_message_id` in its
 * metadata): what GET …/history?after= looks after. Null when none has one yet.
 */
export function newestStoredId(messages: readonly BackendUIMessage[]): string | null {
  let newest: string | null = null;
  for (const m of messages) {
    for (const id of [m.id, m.metadata?.message_id, m.metadata?.user_message_id]) {
      if (id && API_ID.test(id) && (newest === null || id > newest)) newest = id;
    }
  }
  return newest;
}

/**
 * `current` with `incoming` merged in by id: a message already there is replaced, a new one goes where its id
 * sorts among the API's ids (a reply stored late sorts right after what it answers), else at the end.
 */
export function mergeMessages(current: readonly BackendUIMessage[], incoming: readonly BackendUIMessage[]): BackendUIMessage[] {
  const merged = [...current];
  for (const message of incoming) {
    const at = merged.findIndex((m) => m.id === message.id);
    if (at !== -1) {
      merged[at] = message;
      continue;
    }
    const later = API_ID.test(message.id) ? merged.findIndex((m) => API_ID.test(m.id) && m.id > message.id) : -1;
    if (later === -1) merged.push(message);
    else merged.splice(later, 0, message);
  }
  return merged;
}
