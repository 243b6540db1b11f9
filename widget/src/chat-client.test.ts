import { afterEach, describe, expect, it, vi } from "vitest";
import type { ChatRequestBody } from "./api-types";
import { ChatClient } from "./chat-client";
import { ChatApiError } from "./chat-error";
import { storageKeyFor } from "./session-storage";
import { escalationCall, fakeCall, FakeTransport, MemoryStorage, ticketCall } from "./testing/fake-transport";

function setup(options: { storage?: MemoryStorage; transport?: FakeTransport; context?: Record<string, unknown> } = {}) {
  const transport = options.transport ?? new FakeTransport();
  const storage = options.storage ?? new MemoryStorage();
  let n = 0;
  const client = new ChatClient({
    transport,
    storage,
    sessionType: "admin_assistant",
    context: options.context,
    newId: () => `id${++n}`,
  });
  return { client, transport, storage };
}

const providerDown = () =>
  new ChatApiError(502, { code: "provider_error", detail: "The AI provider failed to answer. Try again in a moment." });

describe("ChatClient sending", () => {
  it("starts a session of its session type with the first message and keeps the id under a key naming the type", async () => {
    const { client, transport, storage } = setup();
    const reply = await client.sendMessage("  hello  ");
    const [body] = transport.callsOf("chat")[0] as [ChatRequestBody];
    expect(body).toEqual({ message: "hello", session_id: null, session_type: "admin_assistant" });
    expect(reply.message).toBe("Echo: hello");
    expect(client.getSnapshot().sessionId).toBe(reply.session_id);
    expect(storage.getItem(storageKeyFor("admin_assistant"))).toBe(reply.session_id);
    expect(storageKeyFor("admin_assistant")).toContain("admin_assistant");
  });

  it("shows the user's message at once, is submitted until the reply comes, then shows the reply after it", async () => {
    const { client, transport } = setup();
    const release = transport.hold("chat");
    const sent = client.sendMessage("hi");
    const pending = client.getSnapshot();
    expect(pending.status).toBe("submitted");
    expect(pending.messages.map((m) => [m.role, m.content, m.status])).toEqual([["user", "hi", "pending"]]);
    release();
    await sent;
    const done = client.getSnapshot();
    expect(done.status).toBe("ready");
    expect(done.messages.map((m) => [m.role, m.content, m.status])).toEqual([
      ["user", "hi", "sent"],
      ["assistant", "Echo: hi", "sent"],
    ]);
    expect(done.messages[1]?.id).toMatch(/^M/);
  });

  it("sends later messages to the same session without a session type", async () => {
    const { client, transport } = setup();
    const first = await client.sendMessage("one");
    await client.sendMessage("two");
    const [body] = transport.callsOf("chat")[1] as [ChatRequestBody];
    expect(body).toEqual({ message: "two", session_id: first.session_id });
  });

  it("sends messages typed in quick succession one after another, into one new session", async () => {
    const { client, transport } = setup();
    const release = transport.hold("chat");
    const a = client.sendMessage("a");
    const b = client.sendMessage("b");
    await Promise.resolve();
    expect(transport.callsOf("chat")).toHaveLength(1);
    release();
    const [ra, rb] = await Promise.all([a, b]);
    expect(rb.session_id).toBe(ra.session_id);
    expect(transport.sessions.size).toBe(1);
    expect(client.getSnapshot().messages.map((m) => m.content)).toEqual(["a", "b", "Echo: a", "Echo: b"]);
  });

  it("merges the client's context with the message's, the message's values winning", async () => {
    const { client, transport } = setup({ context: { page: "dashboard", role: "admin" } });
    await client.sendMessage("hi", { page: "billing" });
    const [body] = transport.callsOf("chat")[0] as [ChatRequestBody];
    expect(body.context).toEqual({ page: "billing", role: "admin" });
  });

  it("refuses an empty message without calling the API", async () => {
    const { client, transport } = setup();
    await expect(client.sendMessage("   ")).rejects.toMatchObject({ kind: "invalid" });
    expect(transport.calls).toHaveLength(0);
    expect(client.getSnapshot().messages).toHaveLength(0);
  });
});

describe("ChatClient failures and retry", () => {
  it("marks a failed message failed with the API's detail, and retry sends it again with the same Idempotency-Key", async () => {
    const { client, transport } = setup();
    transport.failNext("chat", providerDown());
    await expect(client.sendMessage("hello")).rejects.toThrow("The AI provider failed to answer. Try again in a moment.");
    const failed = client.getSnapshot();
    expect(failed.status).toBe("error");
    expect(failed.failedAction).toBe("send");
    expect(failed.error?.retryable).toBe(true);
    expect(failed.messages.map((m) => [m.content, m.status])).toEqual([["hello", "failed"]]);

    await client.retry();
    const keys = transport.callsOf("chat").map(([, options]) => (options as { idempotencyKey: string }).idempotencyKey);
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
    const after = client.getSnapshot();
    expect(after.status).toBe("ready");
    expect(after.error).toBeNull();
    expect(after.messages.map((m) => [m.content, m.status])).toEqual([["hello", "sent"], ["Echo: hello", "sent"]]);
  });

  it("gives each new message its own Idempotency-Key", async () => {
    const { client, transport } = setup();
    await client.sendMessage("one");
    await client.sendMessage("two");
    const keys = transport.callsOf("chat").map(([, options]) => (options as { idempotencyKey: string }).idempotencyKey);
    expect(new Set(keys).size).toBe(2);
  });

  it("reports a limit with the API's sentence and as not worth retrying", async () => {
    const { client, transport } = setup();
    transport.maxMessagesPerSession = 2;
    await client.sendMessage("one");
    const error = await client.sendMessage("two").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChatApiError);
    const state = client.getSnapshot();
    expect(state.error?.kind).toBe("limit");
    expect(state.error?.code).toBe("session_message_limit_exceeded");
    expect(state.error?.message).toBe("This conversation has reached its limit of 2 messages. Start a new one.");
    expect(state.error?.retryable).toBe(false);
    expect(state.error?.limit).toBe(2);
  });

  it("learns from a session_not_active answer that the session is closed, and then refuses to send", async () => {
    const { client, transport } = setup();
    const { session_id } = await client.sendMessage("one");
    const stored = transport.sessions.get(session_id);
    if (stored) stored.session.status = "completed";
    await expect(client.sendMessage("two")).rejects.toMatchObject({ kind: "session-closed" });
    expect(client.getSnapshot().sessionStatus).toBe("completed");
    await expect(client.sendMessage("three")).rejects.toMatchObject({ code: "session_not_active" });
    expect(transport.callsOf("chat")).toHaveLength(2);
  });

  it("keeps the earlier error visible while a later message is still pending", async () => {
    const { client, transport } = setup();
    transport.failNext("chat", providerDown());
    const release = transport.hold("chat");
    const a = client.sendMessage("a").catch(() => undefined);
    const b = client.sendMessage("b");
    await a;
    expect(client.getSnapshot().status).toBe("submitted");
    expect(client.getSnapshot().error?.code).toBe("provider_error");
    release();
    await b;
    expect(client.getSnapshot().status).toBe("ready");
  });
});

describe("ChatClient history", () => {
  it("resumes the stored session: loads its latest page oldest first, with status and rating", async () => {
    const transport = new FakeTransport();
    const id = transport.seed(4, { user_rating: 4 });
    const storage = new MemoryStorage();
    storage.setItem(storageKeyFor("admin_assistant"), id);
    const { client } = setup({ transport, storage });
    expect(client.getSnapshot()).toMatchObject({ sessionId: id, historyLoaded: false });
    await client.load();
    const state = client.getSnapshot();
    expect(state.messages.map((m) => m.content)).toEqual(["message 1", "message 2", "message 3", "message 4"]);
    expect(state).toMatchObject({ sessionStatus: "active", sessionRating: 4, historyLoaded: true, hasOlder: false });
    await client.load();
    expect(transport.callsOf("history")).toHaveLength(1);
  });

  it("reads a history page that leaves out what the API document calls optional: no cursor, rating or statuses", async () => {
    const transport = new FakeTransport();
    const id = transport.seed(2);
    const full = await transport.history(id);
    // Only the fields the document requires (the generated types let the optional ones be absent).
    const { user_rating: _rating, feedback: _feedback, escalation_reason: _reason, customer_id: _customer, context: _context,
      ...metadata } = full.metadata;
    vi.spyOn(transport, "history").mockResolvedValue({
      session_id: id,
      metadata,
      messages: full.messages.map(({ id: messageId, role, content, created_at, tokens }) => ({ id: messageId, role, content, created_at, tokens })),
    });
    const storage = new MemoryStorage();
    storage.setItem(storageKeyFor("admin_assistant"), id);
    const { client } = setup({ transport, storage });
    await client.load();
    expect(client.getSnapshot()).toMatchObject({ sessionRating: null, hasOlder: false, historyLoaded: true, status: "ready" });
    expect(client.getSnapshot().messages.map((m) => [m.content, m.status, m.rating])).toEqual([
      ["message 1", "sent", null],
      ["message 2", "sent", null],
    ]);
    await client.loadOlder();
    expect(transport.history).toHaveBeenCalledTimes(1);
  });

  it("loads earlier pages in front of the shown messages until there are none", async () => {
    const transport = new FakeTransport();
    const id = transport.seed(5);
    const storage = new MemoryStorage();
    storage.setItem(storageKeyFor("admin_assistant"), id);
    const client = new ChatClient({ transport, storage, sessionType: "admin_assistant", historyPageSize: 2 });
    await client.load();
    expect(client.getSnapshot().messages.map((m) => m.content)).toEqual(["message 4", "message 5"]);
    expect(client.getSnapshot().hasOlder).toBe(true);
    await client.loadOlder();
    await client.loadOlder();
    expect(client.getSnapshot().messages.map((m) => m.content)).toEqual([
      "message 1", "message 2", "message 3", "message 4", "message 5",
    ]);
    expect(client.getSnapshot().hasOlder).toBe(false);
    await client.loadOlder();
    expect(transport.callsOf("history")).toHaveLength(3);
  });

  it("forgets a stored session the API does not know (expired, or another user's) and starts afresh", async () => {
    const storage = new MemoryStorage();
    storage.setItem(storageKeyFor("admin_assistant"), "gone");
    const { client, transport } = setup({ storage });
    await client.load();
    expect(client.getSnapshot()).toMatchObject({ sessionId: null, error: null, status: "ready", historyLoaded: true });
    expect(storage.getItem(storageKeyFor("admin_assistant"))).toBeNull();
    await client.sendMessage("hi");
    expect((transport.callsOf("chat")[0]?.[0] as ChatRequestBody).session_id).toBeNull();
  });

  it("records a failed load, and retry loads again", async () => {
    const transport = new FakeTransport();
    const id = transport.seed(2);
    const storage = new MemoryStorage();
    storage.setItem(storageKeyFor("admin_assistant"), id);
    transport.failNext("history", new ChatApiError(0, null));
    const { client } = setup({ transport, storage });
    await expect(client.load()).rejects.toMatchObject({ kind: "network" });
    expect(client.getSnapshot()).toMatchObject({ status: "error", failedAction: "load", historyLoaded: false });
    await client.retry();
    expect(client.getSnapshot()).toMatchObject({ status: "ready", error: null, historyLoaded: true });
    expect(client.getSnapshot().messages).toHaveLength(2);
  });

  it("holds a message typed while history loads until the page is in, and keeps it after the page", async () => {
    const transport = new FakeTransport();
    const id = transport.seed(2);
    const storage = new MemoryStorage();
    storage.setItem(storageKeyFor("admin_assistant"), id);
    const { client } = setup({ transport, storage });
    const release = transport.hold("history");
    const loading = client.load();
    const sent = client.sendMessage("new");
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(transport.callsOf("chat")).toHaveLength(0);
    expect(client.getSnapshot().messages.map((m) => [m.content, m.status])).toEqual([["new", "pending"]]);
    release();
    await loading;
    await sent;
    expect(client.getSnapshot().messages.map((m) => m.content)).toEqual(["message 1", "message 2", "new", "Echo: new"]);
  });

  it("shows a reply that failed on the server as failed, and retry sends it again", async () => {
    const transport = new FakeTransport();
    const id = transport.seed(1);
    const stored = transport.sessions.get(id);
    if (stored?.messages[0]) stored.messages[0].status = "failed";
    const storage = new MemoryStorage();
    storage.setItem(storageKeyFor("admin_assistant"), id);
    const { client } = setup({ transport, storage });
    await client.load();
    const failed = client.getSnapshot().messages[0];
    expect(failed?.status).toBe("failed");
    await client.retry(failed?.id);
    expect(client.getSnapshot().messages.map((m) => [m.content, m.status])).toEqual([
      ["message 1", "sent"],
      ["Echo: message 1", "sent"],
    ]);
  });
});

describe("ChatClient feedback, escalation and new sessions", () => {
  it("submits a 1-5 rating with optional words and keeps the session open", async () => {
    const { client, transport } = setup();
    const { session_id } = await client.sendMessage("hi");
    const session = await client.submitFeedback(5, " Very helpful! ");
    expect(transport.callsOf("sessionFeedback")).toEqual([[session_id, { rating: 5, feedback: "Very helpful!" }]]);
    expect(session.status).toBe("active");
    expect(client.getSnapshot()).toMatchObject({ sessionRating: 5, sessionStatus: "active" });
  });

  it("refuses a rating outside 1-5, or before there is a conversation, without calling the API", async () => {
    const { client, transport } = setup();
    await expect(client.submitFeedback(5)).rejects.toMatchObject({ kind: "invalid" });
    await client.sendMessage("hi");
    await expect(client.submitFeedback(0)).rejects.toMatchObject({ kind: "invalid" });
    await expect(client.submitFeedback(4.5)).rejects.toMatchObject({ kind: "invalid" });
    expect(transport.callsOf("sessionFeedback")).toHaveLength(0);
  });

  it("rates a reply up or down and shows the rating on it", async () => {
    const { client, transport } = setup();
    const reply = await client.sendMessage("hi");
    await client.rateMessage(reply.metadata.message_id, "down");
    await client.rateMessage(reply.metadata.message_id, "up");
    expect(transport.callsOf("rateMessage")).toEqual([
      [reply.session_id, reply.metadata.message_id, { rating: "down" }],
      [reply.session_id, reply.metadata.message_id, { rating: "up" }],
    ]);
    expect(client.getSnapshot().messages[1]?.rating).toBe("up");
  });

  it("escalates: the session becomes escalated, and a message sent then is kept for the person, shown sent with no reply", async () => {
    const { client, transport } = setup();
    const { session_id } = await client.sendMessage("my bill is wrong");
    await client.escalateSession("Billing dispute");
    expect(transport.callsOf("escalate")).toEqual([[session_id, { reason: "Billing dispute" }]]);
    expect(client.getSnapshot().sessionStatus).toBe("escalated");
    expect(client.isActive).toBe(true);
    const answer = await client.sendMessage("hello?");
    expect(answer.status).toBe("waiting_for_person");
    const stored = transport.sessions.get(session_id)?.messages.at(-1);
    expect(client.getSnapshot()).toMatchObject({ status: "ready", sessionStatus: "escalated", error: null });
    // Under the id the history knows it by, so a look at the history does not show it twice.
    expect(client.getSnapshot().messages.map((m) => [m.role, m.content, m.status, m.id]).slice(2)).toEqual([
      ["user", "hello?", "sent", stored?.id],
    ]);
    expect(transport.callsOf("chat")).toHaveLength(2);
  });

  it("creates a session to escalate when nothing was sent yet", async () => {
    const { client, transport, storage } = setup({ context: { page: "billing" } });
    await client.escalateSession("I want a person");
    expect(transport.callsOf("createSession")).toEqual([[{ session_type: "admin_assistant", context: { page: "billing" } }]]);
    const id = client.getSnapshot().sessionId;
    expect(id).not.toBeNull();
    expect(storage.getItem(storageKeyFor("admin_assistant"))).toBe(id);
    expect(client.getSnapshot().sessionStatus).toBe("escalated");
  });

  it("refuses an escalation without a reason", async () => {
    const { client, transport } = setup();
    await expect(client.escalateSession("  ")).rejects.toMatchObject({ kind: "invalid" });
    expect(transport.calls).toHaveLength(0);
  });

  it("records a failed escalation, and retry escalates again", async () => {
    const { client, transport } = setup();
    await client.sendMessage("hi");
    transport.failNext("escalate", new ChatApiError(503, { code: "escalation_not_delivered", detail: "Support could not be reached." }));
    await expect(client.escalateSession("help")).rejects.toThrow("Support could not be reached.");
    expect(client.getSnapshot()).toMatchObject({ failedAction: "escalate", sessionStatus: "active" });
    await client.retry();
    expect(client.getSnapshot()).toMatchObject({ error: null, sessionStatus: "escalated" });
  });

  it("starts a new session: forgets the stored id, empties the log, and cancels a message not yet sent", async () => {
    const { client, transport, storage } = setup();
    await client.sendMessage("one");
    const queued = client.sendMessage("two");
    client.startNewSession();
    expect(client.getSnapshot()).toMatchObject({ sessionId: null, messages: [], status: "ready", sessionStatus: null });
    expect(storage.getItem(storageKeyFor("admin_assistant"))).toBeNull();
    await expect(queued).rejects.toMatchObject({ code: "superseded" });
    expect(transport.callsOf("chat")).toHaveLength(1);
    await client.sendMessage("three");
    expect((transport.callsOf("chat")[1]?.[0] as ChatRequestBody).session_id).toBeNull();
    expect(client.getSnapshot().messages.map((m) => m.content)).toEqual(["three", "Echo: three"]);
  });
});

describe("ChatClient function calls", () => {
  it("keeps a reply's function calls on its message, in order, and none on the user's", async () => {
    const { client, transport } = setup();
    const calls = [ticketCall("Router keeps rebooting", "urgent"), fakeCall("lookup_order", "{not json", { error: "bad arguments" }, "error")];
    transport.toolsNext({ function_calls: calls, message: "Done." });
    const reply = await client.sendMessage("create a ticket");
    expect(reply.function_calls).toEqual(calls);
    const [user, answer] = client.getSnapshot().messages;
    expect(user?.functionCalls).toEqual([]);
    expect(answer?.functionCalls).toEqual(calls);
    expect(answer?.content).toBe("Done.");
    await client.sendMessage("thanks");
    expect(client.getSnapshot().messages[3]?.functionCalls).toEqual([]);
    expect(client.getSnapshot().sessionStatus).toBe("active");
  });

  it("keeps the function calls of replies loaded from history, and reads a message without them as none", async () => {
    const transport = new FakeTransport();
    const storage = new MemoryStorage();
    const first = setup({ transport, storage }).client;
    const ticket = ticketCall("Printer offline", "high");
    transport.toolsNext({ function_calls: [ticket], message: "I opened a ticket." });
    await first.sendMessage("create a ticket: Printer offline");
    await first.sendMessage("thanks");
    const { client } = setup({ transport, storage });
    await client.load();
    expect(client.getSnapshot().messages.map((m) => [m.role, m.functionCalls])).toEqual([
      ["user", []],
      ["assistant", [ticket]],
      ["user", []],
      ["assistant", []],
    ]);
  });

  it("follows the model's hand-over to a person as it follows escalateSession: escalated, messages kept for the person", async () => {
    const { client, transport } = setup();
    await client.sendMessage("hi");
    transport.failNext("escalate", new ChatApiError(503, { code: "escalation_not_delivered", detail: "Support could not be reached." }));
    await expect(client.escalateSession("help")).rejects.toThrow("Support could not be reached.");
    expect(client.getSnapshot().failedAction).toBe("escalate");
    transport.toolsNext({ function_calls: [escalationCall("The user asked for a person")], message: "", stopped: "escalated" });
    await client.sendMessage("I want to talk to a person");
    // The earlier failed request for a person is settled by this one, as a successful retry would settle it.
    expect(client.getSnapshot()).toMatchObject({ sessionStatus: "escalated", error: null, failedAction: null, status: "ready" });
    await expect(client.retry()).resolves.toBeUndefined();
    await expect(client.sendMessage("hello?")).resolves.toMatchObject({ status: "waiting_for_person" });
    // The two replies of before the hand-over, and no third.
    expect(client.getSnapshot().messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant", "user"]);
    expect(transport.callsOf("chat")).toHaveLength(3);
    expect(transport.callsOf("escalate")).toHaveLength(1);
  });

  it("takes a turn that stopped as escalated, or an ok escalate_to_human call alone, as the hand-over; not a failed call", async () => {
    const stoppedOnly = setup();
    stoppedOnly.transport.toolsNext({ function_calls: [], message: "", stopped: "escalated" });
    await stoppedOnly.client.sendMessage("a person please");
    expect(stoppedOnly.client.getSnapshot().sessionStatus).toBe("escalated");

    const callOnly = setup();
    callOnly.transport.toolsNext({ function_calls: [escalationCall("Billing dispute")], message: "Someone will help." });
    await callOnly.client.sendMessage("a person please");
    expect(callOnly.client.getSnapshot().sessionStatus).toBe("escalated");

    const failed = setup();
    failed.transport.toolsNext({
      function_calls: [fakeCall("escalate_to_human", { reason: "x" }, { error: "Support could not be notified." }, "error")],
      message: "I could not reach support.",
    });
    await failed.client.sendMessage("a person please");
    expect(failed.client.getSnapshot().sessionStatus).toBe("active");

    const limited = setup();
    limited.transport.toolsNext({ function_calls: [ticketCall("Slow line")], message: "", stopped: "max_tool_steps" });
    await limited.client.sendMessage("create a ticket");
    expect(limited.client.getSnapshot().sessionStatus).toBe("active");
  });
});

describe("ChatClient late answers", () => {
  it("drops a reply that arrives after a new session was started, and still resolves the old send with it", async () => {
    const { client, transport } = setup();
    await client.sendMessage("one");
    const release = transport.hold("chat");
    const late = client.sendMessage("two");
    await vi.waitFor(() => expect(transport.callsOf("chat")).toHaveLength(2));
    client.startNewSession();
    release();
    expect((await late).message).toBe("Echo: two");
    expect(client.getSnapshot()).toMatchObject({ messages: [], sessionId: null, status: "ready" });
  });

  it("drops a history page that arrives after a new session was started", async () => {
    const transport = new FakeTransport();
    const id = transport.seed(2);
    const storage = new MemoryStorage();
    storage.setItem(storageKeyFor("admin_assistant"), id);
    const { client } = setup({ transport, storage });
    const release = transport.hold("history");
    const loading = client.load();
    client.startNewSession();
    release();
    await loading;
    expect(client.getSnapshot()).toMatchObject({ messages: [], sessionId: null, historyLoaded: true });
  });
});

describe("ChatClient subscriptions and storage", () => {
  it("notifies subscribers of each change with a new snapshot, and not after they unsubscribe", async () => {
    const { client } = setup();
    const listener = vi.fn();
    const unsubscribe = client.subscribe(listener);
    const before = client.getSnapshot();
    expect(client.getSnapshot()).toBe(before);
    await client.sendMessage("hi");
    expect(listener).toHaveBeenCalled();
    expect(client.getSnapshot()).not.toBe(before);
    const calls = listener.mock.calls.length;
    unsubscribe();
    await client.sendMessage("again");
    expect(listener.mock.calls.length).toBe(calls);
  });

  it("works without storage when storage throws, as it does where it is blocked", async () => {
    const blocked = {
      getItem: () => { throw new Error("SecurityError"); },
      setItem: () => { throw new Error("SecurityError"); },
      removeItem: () => { throw new Error("SecurityError"); },
    };
    const client = new ChatClient({ transport: new FakeTransport(), storage: blocked });
    const reply = await client.sendMessage("hi");
    expect(client.getSnapshot().sessionId).toBe(reply.session_id);
    client.startNewSession();
    expect(client.getSnapshot().sessionId).toBeNull();
  });

  it("keeps one session per session type in the same storage", async () => {
    const storage = new MemoryStorage();
    const transport = new FakeTransport();
    const support = new ChatClient({ transport, storage, sessionType: "customer_support" });
    const analytics = new ChatClient({ transport, storage, sessionType: "analytics" });
    const a = await support.sendMessage("a");
    const b = await analytics.sendMessage("b");
    expect(a.session_id).not.toBe(b.session_id);
    expect(new ChatClient({ transport, storage, sessionType: "customer_support" }).getSnapshot().sessionId).toBe(a.session_id);
    expect(new ChatClient({ transport, storage, sessionType: "analytics" }).getSnapshot().sessionId).toBe(b.session_id);
  });
});

describe("ChatClient while a person has the session", () => {
  const POLL = 1000;

  /** A client that looks for a person's messages every second, on fake timers. */
  function handoff(options: { transport?: FakeTransport; storage?: MemoryStorage; pageSize?: number } = {}) {
    vi.useFakeTimers();
    const transport = options.transport ?? new FakeTransport();
    const client = new ChatClient({
      transport, storage: options.storage ?? new MemoryStorage(), handoffPollMs: POLL, historyPageSize: options.pageSize,
    });
    const looks = () => transport.callsOf("history").filter(([, o]) => (o as { after?: string }).after !== undefined);
    const tick = (ms = POLL) => vi.advanceTimersByTimeAsync(ms);
    return { client, transport, looks, tick };
  }

  afterEach(() => {
    vi.useRealTimers();
  });

  it("withdraws a request nobody took: active again, the assistant answers and the looks stop", async () => {
    const { client, transport, looks, tick } = handoff();
    const { session_id } = await client.sendMessage("hi");
    await client.escalateSession("Billing dispute");
    const session = await client.withdrawEscalation();
    expect(transport.callsOf("withdraw")).toEqual([[session_id]]);
    expect(session.status).toBe("active");
    expect(client.getSnapshot()).toMatchObject({ sessionStatus: "active", error: null });
    await tick(5 * POLL);
    expect(looks()).toHaveLength(0);
    await expect(client.sendMessage("never mind")).resolves.toMatchObject({ message: "Echo: never mind" });
  });

  it("cannot withdraw a request a person took: the API's sentence is the error, with no retry, and who took it shows", async () => {
    const { client, transport, tick } = handoff();
    const { session_id } = await client.sendMessage("hi");
    await client.escalateSession("Billing dispute");
    // Taken after this client last looked: it still offers to withdraw.
    transport.agentReply(session_id, "Dana Reyes", "Hello.");
    expect(client.canWithdraw).toBe(true);
    await expect(client.withdrawEscalation()).rejects.toMatchObject({ status: 409, code: "escalation_taken" });
    expect(client.getSnapshot()).toMatchObject({ failedAction: "withdraw", sessionStatus: "escalated" });
    expect(client.getSnapshot().error?.message).toContain("Dana Reyes is already answering");
    // The refusal makes the client look at once rather than at the next tick.
    await tick(0);
    expect(client.getSnapshot().takenBy).toBe("Dana Reyes");
    await expect(client.retry()).resolves.toBeUndefined();
    expect(transport.callsOf("withdraw")).toHaveLength(1);
  });

  it("sends a message refused with session_changed once more, with the same Idempotency-Key", async () => {
    const { client, transport } = handoff();
    const { session_id } = await client.sendMessage("hi");
    await client.escalateSession("Billing dispute");
    transport.sessions.get(session_id)!.session.status = "active";
    transport.failNext("chat", new ChatApiError(409, { code: "session_changed", detail: "The session changed." }));
    const reply = await client.sendMessage("hello again");
    expect(reply.message).toBe("Echo: hello again");
    const keys = transport.callsOf("chat").slice(1).map(([, o]) => (o as { idempotencyKey: string }).idempotencyKey);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
    // A model answered: the client no longer takes the session for a person's.
    expect(client.getSnapshot()).toMatchObject({ sessionStatus: "active", error: null });
  });
});
