import type { UIMessageChunk } from "ai";
import { describe, expect, it } from "vitest";
import { BodyWriter, endParts, sse, startParts } from "../testing/fake-stream";
import { BackendChatTransport } from "./chat-transport";
import type { BackendUIMessage } from "./messages";

interface Call {
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

/** A fetch that records every request and answers each with the next queued response. */
function fakeFetch(...answers: Array<() => Response>) {
  const calls: Call[] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    calls.push({ url: String(input), headers, body: init?.body ? JSON.parse(String(init.body)) : undefined });
    const answer = answers.shift();
    if (!answer) throw new Error(`no answer queued for ${String(input)}`);
    return answer();
  };
  return { fetch: fetch as typeof globalThis.fetch, calls };
}

const streamed = (body: BodyWriter) => () =>
  new Response(body.stream, { status: 200, headers: { "content-type": "text/event-stream" } });
const json = (status: number, body: unknown) => () =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

const asked = (id: string, text: string): BackendUIMessage => ({ id, role: "user", parts: [{ type: "text", text }] });

function send(transport: BackendChatTransport, messages: BackendUIMessage[], trigger: "submit-message" | "regenerate-message" = "submit-message") {
  return transport.sendMessages({
    chatId: "chat-1", messages, trigger, messageId: undefined, abortSignal: undefined,
  });
}

/** Every chunk of a stream, read to its end. */
async function drain(stream: ReadableStream<UIMessageChunk>): Promise<UIMessageChunk[]> {
  const chunks: UIMessageChunk[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return chunks;
    chunks.push(value);
  }
}

const delta = (text: string) => sse({ type: "text-delta", id: "text-1", delta: text });

describe("BackendChatTransport", () => {
  it("sends one message and the session, with the bearer token and an Idempotency-Key, and learns the session from start", async () => {
    const body = new BodyWriter();
    body.write(startParts("S1", "U1"), delta("Hi"), endParts("S1", "M1"));
    body.close();
    const { fetch, calls } = fakeFetch(streamed(body));
    const named: string[] = [];
    const transport = new BackendChatTransport({
      apiBaseUrl: "https://api.test", token: () => "t0k3n", fetch, onSessionId: (id) => named.push(id),
      sessionType: "network_diagnostics",
    });

    const chunks = await drain(await send(transport, [asked("m1", "Hello")]));

    expect(calls[0]!.url).toBe("https://api.test/api/v1/ai/chat/stream");
    expect(calls[0]!.body).toEqual({ message: "Hello", session_id: null, session_type: "network_diagnostics" });
    expect(calls[0]!.headers.authorization).toBe("Bearer t0k3n");
    expect(calls[0]!.headers["idempotency-key"]).toBe("m1");
    expect(chunks.map((c) => c.type)).toContain("text-delta");
    expect(transport.sessionId).toBe("S1");
    expect(named).toEqual(["S1"]);
  });

  it("retries a message that got no stored reply under the same key, and asks again under a new key once one was stored", async () => {
    const cut = new BodyWriter();
    const whole = new BodyWriter();
    whole.write(startParts("S1", "U1"), delta("Whole"), endParts("S1", "M1"));
    whole.close();
    const again = new BodyWriter();
    again.write(startParts("S1", "U2"), delta("Again"), endParts("S1", "M2"));
    again.close();
    const { fetch, calls } = fakeFetch(streamed(cut), streamed(whole), streamed(again));
    const transport = new BackendChatTransport({ token: "t", fetch });
    const messages = [asked("m1", "Hello")];

    const first = (await send(transport, messages)).getReader();
    cut.write(startParts("S1", "U1"), delta("Half"));
    while ((await first.read()).value?.type !== "text-delta");
    cut.fail(); // the connection drops after the reply began: no reply stored that this client knows of
    await expect(first.read()).rejects.toThrow();
    await drain(await send(transport, messages, "regenerate-message"));
    await drain(await send(transport, messages, "regenerate-message"));

    expect(calls.map((c) => c.headers["idempotency-key"])).toEqual(["m1", "m1", "m1.1"]);
    expect(calls.map((c) => (c.body as { session_id: unknown }).session_id)).toEqual([null, "S1", "S1"]);
  });

  it("stops a reply where useChat is: the stream ends there and the stop route is told how many deltas were shown", async () => {
    const body = new BodyWriter();
    const { fetch, calls } = fakeFetch(streamed(body), json(200, { session_id: "S1", message_id: "U1", ended: false }));
    const transport = new BackendChatTransport({ token: "t", fetch });
    const reader = (await send(transport, [asked("m1", "Hello")])).getReader();
    body.write(startParts("S1", "U1"), delta("one "), delta("two "));
    const seen: UIMessageChunk[] = [];
    while (seen.filter((c) => c.type === "text-delta").length < 2) seen.push((await reader.read()).value!);

    const answer = await transport.stop();

    expect(answer).toEqual({ session_id: "S1", message_id: "U1", ended: false });
    expect(calls[1]!.url).toBe("/api/v1/ai/sessions/S1/stop");
    expect(calls[1]!.body).toEqual({ deltas_shown: 2 });
    expect(await reader.read()).toEqual({ done: true, value: undefined });
    expect(body.cancelled).toBe(true); // the response is no longer read: the connection is let go
    expect(await transport.stop()).toBeNull();
  });

  it("keeps a Stop pressed before the reply's start, and sends it as soon as start names the session", async () => {
    const body = new BodyWriter();
    const { fetch, calls } = fakeFetch(streamed(body), json(200, { session_id: "S9", message_id: "U1", ended: false }));
    const transport = new BackendChatTransport({ token: "t", fetch });
    const sent = send(transport, [asked("m1", "Hello")]);
    const stopped = transport.stop();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls.map((c) => c.url)).toEqual(["/api/v1/ai/chat/stream"]);

    body.write(startParts("S9", "U1"), delta("never shown"));
    const chunks = await drain(await sent);

    expect(await stopped).toEqual({ session_id: "S9", message_id: "U1", ended: false });
    expect(calls[1]!.body).toEqual({ deltas_shown: 0 });
    expect(chunks.map((c) => c.type)).toEqual(["start"]);
  });

  it("answers a stop with null when the message was refused before any stream", async () => {
    const { fetch } = fakeFetch(json(429, { detail: "Daily limit reached.", code: "daily_cost_limit_exceeded" }));
    const transport = new BackendChatTransport({ token: "t", fetch });
    const sent = send(transport, [asked("m1", "Hello")]);
    const stopped = transport.stop();
    await expect(sent).rejects.toThrow(/daily_cost_limit_exceeded/);
    expect(await stopped).toBeNull();
  });

  it("has no stream to resume: a dropped reply is read from the history", async () => {
    const transport = new BackendChatTransport({ token: "t" });
    expect(await transport.reconnectToStream({ chatId: "chat-1" })).toBeNull();
  });
});
