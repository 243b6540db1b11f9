import { afterEach, describe, expect, it, vi } from "vitest";
import type { HistoryBody, HistoryMessageBody } from "./api-types";
import { ChatClient } from "./chat-client";
import { ChatApiError } from "./chat-error";
import { noConversation, userMessage, type ChatMessage, type ChatState } from "./chat-state";
import { HandoffFollower, withNewer } from "./handoff-follower";
import { storageKeyFor } from "./session-storage";
import { historyPage, storedMessage } from "./testing/fake-stream";
import { FakeTransport, MemoryStorage } from "./testing/fake-transport";

const POLL = 1000;

/**
 * A follower over a state of its own, as a client holds one: `pages` answers its looks in turn (an error fails the
 * look, a function is called while the look waits for its page; an empty escalated page once they run out), and
 * `afters` records where each look began.
 */
function follower(pages: Array<HistoryBody | Error | (() => HistoryBody)>, start: Partial<ChatState> = {}) {
  vi.useFakeTimers();
  let generation = 0;
  let state: ChatState = {
    ...noConversation("S1"), sessionType: "customer_support", historyLoaded: true, ...start,
  };
  const afters: Array<string | undefined> = [];
  const updates: Array<Partial<ChatState>> = [];
  const host = {
    state: () => state,
    generation: () => generation,
    update: (patch: Partial<ChatState>) => {
      updates.push(patch);
      state = { ...state, ...patch };
      const cleared = handoff.follow(state);
      if (cleared) state = { ...state, ...cleared };
    },
    history: async (_sessionId: string, options: { after?: string | null }) => {
      afters.push(options.after ?? undefined);
      const page = pages.shift() ?? historyPage("S1", [], { status: "escalated" });
      if (page instanceof Error) throw page;
      return typeof page === "function" ? page() : page;
    },
  };
  const handoff = new HandoffFollower(host, { intervalMs: POLL, visibility: null });
  return {
    handoff, afters, updates,
    state: () => state,
    set: (patch: Partial<ChatState>) => host.update(patch),
    leave: () => {
      generation += 1;
    },
    tick: (ms = POLL) => vi.advanceTimersByTimeAsync(ms),
  };
}

const shown = (id: string, content = id): ChatMessage => ({ ...userMessage(id, content, new Date(0).toISOString()), status: "sent" });
const agent = (id: string, content = id): HistoryMessageBody => ({ ...storedMessage(id, "user", content), role: "agent", agent_name: "Dana" });

afterEach(() => {
  vi.useRealTimers();
});

describe("withNewer", () => {
  it("shows a page's messages after the log, none twice, and gives a message sent from here the API's id for it", () => {
    const log = [shown("M1", "hi"), shown("local-1", "are you there?")];
    const page = historyPage("S1", [storedMessage("M1", "user", "hi"), storedMessage("M2", "user", "are you there?"), agent("M3", "Yes.")]);
    const messages = withNewer(log, page);
    expect(messages.map((m) => [m.id, m.key, m.role, m.content])).toEqual([
      ["M1", "M1", "user", "hi"],
      ["M2", "local-1", "user", "are you there?"],
      ["M3", "M3", "agent", "Yes."],
    ]);
    expect(messages[0]).toBe(log[0]);
    expect(withNewer(log, historyPage("S1", [storedMessage("M1", "user", "hi")]))).toEqual(log);
  });
});

describe("HandoffFollower", () => {
  it("looks only while the loaded session is escalated, the first look after the newest message the API named", async () => {
    const { afters, set, tick } = follower([], { messages: [shown("M1"), shown("M2"), shown("local-3")] });
    set({ sessionStatus: "active" });
    await tick(3 * POLL);
    expect(afters).toEqual([]);
    set({ sessionStatus: "escalated", historyLoaded: false });
    await tick(3 * POLL);
    expect(afters).toEqual([]);
    set({ historyLoaded: true });
    await tick();
    expect(afters).toEqual(["M2"]);
  });

  it("moves its cursor to the newest message of each page, and to next_after through up to five pages a look", async () => {
    const escalated = { status: "escalated" as const };
    const pages = [
      historyPage("S1", [agent("M2")], escalated),
      ...["M3", "M4", "M5", "M6", "M7", "M8"].map((id) => historyPage("S1", [agent(id)], escalated, { next_after: id })),
    ];
    const { afters, state, set, tick } = follower(pages, { messages: [shown("M1")] });
    set({ sessionStatus: "escalated" });
    await tick();
    expect(afters).toEqual(["M1"]);
    await tick();
    // One look: the page after M2, then four more by next_after; the sixth waits for the next look.
    expect(afters).toEqual(["M1", "M2", "M3", "M4", "M5", "M6"]);
    expect(state().messages.map((m) => m.id)).toEqual(["M1", "M2", "M3", "M4", "M5", "M6", "M7"]);
    await tick();
    expect(afters.slice(6)).toEqual(["M7", "M8"]);
  });

  it("takes the session's status and who has it from each page, and changes nothing when a page brings nothing new", async () => {
    const pages = [
      historyPage("S1", [], { status: "escalated" }),
      historyPage("S1", [agent("M2", "Hello.")], { status: "escalated", taken_by_name: "Dana" }),
      historyPage("S1", [], { status: "escalated", taken_by_name: "Dana" }),
    ];
    const { updates, state, set, tick } = follower(pages, { messages: [shown("M1")] });
    set({ sessionStatus: "escalated" });
    await tick();
    expect(updates).toHaveLength(1); // nothing new: no new state
    await tick();
    expect(state()).toMatchObject({ takenBy: "Dana", status: "ready" });
    const before = state();
    await tick();
    expect(state()).toBe(before);
  });

  it("stops when the session is no longer escalated, clearing who had it and the failed looks", async () => {
    const pages = [historyPage("S1", [agent("M2", "Back to the assistant.")], { status: "active" })];
    const { handoff, afters, state, set, tick } = follower(pages, { messages: [shown("M1")] });
    set({ sessionStatus: "escalated", takenBy: "Dana", handoffCheckFailing: true });
    await tick();
    expect(state()).toMatchObject({ sessionStatus: "active", takenBy: null, handoffCheckFailing: false });
    await tick(5 * POLL);
    expect(afters).toHaveLength(1);
    expect(handoff.follow(state())).toBeNull();
  });

  it("says the looks are failing after three failures in a row, and no longer once one works", async () => {
    const offline = new ChatApiError(0, null);
    const pages = [offline, offline, offline, historyPage("S1", [], { status: "escalated" })];
    const { state, set, tick } = follower(pages, { messages: [shown("M1")] });
    set({ sessionStatus: "escalated" });
    await tick(2 * POLL);
    expect(state().handoffCheckFailing).toBe(false);
    await tick();
    expect(state().handoffCheckFailing).toBe(true);
    await tick();
    expect(state().handoffCheckFailing).toBe(false);
  });

  it("drops a look while a reply is on its way, and a page for a conversation left meanwhile", async () => {
    const page = historyPage("S1", [agent("M2")], { status: "escalated" });
    const pages = [() => {
      leave();
      return page;
    }];
    const { afters, state, set, leave, tick } = follower(pages, { messages: [shown("M1")] });
    set({ sessionStatus: "escalated", status: "submitted" });
    await tick();
    expect(afters).toEqual([]);
    set({ status: "ready" });
    await tick();
    expect(afters).toEqual(["M1"]);
    expect(state().messages.map((m) => m.id)).toEqual(["M1"]);
  });
});

describe("ChatClient following a person who has the session", () => {
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

  it("looks at the history only while escalated, each time after the newest message it has", async () => {
    const { client, transport, looks, tick } = handoff();
    const { session_id } = await client.sendMessage("hi");
    await tick(5 * POLL);
    expect(transport.callsOf("history")).toHaveLength(0);
    await client.escalateSession("Billing dispute");
    const newest = transport.sessions.get(session_id)?.messages.at(-1)?.id;
    await tick();
    expect(looks()).toEqual([[session_id, { after: newest, limit: 50 }]]);
    await tick(2 * POLL);
    expect(looks()).toHaveLength(3);
  });

  it("shows the person's joining as a marker and their reply under their name, and knows who has the session", async () => {
    const { client, transport, tick } = handoff();
    const { session_id } = await client.sendMessage("hi");
    await client.escalateSession("Billing dispute");
    expect(client.canWithdraw).toBe(true);
    transport.agentReply(session_id, "Dana Reyes", "Hello, I can see the two charges.");
    await tick();
    const shown = client.getSnapshot().messages.slice(2).map((m) => [m.role, m.agentName, m.handoff, m.content]);
    expect(shown).toEqual([
      ["agent", "Dana Reyes", "joined", "Dana Reyes joined the conversation."],
      ["agent", "Dana Reyes", null, "Hello, I can see the two charges."],
    ]);
    expect(client.getSnapshot()).toMatchObject({ takenBy: "Dana Reyes", sessionStatus: "escalated" });
    expect(client.canWithdraw).toBe(false);
    await tick(3 * POLL);
    expect(client.getSnapshot().messages).toHaveLength(4);
  });

  it("keeps a message sent meanwhile once, though the next look's page holds it too", async () => {
    const { client, transport, tick } = handoff();
    const { session_id } = await client.sendMessage("hi");
    await client.escalateSession("Billing dispute");
    await client.sendMessage("Are you there?");
    transport.agentReply(session_id, "Dana Reyes", "Yes.");
    await tick();
    expect(client.getSnapshot().messages.slice(2).map((m) => m.content)).toEqual([
      "Are you there?", "Dana Reyes joined the conversation.", "Yes.",
    ]);
  });

  it("reads every page of newer messages in one look, following next_after", async () => {
    const { client, transport, tick } = handoff({ pageSize: 2 });
    const { session_id } = await client.sendMessage("hi");
    await client.escalateSession("Billing dispute");
    for (const text of ["one", "two", "three", "four"]) transport.agentReply(session_id, "Dana Reyes", text);
    await tick();
    expect(client.getSnapshot().messages.slice(2).map((m) => m.content)).toEqual([
      "Dana Reyes joined the conversation.", "one", "two", "three", "four",
    ]);
  });

  it("stops looking once handed back to the AI, whose reply the next message gets", async () => {
    const { client, transport, looks, tick } = handoff();
    const { session_id } = await client.sendMessage("hi");
    await client.escalateSession("Billing dispute");
    transport.agentReply(session_id, "Dana Reyes", "Sorted: one charge is refunded.");
    transport.release(session_id, "active");
    await tick();
    expect(client.getSnapshot()).toMatchObject({ sessionStatus: "active", takenBy: null });
    expect(client.getSnapshot().messages.at(-1)).toMatchObject({
      role: "agent", handoff: "left", content: "Dana Reyes handed the conversation back to the assistant.",
    });
    const seen = looks().length;
    await tick(5 * POLL);
    expect(looks()).toHaveLength(seen);
    const reply = await client.sendMessage("thanks");
    expect(reply).toMatchObject({ status: "answered", message: "Echo: thanks" });
    expect(client.getSnapshot().messages.at(-1)).toMatchObject({ role: "assistant", content: "Echo: thanks" });
  });

  it("stops looking once the person closed the session, which then takes no more messages", async () => {
    const { client, transport, looks, tick } = handoff();
    const { session_id } = await client.sendMessage("hi");
    await client.escalateSession("Billing dispute");
    transport.agentReply(session_id, "Dana Reyes", "Done.");
    transport.release(session_id, "completed");
    await tick();
    expect(client.getSnapshot().sessionStatus).toBe("completed");
    const seen = looks().length;
    await tick(5 * POLL);
    expect(looks()).toHaveLength(seen);
    await expect(client.sendMessage("one more thing")).rejects.toMatchObject({ kind: "session-closed" });
  });

  it("keeps looking quietly through failed looks, says so after three in a row, and clears that once one works", async () => {
    const { client, transport, looks, tick } = handoff();
    const { session_id } = await client.sendMessage("hi");
    await client.escalateSession("Billing dispute");
    for (let i = 0; i < 3; i++) transport.failNext("history", new ChatApiError(0, null));
    await tick(2 * POLL);
    expect(client.getSnapshot()).toMatchObject({ handoffCheckFailing: false, error: null, status: "ready" });
    await tick();
    expect(client.getSnapshot()).toMatchObject({ handoffCheckFailing: true, error: null, status: "ready" });
    transport.agentReply(session_id, "Dana Reyes", "Back online?");
    await tick();
    expect(client.getSnapshot().handoffCheckFailing).toBe(false);
    expect(client.getSnapshot().messages.at(-1)?.content).toBe("Back online?");
    expect(looks()).toHaveLength(4);
  });

  it("resumes looking after a reload of an escalated session, from the newest message loaded", async () => {
    const transport = new FakeTransport();
    const storage = new MemoryStorage();
    const id = transport.seed(2, { status: "escalated", taken_by_name: "Dana Reyes" });
    storage.setItem(storageKeyFor("customer_support"), id);
    const { client, looks, tick } = handoff({ transport, storage });
    await client.load();
    expect(client.getSnapshot()).toMatchObject({ sessionStatus: "escalated", takenBy: "Dana Reyes" });
    transport.agentReply(id, "Dana Reyes", "Still there?");
    await tick();
    const loaded = transport.sessions.get(id)?.messages[1]?.id;
    expect(looks()[0]).toEqual([id, { after: loaded, limit: 50 }]);
    expect(client.getSnapshot().messages.map((m) => m.content)).toEqual(["message 1", "message 2", "Still there?"]);
  });

  it("looks no more while nothing holds the client, and at once when something holds it again", async () => {
    const { client, transport, looks, tick } = handoff();
    const { session_id } = await client.sendMessage("hi");
    const release = client.retain();
    await client.escalateSession("Billing dispute");
    await tick();
    expect(looks()).toHaveLength(1);
    release();
    await tick(5 * POLL);
    expect(looks()).toHaveLength(1);
    transport.agentReply(session_id, "Dana Reyes", "Hello?");
    client.retain();
    await tick(0);
    expect(looks()).toHaveLength(2);
    expect(client.getSnapshot().messages.at(-1)?.content).toBe("Hello?");
  });

  it("stops looking when a new conversation is started", async () => {
    const { client, looks, tick } = handoff();
    await client.sendMessage("hi");
    await client.escalateSession("Billing dispute");
    client.startNewSession();
    await tick(5 * POLL);
    expect(looks()).toHaveLength(0);
  });
});
