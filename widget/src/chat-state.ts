/**
 * The state a ChatClient holds and tells its subscribers about, and the pure functions that read and build it from
 * the API's bodies. Nothing here performs a request or keeps anything between calls.
 */
import type {
  ChatResponseBody,
  FunctionCall,
  HandoffMarker,
  HistoryBody,
  HistoryMessageBody,
  MessageRating,
  SessionStatus,
  SessionType,
} from "./api-types";
import type { ChatApiError } from "./chat-error";

/**
 * What the client is doing: `loading` history, `submitted` (a reply is pending), `streaming` (a reply is being
 * written, and shows as it is), `ready`, or `error` (the last action failed; `error` says why). Whether the session
 * still takes messages is `sessionStatus`, a separate thing.
 */
export type ChatStatus = "loading" | "ready" | "submitted" | "streaming" | "error";

/** The action an error came from, so a UI can word it and knows what retry() will do. */
export type ChatAction = "send" | "load" | "older" | "feedback" | "rate" | "escalate" | "stop" | "withdraw" | "delete";

/** A tool call of a reply; `running` while a streamed reply's tool has not answered yet (its result is then {}). */
export type ChatFunctionCall = Omit<FunctionCall, "status"> & { status: FunctionCall["status"] | "running" };

export interface ChatMessage {
  /**
   * The API's message id, or a local one (`local-…`) for a user message (the API names only the reply) and for a
   * reply still streaming (it gets the API's id when it is stored).
   */
  id: string;
  /** The same for the message's whole life, also when a streamed reply gets the API's id: what a UI keys it by. */
  key: string;
  /** `agent`: a person of the support team wrote it (in an escalated session), named by `agentName`. */
  role: "user" | "assistant" | "agent";
  /** A person's reply: the name they are shown by. */
  agentName?: string | null;
  /** A person's marker, not a reply: they `joined` the conversation, or `left` it (its content says how). */
  handoff?: HandoffMarker | null;
  /** The text; a streaming reply's grows as it is written. */
  content: string;
  /** ISO 8601. */
  createdAt: string;
  /**
   * `pending` until its reply arrives; `failed` when it was not answered (retry() sends it again); `streaming`
   * while a reply is being written.
   */
  status: "sent" | "pending" | "failed" | "streaming";
  /** A reply's up/down rating. */
  rating: MessageRating | null;
  /** Why a failed message failed, when this client saw it fail. */
  error: ChatApiError | null;
  /** A reply's tool calls (a ticket created, a hand-over to a person, …), in the order the model made them. */
  functionCalls: readonly ChatFunctionCall[];
  /**
   * Why a reply ended before the model's own answer: `stopped` (stop() ended it; the text is as far as it went),
   * `escalated`, `taken_by_person` (a person took the session while it ran: the server kept no text of it, and the
   * widget shows none), a limit's code, `max_tool_steps`, a provider error (`provider_…`, the text cut short); else
   * null.
   */
  stopped: string | null;
  /** The provider never reported the reply's usage (a stream stopped or cut short): its cost is an upper bound. */
  estimated: boolean;
}

export interface ChatState {
  sessionId: string | null;
  sessionType: SessionType;
  /**
   * null until the session exists. `escalated`: a person of the support team has it, or will; messages still go
   * out (kept for them) and their replies are looked for. `completed` and `abandoned` take no more messages.
   */
  sessionStatus: SessionStatus | null;
  /** While escalated: the person who took the session, once one has (null while the request waits for one). */
  takenBy: string | null;
  /** While escalated: the last few looks for the person's messages failed (the client goes on looking). */
  handoffCheckFailing: boolean;
  status: ChatStatus;
  /** Oldest first. */
  messages: readonly ChatMessage[];
  error: ChatApiError | null;
  failedAction: ChatAction | null;
  /** Whether earlier messages than the first one shown exist (loadOlder() fetches them). */
  hasOlder: boolean;
  /** Whether the stored session's history has been fetched (or there was none to fetch). */
  historyLoaded: boolean;
  /** The 1-5 rating given to this session, if any. */
  sessionRating: number | null;
  /** A streamed reply is on its way and stop() would end it. */
  canStop: boolean;
  /** stop() was asked for, and the reply has not ended yet. */
  stopping: boolean;
  /** The session deleteSession() deleted before this conversation began; null once another one is left. */
  deletedSessionId: string | null;
}

/**
 * What a part of the client that changes its state needs of it: the state now, the conversation's generation, and
 * the change of state that tells the subscribers.
 */
export interface ChatStateHost {
  state(): ChatState;
  /** Bumped when the conversation is left (startNewSession): an answer for an older one is dropped. */
  generation(): number;
  update(patch: Partial<ChatState>): void;
}

/** `stopped` of a reply whose turn a person took the session from: no tool ran and no text was kept after that. */
export const TAKEN_BY_PERSON = "taken_by_person";

/** A history message as the client shows it: a message the server marked failed shows failed, any other sent. */
export function fromHistory(m: HistoryMessageBody): ChatMessage {
  return {
    id: m.id,
    key: m.id,
    role: m.role,
    content: m.content,
    createdAt: m.created_at,
    status: m.status === "failed" ? "failed" : "sent",
    rating: m.feedback ?? null,
    error: null,
    functionCalls: m.function_calls ?? [],
    stopped: m.stopped ?? null,
    estimated: m.estimated ?? false,
    agentName: m.agent_name ?? null,
    handoff: m.handoff ?? null,
  };
}

/** POST /chat's answer as the reply it shows, made at `createdAt` (the answer carries no time of its own). */
export function fromReply(reply: ChatResponseBody, createdAt: string): ChatMessage {
  return {
    id: reply.metadata.message_id,
    key: reply.metadata.message_id,
    role: "assistant",
    content: reply.message,
    createdAt,
    status: "sent",
    rating: null,
    error: null,
    functionCalls: reply.function_calls ?? [],
    stopped: reply.metadata.stopped ?? null,
    estimated: reply.metadata.estimated ?? false,
  };
}

/** A message the user typed, shown at once as pending under a local id until the API answers it. */
export function userMessage(id: string, content: string, createdAt: string): ChatMessage {
  return {
    id, key: id, role: "user", content, createdAt, status: "pending", rating: null, error: null, functionCalls: [],
    stopped: null, estimated: false,
  };
}

/** The newest message of a page when it is the user's and still pending: its reply is being written. */
export function awaitedIn(page: HistoryBody): HistoryMessageBody | null {
  const newest = page.messages[page.messages.length - 1];
  return newest?.role === "user" && newest.status === "pending" ? newest : null;
}

/** A page's messages as the client shows them; the awaited one is pending, as a message sent from here would be. */
export function fromPage(messages: readonly HistoryMessageBody[], awaited: HistoryMessageBody | null): ChatMessage[] {
  return messages.map((m) => (m === awaited ? { ...fromHistory(m), status: "pending" as const } : fromHistory(m)));
}

/**
 * Whether a reply's turn handed the session to a person: it stopped there, a person took the session while it ran
 * (`taken_by_person`), or escalate_to_human ran.
 */
export function escalatedBy(reply: ChatResponseBody): boolean {
  return (
    reply.metadata.stopped === "escalated" ||
    reply.metadata.stopped === TAKEN_BY_PERSON ||
    (reply.function_calls ?? []).some((call) => call.name === "escalate_to_human" && call.status === "ok")
  );
}

/** The newest message the API named: where a look for newer ones starts. */
export function newestStoredId(messages: readonly ChatMessage[]): string | null {
  for (let i = messages.length - 1; i >= 0; i--) {
    const id = messages[i]?.id;
    if (id && !id.startsWith("local-")) return id;
  }
  return null;
}

/** `streaming` while a reply is being written, `submitted` while any message awaits its reply, else `ready`. */
export function statusOf(messages: readonly ChatMessage[]): ChatStatus {
  if (messages.some((m) => m.status === "streaming")) return "streaming";
  return messages.some((m) => m.status === "pending") ? "submitted" : "ready";
}

/** A reply is on its way: the status a failure elsewhere does not replace. */
export function busy(status: ChatStatus): boolean {
  return status === "submitted" || status === "streaming";
}

/** The messages with the one keyed `key` shown as sent (the server has it), its earlier error gone. */
export function markedSent(messages: readonly ChatMessage[], key: string): ChatMessage[] {
  return messages.map((m) => (m.key === key && m.status !== "sent" ? { ...m, status: "sent" as const, error: null } : m));
}

/**
 * The messages with `reply` in place of the one with its key, or right after `message` (at the end if that is
 * gone); `message` is shown as sent, as a reply means the server had it.
 */
export function withReply(messages: readonly ChatMessage[], message: ChatMessage, reply: ChatMessage): ChatMessage[] {
  const sent = markedSent(messages, message.key);
  if (sent.some((m) => m.key === reply.key)) return sent.map((m) => (m.key === reply.key ? reply : m));
  const at = sent.findIndex((m) => m.key === message.key);
  return at === -1 ? [...sent, reply] : [...sent.slice(0, at + 1), reply, ...sent.slice(at + 1)];
}

/** The state of a conversation nothing has happened in yet: a stored session's history is still to be fetched. */
export function noConversation(sessionId: string | null): Omit<ChatState, "sessionType"> {
  return {
    sessionId,
    sessionStatus: null,
    status: "ready",
    messages: [],
    error: null,
    failedAction: null,
    takenBy: null,
    handoffCheckFailing: false,
    hasOlder: false,
    historyLoaded: sessionId === null,
    sessionRating: null,
    canStop: false,
    stopping: false,
    deletedSessionId: null,
  };
}
