import { describe, expect, it, vi } from "vitest";
import { ChatApiError } from "./chat-error";
import { createFetchTransport, type TokenSource } from "./transport";

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

function transportAnswering(response: () => Response | Promise<Response>, getToken: TokenSource = () => "tok") {
  const fetchMock = vi.fn(async (_url: string, _init?: RequestInit) => response());
  const transport = createFetchTransport({ apiBaseUrl: "https://api.test/", getToken, fetch: fetchMock as typeof fetch });
  const request = (n = 0) => {
    const [url, init] = fetchMock.mock.calls[n] ?? [];
    return { url, init, headers: new Headers(init?.headers) };
  };
  return { transport, fetchMock, request };
}

describe("createFetchTransport", () => {
  it("posts a chat as JSON to /api/v1/ai/chat with the Bearer token and the Idempotency-Key", async () => {
    const { transport, request } = transportAnswering(() => jsonResponse(200, { session_id: "S1", message: "hi" }));
    const reply = await transport.chat({ message: "hello", session_id: null }, { idempotencyKey: "key-1" });
    expect(reply).toMatchObject({ session_id: "S1", message: "hi" });
    const { url, init, headers } = request();
    expect(url).toBe("https://api.test/api/v1/ai/chat");
    expect(init?.method).toBe("POST");
    expect(headers.get("Authorization")).toBe("Bearer tok");
    expect(headers.get("Content-Type")).toBe("application/json");
    expect(headers.get("Idempotency-Key")).toBe("key-1");
    expect(JSON.parse(String(init?.body))).toEqual({ message: "hello", session_id: null });
  });

  it("asks for the token before every request, awaiting it when it is a promise", async () => {
    let n = 0;
    const { transport, request } = transportAnswering(() => jsonResponse(200, {}), async () => `t${++n}`);
    await transport.sessionFeedback("S1", { rating: 5 });
    await transport.escalate("S1", { reason: "help" });
    expect(request(0).headers.get("Authorization")).toBe("Bearer t1");
    expect(request(1).headers.get("Authorization")).toBe("Bearer t2");
  });

  it("builds each route's path, encoding ids and the history page's query", async () => {
    const { transport, fetchMock } = transportAnswering(() => jsonResponse(200, {}));
    await transport.history("S/1", { limit: 20, cursor: "abc=" });
    await transport.history("S1");
    await transport.createSession({ session_type: "analytics" });
    await transport.sessionFeedback("S1", { rating: 4 });
    await transport.rateMessage("S1", "M 1", { rating: "up" });
    await transport.escalate("S1", { reason: "x" });
    await transport.history("S1", { after: "M 9", limit: 50 });
    await transport.withdraw?.("S/1");
    expect(fetchMock.mock.calls.map(([url, init]) => `${init?.method} ${url}`)).toEqual([
      "GET https://api.test/api/v1/ai/sessions/S%2F1/history?limit=20&cursor=abc%3D",
      "GET https://api.test/api/v1/ai/sessions/S1/history",
      "POST https://api.test/api/v1/ai/sessions",
      "POST https://api.test/api/v1/ai/sessions/S1/feedback",
      "POST https://api.test/api/v1/ai/sessions/S1/messages/M%201/feedback",
      "POST https://api.test/api/v1/ai/sessions/S1/escalate",
      "GET https://api.test/api/v1/ai/sessions/S1/history?limit=50&after=M+9",
      "POST https://api.test/api/v1/ai/sessions/S%2F1/withdraw",
    ]);
    // The withdrawal's body is the empty object the route takes.
    expect(fetchMock.mock.calls[7]?.[1]?.body).toBe("{}");
  });

  it("deletes a session with DELETE and the token, reading nothing of the 204; a refusal is its error", async () => {
    const answers = [new Response(null, { status: 204 }),
      jsonResponse(409, { detail: "A reply in this session is still being written.", code: "turn_in_progress" })];
    const { transport, request } = transportAnswering(() => answers.shift()!);
    await expect(transport.deleteSession?.("S/1")).resolves.toBeUndefined();
    const { url, init, headers } = request();
    expect(`${init?.method} ${url}`).toBe("DELETE https://api.test/api/v1/ai/sessions/S%2F1");
    expect(headers.get("Authorization")).toBe("Bearer tok");
    expect(init?.body).toBeUndefined();
    const refused = await transport.deleteSession?.("S1").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ChatApiError);
    expect(refused).toMatchObject({ status: 409, code: "turn_in_progress", kind: "busy", retryable: true });
  });

  it("uses the page's own origin when there is no base URL", async () => {
    const fetchMock = vi.fn(async () => jsonResponse(200, {}));
    const transport = createFetchTransport({ getToken: () => "t", fetch: fetchMock as typeof fetch });
    await transport.createSession({ session_type: "analytics" });
    expect(fetchMock.mock.calls[0]).toEqual(["/api/v1/ai/sessions", expect.anything()]);
  });

  it("turns an API error into a ChatApiError carrying detail, code, limit and used", async () => {
    const { transport } = transportAnswering(() =>
      jsonResponse(400, { detail: "Today's budget is spent.", code: "daily_cost_limit_exceeded", limit: 100, used: 100.2 }),
    );
    const error = await transport.chat({ message: "x", session_id: "S1" }, { idempotencyKey: "k" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChatApiError);
    expect(error).toMatchObject({
      message: "Today's budget is spent.", status: 400, code: "daily_cost_limit_exceeded", kind: "limit",
      retryable: false, limit: 100, used: 100.2,
    });
  });

  it("says something a person can act on when the error has no JSON body", async () => {
    const { transport } = transportAnswering(() => new Response("<html>Bad gateway</html>", { status: 502 }));
    await expect(transport.history("S1")).rejects.toMatchObject({
      status: 502, code: "http_502", kind: "provider", retryable: true,
      message: "The assistant is not answering right now. Try again in a moment.",
    });
  });

  it("reports a request that never got an answer as a network error worth retrying", async () => {
    const { transport } = transportAnswering(() => {
      throw new TypeError("Failed to fetch");
    });
    await expect(transport.history("S1")).rejects.toMatchObject({ status: 0, kind: "network", retryable: true });
  });

  it("reports a token that cannot be had as a sign-in problem, without calling the API", async () => {
    const { transport, fetchMock } = transportAnswering(() => jsonResponse(200, {}), () => {
      throw new Error("signed out");
    });
    await expect(transport.history("S1")).rejects.toMatchObject({ status: 401, kind: "auth", code: "token_unavailable" });
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it("classifies the API's other answers", () => {
    const of = (status: number, code?: string) => new ChatApiError(status, code ? { code } : null);
    expect(of(400, "session_not_active")).toMatchObject({ kind: "session-closed", retryable: false });
    expect(of(404, "session_not_found")).toMatchObject({ kind: "not-found", retryable: false });
    expect(of(409, "request_in_progress")).toMatchObject({ kind: "busy", retryable: true });
    expect(of(422, "invalid_input")).toMatchObject({ kind: "invalid", retryable: false });
    expect(of(503, "provider_not_configured")).toMatchObject({ kind: "provider", retryable: false });
    expect(of(504, "provider_timeout")).toMatchObject({ kind: "provider", retryable: true });
    expect(of(401)).toMatchObject({ kind: "auth", retryable: true });
  });

  it("posts a stream to /chat/stream (or streamUrl) with the token and the message's Idempotency-Key, and reads its parts", async () => {
    const body = 'data: {"type":"start","messageMetadata":{"session_id":"S1"}}\n\ndata: [DONE]\n\n';
    const answer = () => new Response(body, { status: 200, headers: { "content-type": "text/event-stream; charset=utf-8" } });
    const { transport, request } = transportAnswering(answer);
    const parts = await transport.chatStream?.({ message: "hi", session_id: null }, { signal: new AbortController().signal, idempotencyKey: "key-1" });
    const read: unknown[] = [];
    for await (const part of parts ?? []) read.push(part);
    expect(read).toEqual([{ type: "start", messageMetadata: { session_id: "S1" } }, { type: "done" }]);
    const { url, init, headers } = request();
    expect([init?.method, url]).toEqual(["POST", "https://api.test/api/v1/ai/chat/stream"]);
    expect(headers.get("Authorization")).toBe("Bearer tok");
    expect(headers.get("Accept")).toBe("text/event-stream");
    expect(headers.get("Idempotency-Key")).toBe("key-1");
    expect(init?.signal).toBeInstanceOf(AbortSignal);

    const fetchMock = vi.fn(async () => answer());
    const elsewhere = createFetchTransport({
      apiBaseUrl: "https://api.test", streamUrl: "https://stream.test/prod/api/v1/ai/chat/stream", getToken: () => "t",
      fetch: fetchMock as typeof fetch,
    });
    await elsewhere.chatStream?.({ message: "hi", session_id: null }, { signal: new AbortController().signal, idempotencyKey: "key-2" });
    expect(fetchMock.mock.calls[0]).toEqual(["https://stream.test/prod/api/v1/ai/chat/stream", expect.anything()]);
  });

  it("rejects a stream refused before it began with the API's error, and an answer that is no stream as invalid", async () => {
    const options = { signal: new AbortController().signal, idempotencyKey: "key-3" };
    const refused = transportAnswering(() => jsonResponse(400, { detail: "Limit reached.", code: "session_message_limit_exceeded" }));
    await expect(refused.transport.chatStream?.({ message: "x", session_id: "S1" }, options))
      .rejects.toMatchObject({ status: 400, kind: "limit", message: "Limit reached." });
    const gateway = transportAnswering(() => jsonResponse(401, { message: "Unauthorized" }));
    await expect(gateway.transport.chatStream?.({ message: "x", session_id: "S1" }, options))
      .rejects.toMatchObject({ status: 401, kind: "auth", code: "http_401" });
    const html = transportAnswering(() => new Response("<html>hi</html>", { status: 200, headers: { "content-type": "text/html" } }));
    await expect(html.transport.chatStream?.({ message: "x", session_id: "S1" }, options))
      .rejects.toMatchObject({ code: "invalid_response" });
  });

  it("stops a session's streaming reply with POST /sessions/{id}/stop and an empty body", async () => {
    const { transport, request } = transportAnswering(() => jsonResponse(200, { session_id: "S 1", message_id: "U1" }));
    await expect(transport.stopReply?.("S 1")).resolves.toEqual({ session_id: "S 1", message_id: "U1" });
    const { url, init } = request();
    expect([init?.method, url, init?.body]).toEqual(["POST", "https://api.test/api/v1/ai/sessions/S%201/stop", "{}"]);
  });
});
