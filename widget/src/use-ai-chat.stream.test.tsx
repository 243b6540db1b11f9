import { act, renderHook, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ChatClient } from "./chat-client";
import { delta, DONE, endParts, FakeStreamApi, sse, startParts, storedMessage } from "./testing/fake-stream";
import { createFetchTransport } from "./transport";
import { useAIChat } from "./use-ai-chat";

afterEach(() => {
  vi.unstubAllGlobals();
});

/** The hook over a client of the real fetch transport, talking to a fake API; quick recovery and stop grace. */
function setup() {
  const api = new FakeStreamApi();
  const client = new ChatClient({
    transport: createFetchTransport({ apiBaseUrl: "https://api.test", getToken: () => "tok", fetch: api.fetch }),
    storage: null,
    recoveryDelays: [0, 20, 20, 20, 20],
    stopGraceMs: 100,
  });
  const hook = renderHook(() => useAIChat({ client }));
  return { api, client, ...hook };
}

/** Send `text` without waiting for the reply; resolves with the promise sendMessage returned. */
function sendWithoutWaiting(result: { current: ReturnType<typeof useAIChat> }, text: string) {
  let sent!: ReturnType<ReturnType<typeof useAIChat>["sendMessage"]>;
  act(() => {
    sent = result.current.sendMessage(text);
    sent.catch(() => undefined);
  });
  return sent;
}

const reply = (result: { current: ReturnType<typeof useAIChat> }) =>
  result.current.chatHistory.find((m) => m.role === "assistant");

describe("useAIChat streaming", () => {
  it("streams by default: the reply grows in chatHistory as its deltas arrive, then takes the stored reply's id", async () => {
    const api = new FakeStreamApi();
    vi.stubGlobal("fetch", api.fetch);
    const { result } = renderHook(() => useAIChat({ apiBaseUrl: "https://api.test", getToken: () => "tok", storage: null }));
    const sent = sendWithoutWaiting(result, "Hello there");
    expect(result.current).toMatchObject({ isSending: true, isStreaming: false, status: "submitted" });

    const body = await api.nextStream();
    await waitFor(() => expect(result.current.canStop).toBe(true)); // from the moment the request goes out
    const [request] = api.requestsTo(/chat\/stream/);
    expect(request?.url).toBe("https://api.test/api/v1/ai/chat/stream");
    expect(request?.headers.get("Authorization")).toBe("Bearer tok");
    expect(request?.headers.get("Idempotency-Key")).toMatch(/^\S+$/); // a retry before the stream began repeats it
    expect(request?.body).toEqual({ message: "Hello there", session_id: null, session_type: "customer_support" });

    await act(async () => body.write(startParts("S1", "U1"), delta("Hel")));
    await waitFor(() => expect(reply(result)?.content).toBe("Hel"));
    const streaming = reply(result);
    expect(streaming).toMatchObject({ status: "streaming", id: expect.stringMatching(/^local-/) });
    expect(result.current).toMatchObject({ isSending: true, isStreaming: true, status: "streaming", sessionId: "S1" });
    expect(result.current.chatHistory[0]).toMatchObject({ role: "user", status: "sent" });

    await act(async () => body.write(delta("lo, ")));
    await waitFor(() => expect(reply(result)?.content).toBe("Hello, "));
    await act(async () => body.write(delta("you."), endParts("S1", "M1")));
    await act(async () => {
      await expect(sent).resolves.toMatchObject({ session_id: "S1", message: "Hello, you.", metadata: { message_id: "M1" } });
    });
    expect(reply(result)).toMatchObject({ id: "M1", key: streaming?.key, status: "sent", content: "Hello, you.", stopped: null });
    expect(result.current).toMatchObject({ isSending: false, isStreaming: false, status: "ready", canStop: false });
  });

  it("sends to streamUrl when given, and to POST /chat with an Idempotency-Key when stream is false", async () => {
    const api = new FakeStreamApi();
    vi.stubGlobal("fetch", api.fetch);
    const streamed = renderHook(() => useAIChat({
      apiBaseUrl: "https://api.test", streamUrl: "https://stream.test/prod/api/v1/ai/chat/stream", getToken: () => "t",
      storage: null,
    }));
    sendWithoutWaiting(streamed.result, "one");
    await api.nextStream();
    expect(api.requests.map((r) => r.url)).toEqual(["https://stream.test/prod/api/v1/ai/chat/stream"]);

    const whole = renderHook(() => useAIChat({ apiBaseUrl: "https://api.test", getToken: () => "t", storage: null, stream: false }));
    await act(async () => {
      await whole.result.current.sendMessage("two");
    });
    const last = api.requests.at(-1);
    expect(last?.url).toBe("https://api.test/api/v1/ai/chat");
    expect(last?.headers.get("Idempotency-Key")).toMatch(/\S/);
    expect(whole.result.current.chatHistory.map((m) => m.content)).toEqual(["two", "Whole: two"]);
  });

  it("shows a tool call when its input arrives, running, and updates the same call with its output", async () => {
    const { api, result } = setup();
    const sent = sendWithoutWaiting(result, "create a ticket: router broken");
    const body = await api.nextStream();
    await act(async () => body.write(
      sse({ type: "start", messageMetadata: { session_id: "S1", user_message_id: "U1" } }), sse({ type: "start-step" }),
      sse({ type: "tool-input-available", toolCallId: "c1", toolName: "create_ticket", input: { title: "router broken" }, dynamic: true }),
    ));
    await waitFor(() => expect(reply(result)?.functionCalls).toEqual([
      { id: "c1", name: "create_ticket", arguments: { title: "router broken" }, status: "running", result: {} },
    ]));
    expect(reply(result)?.content).toBe("");
    await act(async () => body.write(
      sse({ type: "tool-output-available", toolCallId: "c1", output: { id: "T1", title: "router broken" }, dynamic: true }),
      sse({ type: "finish-step" }), sse({ type: "start-step" }), sse({ type: "text-start", id: "text-2" }),
      sse({ type: "text-delta", id: "text-2", delta: "Ticket created." }),
    ));
    await waitFor(() => expect(reply(result)?.content).toBe("Ticket created."));
    expect(reply(result)?.functionCalls).toMatchObject([{ id: "c1", status: "ok", result: { id: "T1" } }]);
    await act(async () => {
      body.write(sse({ type: "text-end", id: "text-2" }), endParts("S1", "M1").replace(/.*text-end.*\n\n/, ""));
      await sent;
    });
    expect(reply(result)).toMatchObject({ id: "M1", status: "sent", functionCalls: [{ name: "create_ticket", status: "ok" }] });
    expect(result.current.sessionStatus).toBe("active");
  });

  it("follows the model's hand-over in a stream: the session is escalated", async () => {
    const { api, result } = setup();
    const sent = sendWithoutWaiting(result, "talk to a person");
    const body = await api.nextStream();
    await act(async () => {
      body.write(
        sse({ type: "start", messageMetadata: { session_id: "S1", user_message_id: "U1" } }), sse({ type: "start-step" }),
        sse({ type: "tool-input-available", toolCallId: "c1", toolName: "escalate_to_human", input: { reason: "x" } }),
        sse({ type: "tool-output-available", toolCallId: "c1", output: { status: "escalated" } }),
        sse({ type: "finish-step" }), sse({ type: "text-start", id: "text-answer" }),
        sse({ type: "text-delta", id: "text-answer", delta: "A person will take over." }),
        endParts("S1", "M1", { stopped: "escalated" }),
      );
      await sent;
    });
    expect(result.current).toMatchObject({ sessionStatus: "escalated", canSend: true });
    expect(reply(result)).toMatchObject({ content: "A person will take over.", stopped: "escalated" });
  });

  it("shows a message streamed while a person has the session as sent, with no reply, whatever sentence the server adds", async () => {
    const { api, result } = setup();
    const first = sendWithoutWaiting(result, "talk to a person");
    const body = await api.nextStream();
    await act(async () => {
      body.write(startParts("S1", "U1"), delta("Someone will help."), endParts("S1", "M1", { stopped: "escalated" }));
      await first;
    });
    expect(result.current.sessionStatus).toBe("escalated");

    const kept = sendWithoutWaiting(result, "It is about my bill");
    const next = await api.nextStream();
    await waitFor(() => expect(result.current.isSending).toBe(true));
    // Nothing to stop: no model answers a message kept for a person.
    expect(result.current.canStop).toBe(false);
    await act(async () => {
      // As the server answers then: the message stored, the turn's own sentence, its id as the metadata's message_id.
      next.write(
        sse({ type: "start", messageMetadata: { session_id: "S1", user_message_id: "U2" } }),
        sse({ type: "text-start", id: "text-answer" }),
        sse({ type: "text-delta", id: "text-answer", delta: "A person from our support team has this conversation." }),
        sse({ type: "text-end", id: "text-answer" }),
      );
    });
    // The server has the message: it is sent, and the sentence never shows as a reply.
    await waitFor(() => expect(result.current.chatHistory[2]).toMatchObject({ role: "user", status: "sent" }));
    expect(result.current.chatHistory).toHaveLength(3);
    await act(async () => {
      next.write(
        sse({ type: "message-metadata", messageMetadata: { session_id: "S1", message_id: "U2", tokens: 0, stopped: "escalated" } }),
        sse({ type: "finish", finishReason: "other" }), DONE,
      );
      await expect(kept).resolves.toMatchObject({ status: "waiting_for_person", metadata: { message_id: "U2" } });
    });
    expect(result.current.chatHistory.map((m) => [m.role, m.id, m.status]).slice(2)).toEqual([["user", "U2", "sent"]]);
    expect(result.current).toMatchObject({ sessionStatus: "escalated", isSending: false, canSend: true, canStop: false });
  });

  it("shows the assistant's reply to a message sent while escalated when the session was handed back meanwhile", async () => {
    const { api, result } = setup();
    const first = sendWithoutWaiting(result, "talk to a person");
    const body = await api.nextStream();
    await act(async () => {
      body.write(startParts("S1", "U1"), delta("Someone will help."), endParts("S1", "M1", { stopped: "escalated" }));
      await first;
    });
    const sent = sendWithoutWaiting(result, "Still there?");
    const next = await api.nextStream();
    await act(async () => {
      next.write(startParts("S1", "U2"), delta("Yes, I am back."), endParts("S1", "M2"));
      await sent;
    });
    expect(result.current.chatHistory.at(-1)).toMatchObject({ role: "assistant", id: "M2", content: "Yes, I am back." });
    expect(result.current.sessionStatus).toBe("active");
  });

  it("Stop asks the server to stop, keeps the partial reply marked stopped, and takes messages again", async () => {
    const { api, result } = setup();
    const sent = sendWithoutWaiting(result, "a long story");
    const body = await api.nextStream();
    await act(async () => body.write(startParts("S1", "U1"), delta("Once upon ")));
    await waitFor(() => expect(reply(result)?.content).toBe("Once upon "));
    api.stored.set("S1", [storedMessage("U1", "user", "a long story", { status: "pending" })]);

    await act(async () => {
      await result.current.stop();
    });
    expect(api.requestsTo(/^POST .*\/stop$/).map((r) => [r.url, r.body])).toEqual([
      ["https://api.test/api/v1/ai/sessions/S1/stop", {}],
    ]);
    expect(result.current).toMatchObject({ isStopping: true, canStop: false, isSending: true });

    // The server ends the reply where it got to, a word later, and stores it so.
    await act(async () => {
      body.write(delta("a time"), endParts("S1", "M1", { stopped: "stopped", estimated: true }));
      await sent;
    });
    expect(reply(result)).toMatchObject({ id: "M1", content: "Once upon a time", status: "sent", stopped: "stopped", estimated: true });
    expect(result.current).toMatchObject({ isStopping: false, isSending: false, canSend: true, status: "ready", error: null });
  });

  it("Stop before the stream has named its new session is sent once it has", async () => {
    const { api, result } = setup();
    sendWithoutWaiting(result, "hi");
    const body = await api.nextStream();
    await act(async () => {
      await result.current.stop();
    });
    expect(api.requestsTo(/\/stop$/)).toHaveLength(0);
    await act(async () => body.write(startParts("S9", "U1")));
    await waitFor(() => expect(api.requestsTo(/\/stop$/).map((r) => r.url)).toEqual(["https://api.test/api/v1/ai/sessions/S9/stop"]));
  });

  it("a stopped reply that streams on past the grace is read no further, and the stored reply is shown", async () => {
    const { api, result } = setup();
    const sent = sendWithoutWaiting(result, "go on");
    const body = await api.nextStream();
    await act(async () => body.write(startParts("S1", "U1"), delta("Partial")));
    await waitFor(() => expect(reply(result)?.content).toBe("Partial"));
    api.stored.set("S1", [
      storedMessage("U1", "user", "go on"), storedMessage("M1", "assistant", "Partial reply", { stopped: "stopped", estimated: true }),
    ]);
    await act(async () => {
      await result.current.stop();
      await sent; // the stream never ends: after the grace the client stops reading it
    });
    expect(reply(result)).toMatchObject({ id: "M1", content: "Partial reply", stopped: "stopped", status: "sent" });
    expect(api.requestsTo(/GET .*\/history/).length).toBeGreaterThan(0);
    expect(result.current).toMatchObject({ isSending: false, isStopping: false });
  });

  it("a dropped connection loads the stored reply from the history, in the same place, and sends nothing again", async () => {
    const { api, result } = setup();
    const sent = sendWithoutWaiting(result, "tell me");
    const body = await api.nextStream();
    await act(async () => body.write(startParts("S1", "U1"), delta("The first ")));
    await waitFor(() => expect(reply(result)?.content).toBe("The first "));
    const key = reply(result)?.key;
    // The server goes on without the client: at first the turn is still being answered, then it is stored.
    api.stored.set("S1", [storedMessage("U1", "user", "tell me", { status: "pending" })]);
    setTimeout(() => api.stored.set("S1", [
      storedMessage("U1", "user", "tell me"), storedMessage("M7", "assistant", "The first words and the rest."),
    ]), 30);
    await act(async () => {
      body.fail(new TypeError("network error"));
      await expect(sent).resolves.toMatchObject({ message: "The first words and the rest.", metadata: { message_id: "M7" } });
    });
    expect(reply(result)).toMatchObject({ id: "M7", key, content: "The first words and the rest.", status: "sent" });
    expect(api.requestsTo(/GET .*\/history/).length).toBeGreaterThanOrEqual(2);
    expect(api.requestsTo(/chat\/stream/)).toHaveLength(1);
    expect(result.current).toMatchObject({ isSending: false, error: null, status: "ready" });
  });

  it("a stream that ends without finish or [DONE] is read as dropped: the reply comes from the history", async () => {
    const { api, result } = setup();
    const sent = sendWithoutWaiting(result, "hi");
    const body = await api.nextStream();
    api.stored.set("S1", [storedMessage("U1", "user", "hi"), storedMessage("M2", "assistant", "Hi, how can I help?")]);
    await act(async () => {
      body.write(startParts("S1", "U1"), delta("Hi, how"));
      body.close();
      await sent;
    });
    expect(reply(result)).toMatchObject({ id: "M2", content: "Hi, how can I help?", status: "sent" });
  });

  it("a turn that fails mid-stream with nothing stored marks the message failed with the API's code; retry sends it again", async () => {
    const { api, result } = setup();
    const sent = sendWithoutWaiting(result, "hello");
    const body = await api.nextStream();
    await act(async () => {
      body.write(
        startParts("S1", "U1"),
        // As the server ends a failed turn: the code first, as useChat reads nothing after `error`.
        sse({ type: "data-error", data: { code: "provider_error", detail: "The AI provider failed to answer. Try again in a moment.", session_id: "S1" }, transient: true }),
        sse({ type: "error", errorText: "The AI provider failed to answer. Try again in a moment." }),
        sse({ type: "finish", finishReason: "error" }),
        "data: [DONE]\n\n",
      );
      await expect(sent).rejects.toMatchObject({ code: "provider_error", kind: "provider", retryable: true });
    });
    expect(result.current.chatHistory.map((m) => [m.role, m.status])).toEqual([["user", "failed"]]);
    expect(result.current.sendError?.message).toBe("The AI provider failed to answer. Try again in a moment.");
    expect(result.current).toMatchObject({ failedAction: "send", status: "error", sessionId: "S1" });

    let again!: Promise<unknown>;
    act(() => {
      again = result.current.retry();
    });
    const second = await api.nextStream();
    expect(api.requestsTo(/chat\/stream/).at(-1)?.body).toEqual({ message: "hello", session_id: "S1" });
    await act(async () => {
      second.write(startParts("S1", "U2"), delta("Hello!"), endParts("S1", "M3"));
      await again;
    });
    expect(result.current.chatHistory.map((m) => [m.role, m.content, m.status])).toEqual([
      ["user", "hello", "sent"], ["assistant", "Hello!", "sent"],
    ]);
  });

  it("a stream its provider cut keeps the partial reply as stored, from the metadata sent before the error part", async () => {
    const { api, result } = setup();
    const sent = sendWithoutWaiting(result, "answer me");
    const body = await api.nextStream();
    const detail = "The model provider's reply was cut short; what arrived is kept. Send your message again to continue.";
    await act(async () => {
      body.write(
        startParts("S1", "U1"),
        delta("Half of an answer"),
        sse({ type: "text-end", id: "text-1" }),
        sse({ type: "finish-step" }),
        sse({ type: "data-error", data: { code: "provider_error", detail, session_id: "S1" }, transient: true }),
        sse({
          type: "message-metadata",
          messageMetadata: {
            session_id: "S1", tokens: 30, input_tokens: 20, output_tokens: 10, cost_cents: 0.02, model: "m", provider: "openai",
            message_id: "M1", truncated: false, stopped: "provider_error", estimated: true,
          },
        }),
        sse({ type: "error", errorText: detail }),
        sse({ type: "finish", finishReason: "error" }),
        DONE,
      );
      await expect(sent).resolves.toMatchObject({ message: "Half of an answer", metadata: { message_id: "M1", stopped: "provider_error" } });
    });
    expect(reply(result)).toMatchObject({ id: "M1", status: "sent", content: "Half of an answer", stopped: "provider_error", estimated: true });
    expect(result.current.chatHistory[0]).toMatchObject({ role: "user", status: "sent" });
    expect(api.requestsTo(/history/)).toEqual([]); // the stream said everything: nothing is read again
  });

  it("a refusal before the stream is the usual failed message: API Gateway's 429 says Not sent and offers a retry under the same Idempotency-Key", async () => {
    const { api, result } = setup();
    api.refuseNext(429, { message: "Too Many Requests" });
    await act(async () => {
      await expect(result.current.sendMessage("hi")).rejects.toMatchObject({ status: 429, kind: "throttled", retryable: true });
    });
    expect(result.current.chatHistory.map((m) => [m.role, m.status])).toEqual([["user", "failed"]]);
    expect(result.current.canStop).toBe(false);

    let again!: Promise<unknown>;
    act(() => {
      again = result.current.retry();
    });
    const body = await api.nextStream();
    const keys = api.requestsTo(/chat\/stream/).map((r) => r.headers.get("Idempotency-Key"));
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^\S+$/);
    expect(keys[1]).toBe(keys[0]); // it may have reached the server: the same key is answered from that turn
    await act(async () => {
      body.write(startParts("S1", "U1"), delta("Hi!"), endParts("S1", "M1"));
      await again;
    });
    expect(result.current.chatHistory.map((m) => [m.role, m.content, m.status])).toEqual([
      ["user", "hi", "sent"], ["assistant", "Hi!", "sent"],
    ]);
    expect(result.current.error).toBeNull();
  });
});
