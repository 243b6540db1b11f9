import { createApiRequests, type ApiRequestOptions } from "./api-requests";
import type {
  ChatRequestBody,
  ChatResponseBody,
  CreateSessionBody,
  EscalateBody,
  HistoryBody,
  MessageRatingBody,
  SessionBody,
  SessionFeedbackBody,
  StopBody,
  WithdrawBody,
} from "./api-types";
import { ChatApiError } from "./chat-error";
import type { ListMySessions } from "./session-resume";
export { API_PREFIX } from "./api-requests";
import { readUiMessageStream, type UiMessagePart } from "./ui-message-stream";

/**
 * The API as the client needs it, one method per route. The client never sees HTTP, so tests (and apps with their
 * own networking) can stand in for it. Every method rejects with a ChatApiError.
 */
export interface ChatTransport {
  /** POST /chat. The key makes a retry of the same message get the first answer and be charged once. */
  chat(body: ChatRequestBody, options: { idempotencyKey: string }): Promise<ChatResponseBody>;
  /** POST /sessions. */
  createSession(body: CreateSessionBody): Promise<SessionBody>;
  /**
   * GET /sessions/{id}/history: the newest page, the page before `cursor`, or (with `after`, a message id) only the
   * messages written after that one, oldest first (`next_after` set when more follow).
   */
  history(sessionId: string, options?: HistoryOptions): Promise<HistoryBody>;
  /** POST /sessions/{id}/feedback. */
  sessionFeedback(sessionId: string, body: SessionFeedbackBody): Promise<SessionBody>;
  /** POST /sessions/{id}/messages/{message_id}/feedback. */
  rateMessage(sessionId: string, messageId: string, body: MessageRatingBody): Promise<unknown>;
  /** POST /sessions/{id}/escalate. */
  escalate(sessionId: string, body: EscalateBody): Promise<SessionBody>;
  /**
   * POST /chat/stream: resolves once the answer is a stream, with its parts as they arrive; rejects (as chat does)
   * when the message is refused before the stream began. The iteration rejects when the connection drops or
   * `signal` aborts it. The key, as chat's, makes a repeat of an answered message stream its first answer again,
   * charged once. Without this method the client sends every message with chat().
   */
  chatStream?(body: ChatRequestBody, options: { signal: AbortSignal; idempotencyKey: string }): Promise<AsyncIterable<UiMessagePart>>;
  /** POST /sessions/{id}/stop: the reply streaming in the session ends where it is, and is stored so. */
  stopReply?(sessionId: string): Promise<StopBody>;
  /**
   * POST /sessions/{id}/withdraw: take back a request for a person nobody has taken yet (the session is active
   * again); 409 escalation_taken once a person has. Without this method the widget offers no way to cancel one.
   */
  withdraw?(sessionId: string): Promise<SessionBody>;
  /**
   * GET /sessions/my: the user's sessions, newest first, a page at a time (the next page's cursor from
   * X-Next-Cursor). The client's `resume` looks through it; without this method nothing is resumed.
   */
  mySessions?: ListMySessions;
  /**
   * DELETE /sessions/{id}: the session and every message of it are deleted (204, no body); 404 session_not_found
   * when it is gone already, 409 turn_in_progress while a reply is being written. Without this method the widget
   * offers no way to delete a conversation.
   */
  deleteSession?(sessionId: string): Promise<void>;
}

export interface HistoryOptions {
  cursor?: string | null;
  /** A message id: only the messages after it (not with cursor). */
  after?: string | null;
  limit?: number;
}

export type TokenSource = () => string | Promise<string>;

export interface FetchTransportOptions extends ApiRequestOptions {
  /**
   * Where POST /chat/stream is: the API's own `/api/v1/ai/chat/stream` by default. In AWS the stream has a URL of
   * its own (the stack's StreamUrl), as the HTTP API cannot stream.
   */
  streamUrl?: string;
}

/** The default transport: fetch, JSON, `Authorization: Bearer <getToken()>`. */
export function createFetchTransport(options: FetchTransportOptions): ChatTransport {
  const { base, bearer, send, call, callWithHeaders } = createApiRequests(options);

  async function chatStream(
    body: ChatRequestBody, { signal, idempotencyKey }: { signal: AbortSignal; idempotencyKey: string },
  ): Promise<AsyncIterable<UiMessagePart>> {
    const response = await send(options.streamUrl || `${base}/chat/stream`, {
      method: "POST",
      headers: {
        Accept: "text/event-stream", Authorization: await bearer(), "Content-Type": "application/json",
        "Idempotency-Key": idempotencyKey,
      },
      body: JSON.stringify(body),
      signal,
    });
    const type = response.headers.get("content-type") ?? "";
    if (!response.body || !type.toLowerCase().startsWith("text/event-stream")) {
      // Not a stream: a proxy's page, or a route that answers something else. Nothing of it can be shown.
      response.body?.cancel().catch(() => undefined);
      throw new ChatApiError(response.status, { code: "invalid_response" }, { kind: "unknown" });
    }
    return readUiMessageStream(response.body);
  }

  const session = (id: string): string => `/sessions/${encodeURIComponent(id)}`;

  return {
    chat: (body, { idempotencyKey }) => call("POST", "/chat", body, { "Idempotency-Key": idempotencyKey }),
    createSession: (body) => call("POST", "/sessions", body),
    history: (sessionId, { cursor, after, limit } = {}) => {
      const query = new URLSearchParams();
      if (limit !== undefined) query.set("limit", String(limit));
      if (cursor) query.set("cursor", cursor);
      if (after) query.set("after", after);
      const qs = query.toString();
      return call("GET", `${session(sessionId)}/history${qs ? `?${qs}` : ""}`);
    },
    sessionFeedback: (sessionId, body) => call("POST", `${session(sessionId)}/feedback`, body),
    rateMessage: (sessionId, messageId, body) =>
      call("POST", `${session(sessionId)}/messages/${encodeURIComponent(messageId)}/feedback`, body),
    escalate: (sessionId, body) => call("POST", `${session(sessionId)}/escalate`, body),
    chatStream,
    stopReply: (sessionId) => call("POST", `${session(sessionId)}/stop`, {}),
    withdraw: (sessionId) => call("POST", `${session(sessionId)}/withdraw`, {} satisfies WithdrawBody),
    mySessions: async ({ cursor, limit } = {}) => {
      const query = new URLSearchParams();
      if (limit !== undefined) query.set("limit", String(limit));
      if (cursor) query.set("cursor", cursor);
      const qs = query.toString();
      const { body, headers } = await callWithHeaders<SessionBody[]>("GET", `/sessions/my${qs ? `?${qs}` : ""}`);
      return { sessions: body, nextCursor: headers.get("x-next-cursor") };
    },
    deleteSession: async (sessionId) => {
      // 204 No Content: there is no body to read.
      await send(base + session(sessionId), {
        method: "DELETE", headers: { Accept: "application/json", Authorization: await bearer() },
      });
    },
  };
}
