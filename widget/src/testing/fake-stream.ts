import type { HistoryBody, HistoryMessageBody, SessionBody } from "../api-types";

const encoder = new TextEncoder();

/** One part of the UI message stream as the server writes it: `data: {json}` and a blank line. */
export function sse(part: Record<string, unknown>): string {
  return `data: ${JSON.stringify(part)}\n\n`;
}

/** The stream's last line, after `finish`. */
export const DONE = "data: [DONE]\n\n";

/** A response body the test writes into as it goes: chunks of text or bytes, then close() or fail(). */
export class BodyWriter {
  readonly stream: ReadableStream<Uint8Array>;
  /** Whether the reader cancelled the body (it stopped reading). */
  cancelled = false;
  private controller!: ReadableStreamDefaultController<Uint8Array>;

  constructor() {
    this.stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.controller = controller;
      },
      cancel: () => {
        this.cancelled = true;
      },
    });
  }

  write(...chunks: Array<string | Uint8Array>): void {
    for (const chunk of chunks) this.controller.enqueue(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
  }

  close(): void {
    this.controller.close();
  }

  /** The connection drops: the reader's next read rejects. */
  fail(error: unknown = new TypeError("network error")): void {
    this.controller.error(error);
  }
}

/** The parts a turn opens with, as the server sends them once it has stored the user's message. */
export function startParts(sessionId: string, userMessageId: string): string {
  return sse({ type: "start", messageMetadata: { session_id: sessionId, user_message_id: userMessageId } }) +
    sse({ type: "start-step" }) + sse({ type: "text-start", id: "text-1" });
}

/** The parts a turn closes with: the text's and step's ends, the metadata with the stored reply's id, finish, [DONE]. */
export function endParts(sessionId: string, messageId: string, extra: Record<string, unknown> = {}): string {
  return sse({ type: "text-end", id: "text-1" }) + sse({ type: "finish-step" }) +
    sse({
      type: "message-metadata",
      messageMetadata: {
        session_id: sessionId, tokens: 12, input_tokens: 9, output_tokens: 3, cost_cents: 0.01, model: "offline-1",
        provider: "offline", message_id: messageId, truncated: false, stopped: null, estimated: false, ...extra,
      },
    }) +
    sse({ type: "finish", finishReason: extra.stopped ? "other" : "stop" }) + DONE;
}

/** A piece of the reply's text (the text part startParts() opened). */
export const delta = (text: string): string => sse({ type: "text-delta", id: "text-1", delta: text });

/** A request the fake API was sent: its method, URL, headers and JSON body (parsed). */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: Headers;
  body: unknown;
}

/**
 * A stand-in for the API over fetch, for the real fetch transport: each POST /chat/stream gets a body the test
 * writes into (nextStream() hands it over), or the refusal given to refuseNext(); the history answers what
 * `stored` holds; the stop route answers as the server's does; DELETE /sessions/{id} answers 204 and forgets the
 * session, or the refusal given to refuseDeleteNext().
 */
export class FakeStreamApi {
  /** Every request, in order. */
  readonly requests: RecordedRequest[] = [];
  /** What GET …/history answers, per session: its messages oldest first. */
  readonly stored = new Map<string, HistoryMessageBody[]>();
  /** The session status the history answers with. */
  sessionStatus: SessionBody["status"] = "active";
  private readonly refusals: Response[] = [];
  private readonly deleteRefusals: Response[] = [];
  private readonly waiting: Array<(writer: BodyWriter) => void> = [];
  private readonly opened: BodyWriter[] = [];

  /** A fetch for createFetchTransport({ fetch }): the API's routes as the class's description says. */
  readonly fetch = async (input: string | URL | globalThis.Request, init: RequestInit = {}): Promise<Response> => {
    const url = String(input);
    const method = init.method ?? "GET";
    this.requests.push({ method, url, headers: new Headers(init.headers), body: init.body ? JSON.parse(String(init.body)) : undefined });
    if (method === "POST" && url.endsWith("/chat/stream")) {
      const refusal = this.refusals.shift();
      if (refusal) return refusal;
      const writer = new BodyWriter();
      init.signal?.addEventListener("abort", () => writer.fail(new DOMException("The operation was aborted.", "AbortError")));
      const take = this.waiting.shift();
      if (take) take(writer);
      else this.opened.push(writer);
      return new Response(writer.stream, { status: 200, headers: { "content-type": "text/event-stream; charset=utf-8" } });
    }
    const stop = /\/sessions\/([^/]+)\/stop$/.exec(url);
    if (method === "POST" && stop) {
      const id = decodeURIComponent(stop[1] ?? "");
      const asked = [...(this.stored.get(id) ?? [])].reverse().find((m) => m.role === "user");
      return json(200, { session_id: id, message_id: asked?.id ?? null });
    }
    const deleted = /\/sessions\/([^/?]+)$/.exec(url);
    if (method === "DELETE" && deleted) {
      const refusal = this.deleteRefusals.shift();
      if (refusal) return refusal;
      this.stored.delete(decodeURIComponent(deleted[1] ?? ""));
      return new Response(null, { status: 204 });
    }
    const history = /\/sessions\/([^/]+)\/history/.exec(url);
    if (method === "GET" && history) {
      const id = decodeURIComponent(history[1] ?? "");
      return json(200, { ...historyPage(id, this.stored.get(id) ?? [], { status: this.sessionStatus }), next_cursor: null });
    }
    if (method === "POST" && url.endsWith("/chat")) {
      const body = init.body ? (JSON.parse(String(init.body)) as { message: string; session_id: string | null }) : null;
      return json(200, {
        session_id: body?.session_id ?? "S1", message: `Whole: ${body?.message}`, role: "assistant", function_calls: [],
        metadata: { tokens: 1, input_tokens: 1, output_tokens: 0, cost_cents: 0, model: "m", provider: "p", message_id: "M-whole" },
      });
    }
    return json(404, { detail: "No such route.", code: "not_found" });
  };

  /** The body of the next stream the client opens (or has opened). */
  nextStream(): Promise<BodyWriter> {
    const ready = this.opened.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** The next POST /chat/stream is refused before any stream, with this status and body. */
  refuseNext(status: number, body: unknown): this {
    this.refusals.push(json(status, body));
    return this;
  }

  /** The next DELETE /sessions/{id} is refused with this status and body (nothing is deleted). */
  refuseDeleteNext(status: number, body: unknown): this {
    this.deleteRefusals.push(json(status, body));
    return this;
  }

  /** The requests whose `METHOD url` matches `pattern`. */
  requestsTo(pattern: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => pattern.test(`${r.method} ${r.url}`));
  }
}

/** A JSON response with `status`. */
export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** A stored message as the history answers it. */
export function storedMessage(id: string, role: "user" | "assistant", content: string,
  extra: Partial<HistoryMessageBody> = {}): HistoryMessageBody {
  return { id, role, content, created_at: new Date(0).toISOString(), tokens: 3, status: "ok", ...extra };
}

/** A history page of `messages` (oldest first) as GET …/history answers it, its session's metadata as `session` says. */
export function historyPage(sessionId: string, messages: HistoryMessageBody[], session: Partial<SessionBody> = {},
  page: Pick<HistoryBody, "next_after" | "next_cursor"> = {}): HistoryBody {
  return {
    session_id: sessionId,
    messages,
    metadata: {
      id: sessionId, session_type: "customer_support", status: "active", provider: "offline", model: "offline-1",
      created_at: new Date(0).toISOString(), updated_at: new Date(0).toISOString(), message_count: 0,
      total_tokens: 0, total_cost: 0, user_rating: null, ...session,
    },
    ...page,
  };
}
