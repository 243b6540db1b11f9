import type {
  ChatRequestBody,
  ChatResponseBody,
  CreateSessionBody,
  EscalateBody,
  ErrorBody,
  HistoryBody,
  MessageRatingBody,
  SessionBody,
  SessionFeedbackBody,
  StopBody,
} from "./api-types";
import { ChatApiError } from "./chat-error";
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
  /** GET /sessions/{id}/history: the newest page, or the page before `cursor`. */
  history(sessionId: string, options?: { cursor?: string | null; limit?: number }): Promise<HistoryBody>;
  /** POST /sessions/{id}/feedback. */
  sessionFeedback(sessionId: string, body: SessionFeedbackBody): Promise<SessionBody>;
  /** POST /sessions/{id}/messages/{message_id}/feedback. */
  rateMessage(sessionId: string, messageId: string, body: MessageRatingBody): Promise<unknown>;
  /** POST /sessions/{id}/escalate. */
  escalate(sessionId: string, body: EscalateBody): Promise<SessionBody>;
  /**
   * POST /chat/stream: resolves once the answer is a stream, with its parts as they arrive; rejects (as chat does)
   * when the message is refused before the stream began. The iteration rejects when the connection drops or
   * `signal` aborts it. Without this method the client sends every message with chat().
   */
  chatStream?(body: ChatRequestBody, options: { signal: AbortSignal }): Promise<AsyncIterable<UiMessagePart>>;
  /** POST /sessions/{id}/stop: the reply streaming in the session ends where it is, and is stored so. */
  stopReply?(sessionId: string): Promise<StopBody>;
}

export type TokenSource = () => string | Promise<string>;

export interface FetchTransportOptions {
  /** Where the API is: the stack's ApiUrl (routes start with /api/v1/ai); empty for the page's own origin. */
  apiBaseUrl?: string;
  /** The Bearer token, asked for before every request so that a refreshed token is used. */
  getToken: TokenSource;
  /**
   * Where POST /chat/stream is: the API's own `/api/v1/ai/chat/stream` by default. In AWS the stream has a URL of
   * its own (the stack's StreamUrl), as the HTTP API cannot stream.
   */
  streamUrl?: string;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
}

export const API_PREFIX = "/api/v1/ai";

async function errorBody(response: Response): Promise<Partial<ErrorBody> | null> {
  try {
    const body: unknown = await response.json();
    return typeof body === "object" && body !== null ? (body as Partial<ErrorBody>) : null;
  } catch {
    // A proxy's HTML error page, or an empty body: the status alone decides the message.
    return null;
  }
}

/** The default transport: fetch, JSON, `Authorization: Bearer <getToken()>`. */
export function createFetchTransport(options: FetchTransportOptions): ChatTransport {
  const base = (options.apiBaseUrl ?? "").replace(/\/+$/, "") + API_PREFIX;

  async function bearer(): Promise<string> {
    try {
      return `Bearer ${await options.getToken()}`;
    } catch (e) {
      throw new ChatApiError(401, { code: "token_unavailable" }, { cause: e });
    }
  }

  async function send(url: string, init: RequestInit): Promise<Response> {
    // Read at call time, not at creation: tests and apps may replace the global fetch later.
    const doFetch = options.fetch ?? globalThis.fetch;
    let response: Response;
    try {
      response = await doFetch(url, init);
    } catch (e) {
      throw new ChatApiError(0, null, { cause: e });
    }
    if (!response.ok) throw new ChatApiError(response.status, await errorBody(response));
    return response;
  }

  async function call<T>(method: "GET" | "POST", path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    const response = await send(base + path, {
      method,
      headers: {
        Accept: "application/json",
        Authorization: await bearer(),
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    try {
      return (await response.json()) as T;
    } catch (e) {
      throw new ChatApiError(response.status, { code: "invalid_response" }, { cause: e, kind: "unknown" });
    }
  }

  async function chatStream(body: ChatRequestBody, { signal }: { signal: AbortSignal }): Promise<AsyncIterable<UiMessagePart>> {
    const response = await send(options.streamUrl || `${base}/chat/stream`, {
      method: "POST",
      headers: { Accept: "text/event-stream", Authorization: await bearer(), "Content-Type": "application/json" },
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
    history: (sessionId, { cursor, limit } = {}) => {
      const query = new URLSearchParams();
      if (limit !== undefined) query.set("limit", String(limit));
      if (cursor) query.set("cursor", cursor);
      const qs = query.toString();
      return call("GET", `${session(sessionId)}/history${qs ? `?${qs}` : ""}`);
    },
    sessionFeedback: (sessionId, body) => call("POST", `${session(sessionId)}/feedback`, body),
    rateMessage: (sessionId, messageId, body) =>
      call("POST", `${session(sessionId)}/messages/${encodeURIComponent(messageId)}/feedback`, body),
    escalate: (sessionId, body) => call("POST", `${session(sessionId)}/escalate`, body),
    chatStream,
    stopReply: (sessionId) => call("POST", `${session(sessionId)}/stop`, {}),
  };
}
