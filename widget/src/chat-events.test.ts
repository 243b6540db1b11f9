import { describe, expect, it } from "vitest";
import { ChatClient } from "./chat-client";
import { watchChatEvents, type ChatEventHandlers } from "./chat-events";
import { storageKeyFor } from "./session-storage";
import { FakeTransport, MemoryStorage } from "./testing/fake-transport";

/** Storage holding `sessionId` as the conversation of an earlier visit. */
function visited(sessionId: string): MemoryStorage {
  const storage = new MemoryStorage();
  storage.setItem(storageKeyFor("customer_support"), sessionId);
  return storage;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, probe: () => boolean): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (probe()) return;
    await sleep(5);
  }
  throw new Error(what);
}

/** The client's events as lines, from now on. */
function watch(client: ChatClient, more: ChatEventHandlers = {}) {
  const events: string[] = [];
  const stop = watchChatEvents(client, () => ({
    onMessage: (m) => {
      events.push(`message ${m.role}: ${m.content}`);
      more.onMessage?.(m);
    },
    onEscalate: (e) => events.push(`escalate by ${e.by}${e.reply ? ` (${e.reply.stopped ?? "calls"})` : ""}`),
    onError: (error, action) => events.push(`error ${action}: ${error.code}`),
  }));
  return { events, stop };
}

describe("watchChatEvents", () => {
  it("tells nothing of a loaded history nor of its earlier pages", async () => {
    const transport = new FakeTransport();
    const id = transport.seed(8);
    const client = new ChatClient({ transport, storage: visited(id), historyPageSize: 4 });
    const { events } = watch(client);
    await client.load();
    await client.loadOlder();
    expect(client.getSnapshot().messages).toHaveLength(8);
    expect(events).toEqual([]);
    await client.sendMessage("new");
    expect(events).toEqual(["message user: new", "message assistant: Echo: new"]);
  });

  it("a message typed while the history loads is told, the loaded ones are not", async () => {
    const transport = new FakeTransport();
    const id = transport.seed(2);
    const client = new ChatClient({ transport, storage: visited(id) });
    const { events } = watch(client);
    const release = transport.hold("history");
    const loading = client.load();
    expect(client.getSnapshot().status).toBe("loading");
    const sent = client.sendMessage("typed while loading");
    release();
    await loading;
    await sent;
    expect(client.getSnapshot().messages.map((m) => m.content)).toEqual([
      "message 1", "message 2", "typed while loading", "Echo: typed while loading",
    ]);
    expect(events).toEqual(["message user: typed while loading", "message assistant: Echo: typed while loading"]);
  });

  it("a reply being written when the history loaded: the reply is told once stored, the message before it is not", async () => {
    const transport = new FakeTransport();
    const id = transport.seed(2);
    const stored = transport.sessions.get(id);
    if (!stored) throw new Error("no session");
    stored.messages.push({ id: "M9000", role: "user", content: "asked before the reload", created_at: "", tokens: 1, status: "pending" });
    const client = new ChatClient({ transport, storage: visited(id), pendingDelays: [5, 5, 5, 5, 5, 5, 5, 5] });
    const { events } = watch(client);
    const release = client.retain();
    await client.load();
    const asked = stored.messages.at(-1);
    if (asked) asked.status = "ok";
    stored.messages.push({ id: "M9001", role: "assistant", content: "the reply", created_at: "", tokens: 1, status: "ok" });
    await until("the reply is shown", () => client.getSnapshot().messages.some((m) => m.id === "M9001"));
    expect(events).toEqual(["message assistant: the reply"]);
    release();
  });

  it("a person taking the conversation mid-reply: the empty reply is not told, the escalation is, by support", async () => {
    const transport = new FakeTransport();
    transport.toolsNext({ function_calls: [], message: "", stopped: "taken_by_person" });
    const client = new ChatClient({ transport, storage: null });
    const { events } = watch(client);
    await client.sendMessage("help");
    expect(events).toEqual(["message user: help", "escalate by support (taken_by_person)"]);
  });

  it("a refused message that is not retryable: the error only, once", async () => {
    const transport = new FakeTransport();
    transport.maxMessagesPerSession = 2;
    const client = new ChatClient({ transport, storage: null });
    const { events } = watch(client);
    await client.sendMessage("one");
    await expect(client.sendMessage("two")).rejects.toMatchObject({ code: "session_message_limit_exceeded" });
    expect(events).toEqual(["message user: one", "message assistant: Echo: one", "error send: session_message_limit_exceeded"]);
  });

  it("events a callback causes come after the ones already due, in order; nothing is told once stopped", async () => {
    const transport = new FakeTransport();
    const client = new ChatClient({ transport, storage: null, stream: false });
    let asked = false;
    const { events, stop } = watch(client, {
      onMessage: (m) => {
        if (m.role === "assistant" && !asked) {
          asked = true;
          client.sendMessage("follow-up").catch(() => undefined);
        }
      },
    });
    await client.sendMessage("first");
    await until("the follow-up is answered", () => events.length === 4);
    expect(events).toEqual([
      "message user: first", "message assistant: Echo: first", "message user: follow-up", "message assistant: Echo: follow-up",
    ]);
    stop();
    await client.sendMessage("unheard");
    expect(events).toHaveLength(4);
  });
});
