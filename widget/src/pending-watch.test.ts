import { afterEach, describe, expect, it, vi } from "vitest";
import type { ChatRequestBody, HistoryBody, HistoryMessageBody } from "./api-types";
import { ChatClient } from "./chat-client";
import type { ChatApiError } from "./chat-error";
import { fromHistory, fromPage, noConversation, type ChatAction, type ChatState } from "./chat-state";
import { PendingWatch } from "./pending-watch";
import { storageKeyFor } from "./session-storage";
import { historyPage, storedMessage } from "./testing/fake-stream";
import { FakeTransport, MemoryStorage } from "./testing/fake-transport";

const asked = (status: HistoryMessageBody["status"]) => storedMessage("U2", "user", "still there?", { status });
const before = [storedMessage("U1", "user", "hi"), storedMessage("A1", "assistant", "Hello.")];
const pendingPage = historyPage("S1", [...before, asked("pending")]);

/**
 * A watch over a state of its own, as a client holds one, of a conversation whose newest message U2 awaits its
 * reply: `pages` answers its looks in turn (an error fails the look; the page with U2 pending once they run out).
 */
function watcher(pages: Array<HistoryBody | Error>, delays: readonly number[] = [10, 20, 30]) {
  vi.useFakeTimers();
  let generation = 0;
  let state: ChatState = {
    ...noConversation("S1"), sessionType: "customer_support", historyLoaded: true,
    messages: fromPage(pendingPage.messages, pendingPage.messages[2] ?? null), status: "submitted",
  };
  const looks: string[] = [];
  const fails: Array<{ action: ChatAction; error: ChatApiError; again: (() => Promise<unknown>) | null }> = [];
  const escalations: Array<string | null> = [];
  const watch = new PendingWatch({
    state: () => state,
    generation: () => generation,
    update: (patch) => {
      state = { ...state, ...patch };
    },
    latest: async (sessionId) => {
      looks.push(sessionId);
      const page = pages.shift() ?? pendingPage;
      if (page instanceof Error) throw page;
      return page;
    },
    fail: (action, error, again) => {
      fails.push({ action, error, again });
    },
    escalated: (takenBy) => {
      escalations.push(takenBy);
    },
  }, delays);
  return {
    watch, looks, fails, escalations,
    state: () => state,
    set: (patch: Partial<ChatState>) => {
      state = { ...state, ...patch };
    },
    leave: () => {
      generation += 1;
    },
    tick: (ms: number) => vi.advanceTimersByTimeAsync(ms),
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("PendingWatch", () => {
  it("looks after each delay in turn, one watch per message however often it is asked for, and looks again after a failed look", async () => {
    const { watch, looks, tick } = watcher([new Error("offline")]);
    watch.watch("S1", "U2");
    watch.watch("S1", "U2");
    await tick(9);
    expect(looks).toHaveLength(0);
    await tick(1);
    expect(looks).toHaveLength(1);
    await tick(20);
    expect(looks).toHaveLength(2);
    await tick(29);
    expect(looks).toHaveLength(2);
    await tick(1);
    expect(looks).toHaveLength(3);
  });

  it("shows the stored reply right after the message, keeping the message's key, with the session's status from the page", async () => {
    const answered = historyPage("S1", [...before, asked("ok"), storedMessage("A2", "assistant", "Yes, here.")], {
      status: "escalated", taken_by_name: "Dana",
    });
    const { watch, state, set, escalations, tick } = watcher([answered]);
    // A message typed meanwhile (waiting for this turn) stays after the reply.
    set({ messages: [...state().messages, { ...fromHistory(storedMessage("local-1", "user", "and?")), status: "pending" }] });
    const key = state().messages[2]?.key;
    watch.watch("S1", "U2");
    await tick(10);
    expect(state().messages.map((m) => [m.id, m.status])).toEqual([
      ["U1", "sent"], ["A1", "sent"], ["U2", "sent"], ["A2", "sent"], ["local-1", "pending"],
    ]);
    expect(state().messages[2]?.key).toBe(key);
    expect(state()).toMatchObject({ sessionStatus: "escalated", status: "submitted" });
    expect(escalations).toEqual(["Dana"]);
  });

  it("watches in turn a newer message the settling page shows pending (said in another tab meanwhile)", async () => {
    const later = storedMessage("U3", "user", "one more thing", { status: "pending" });
    const settled = historyPage("S1", [...before, asked("ok"), storedMessage("A2", "assistant", "Yes."), later]);
    const { watch, state, looks, tick } = watcher([settled, pendingPage]);
    watch.watch("S1", "U2");
    await tick(10);
    expect(state().messages.slice(2).map((m) => [m.id, m.status])).toEqual([["U2", "sent"], ["A2", "sent"], ["U3", "pending"]]);
    expect(state().status).toBe("submitted");
    await tick(10);
    expect(looks).toHaveLength(2); // the new watch starts from the first delay
  });

  it("shows a message the server released as failed, with no retry but sending it again", async () => {
    const { watch, state, fails, looks, tick } = watcher([historyPage("S1", [...before, asked("failed")])]);
    watch.watch("S1", "U2");
    await tick(10);
    expect(state().messages[2]).toMatchObject({ id: "U2", status: "failed", error: { code: "reply_failed" } });
    expect(fails.map((f) => [f.action, f.error.code, f.again])).toEqual([["send", "reply_failed", null]]);
    await tick(100);
    expect(looks).toHaveLength(1);
  });

  it("gives up when the delays run out, the message shown sent; the retry it records watches again from the start", async () => {
    const { watch, state, fails, looks, tick } = watcher([], [10, 10]);
    watch.watch("S1", "U2");
    await tick(20);
    expect(looks).toHaveLength(2);
    expect(state().messages[2]).toMatchObject({ id: "U2", status: "sent" });
    expect(state().status).toBe("ready");
    expect(fails.map((f) => [f.action, f.error.code])).toEqual([["load", "reply_not_loaded"]]);
    await tick(100);
    expect(looks).toHaveLength(2);
    await fails[0]?.again?.();
    expect(state()).toMatchObject({ status: "submitted" });
    expect(state().messages[2]?.status).toBe("pending");
    await tick(10);
    expect(looks).toHaveLength(3);
  });

  it("pauses with the delays counted where they were, and resumes with the next one", async () => {
    const { watch, looks, tick } = watcher([]);
    watch.watch("S1", "U2");
    await tick(10);
    watch.pause();
    await tick(1000);
    expect(looks).toHaveLength(1);
    watch.resume();
    await tick(19);
    expect(looks).toHaveLength(1);
    await tick(1);
    expect(looks).toHaveLength(2);
  });

  it("looks no more once the conversation was left, and shows nothing of the page it found", async () => {
    const answered = historyPage("S1", [...before, asked("ok"), storedMessage("A2", "assistant", "Yes.")]);
    const { watch, state, looks, leave, tick } = watcher([answered]);
    watch.watch("S1", "U2");
    const shown = state();
    await tick(9);
    leave();
    await tick(1);
    expect(looks).toHaveLength(1);
    expect(state()).toBe(shown);
    await tick(1000);
    expect(looks).toHaveLength(1);
  });
});

describe("ChatClient following a reply that was still being written when the history loaded", () => {
  /** A stored session whose newest message is the user's, its turn still answered on the server (a reload mid-reply). */
  function pendingSession(pendingDelays?: number[]) {
    const transport = new FakeTransport();
    const id = transport.seed(2);
    const stored = transport.sessions.get(id);
    if (!stored) throw new Error("no seeded session");
    stored.messages.push({ id: "U9", role: "user", content: "still there?", created_at: new Date(0).toISOString(), tokens: 0, status: "pending" });
    const storage = new MemoryStorage();
    storage.setItem(storageKeyFor("admin_assistant"), id);
    let n = 0;
    const client = new ChatClient({ transport, storage, sessionType: "admin_assistant", newId: () => `id${++n}`, pendingDelays });
    /** The server settles the turn: the message ok with its reply stored after it, or failed (released). */
    const settle = (status: "ok" | "failed") => {
      const asked = stored.messages.find((m) => m.id === "U9");
      if (asked) asked.status = status;
      if (status === "ok") {
        stored.messages.push({ id: "A9", role: "assistant", content: "Yes, here.", created_at: new Date(0).toISOString(), tokens: 3, status: "ok" });
      }
    };
    const looks = () => transport.callsOf("history").length;
    return { client, transport, id, settle, looks };
  }

  it("shows the message awaiting its reply and looks at the history at 0.5 s, 1 s, 2 s, then every 3 s, until the reply is stored", async () => {
    vi.useFakeTimers();
    try {
      const { client, settle, looks } = pendingSession();
      await client.load();
      expect(client.getSnapshot()).toMatchObject({ status: "submitted", historyLoaded: true });
      expect(client.getSnapshot().messages.map((m) => [m.id, m.status])).toEqual([
        [expect.any(String), "sent"], [expect.any(String), "sent"], ["U9", "pending"],
      ]);
      expect(looks()).toBe(1);
      await vi.advanceTimersByTimeAsync(499);
      expect(looks()).toBe(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(looks()).toBe(2);
      await vi.advanceTimersByTimeAsync(1000);
      expect(looks()).toBe(3);
      await vi.advanceTimersByTimeAsync(2000);
      expect(looks()).toBe(4);
      await vi.advanceTimersByTimeAsync(3000);
      expect(looks()).toBe(5);
      expect(client.getSnapshot().status).toBe("submitted");

      settle("ok");
      await vi.advanceTimersByTimeAsync(3000);
      expect(looks()).toBe(6);
      expect(client.getSnapshot().messages.slice(2).map((m) => [m.id, m.role, m.content, m.status])).toEqual([
        ["U9", "user", "still there?", "sent"], ["A9", "assistant", "Yes, here.", "sent"],
      ]);
      expect(client.getSnapshot()).toMatchObject({ status: "ready", error: null });
      await vi.advanceTimersByTimeAsync(60_000);
      expect(looks()).toBe(6); // settled: no more looks
    } finally {
      vi.useRealTimers();
    }
  });

  it("gives up after about two minutes (the server's stream deadline), and retry looks again", async () => {
    vi.useFakeTimers();
    try {
      const { client, settle, looks } = pendingSession();
      await client.load();
      await vi.advanceTimersByTimeAsync(120_499);
      expect(client.getSnapshot().status).toBe("submitted");
      expect(looks()).toBe(42);
      await vi.advanceTimersByTimeAsync(1);
      expect(looks()).toBe(43);
      expect(client.getSnapshot()).toMatchObject({ status: "error", failedAction: "load", error: { code: "reply_not_loaded", retryable: true } });
      expect(client.getSnapshot().messages.at(-1)).toMatchObject({ id: "U9", status: "sent" });
      await vi.advanceTimersByTimeAsync(60_000);
      expect(looks()).toBe(43);

      settle("ok");
      await client.retry();
      expect(client.getSnapshot()).toMatchObject({ status: "submitted", error: null });
      await vi.advanceTimersByTimeAsync(500);
      expect(client.getSnapshot().messages.at(-1)).toMatchObject({ id: "A9", content: "Yes, here." });
      expect(client.getSnapshot().status).toBe("ready");
    } finally {
      vi.useRealTimers();
    }
  });

  it("a message that became failed is not sent, with the retry a failed send has: it is sent again", async () => {
    vi.useFakeTimers();
    try {
      const { client, transport, id, settle } = pendingSession();
      await client.load();
      settle("failed");
      await vi.advanceTimersByTimeAsync(500);
      const state = client.getSnapshot();
      expect(state.messages.at(-1)).toMatchObject({ id: "U9", status: "failed", error: { code: "reply_failed", retryable: true } });
      expect(state).toMatchObject({ status: "error", failedAction: "send" });
      await vi.advanceTimersByTimeAsync(60_000);
      expect(transport.callsOf("history")).toHaveLength(2);

      const reply = await client.retry("U9");
      expect(reply).toMatchObject({ message: "Echo: still there?" });
      expect((transport.callsOf("chat")[0]?.[0] as ChatRequestBody)).toEqual({ message: "still there?", session_id: id });
      expect(client.getSnapshot().messages.slice(2).map((m) => [m.content, m.status])).toEqual([
        ["still there?", "sent"], ["Echo: still there?", "sent"],
      ]);
      expect(client.getSnapshot()).toMatchObject({ status: "ready", error: null });
    } finally {
      vi.useRealTimers();
    }
  });

  it("looks once per delay however often it is held or loaded, pauses when the last holder lets go, and stops for a new conversation", async () => {
    vi.useFakeTimers();
    try {
      const { client, looks } = pendingSession();
      const first = client.retain();
      const second = client.retain();
      await Promise.all([client.load(), client.load()]);
      await client.load();
      expect(looks()).toBe(1);
      await vi.advanceTimersByTimeAsync(500);
      expect(looks()).toBe(2); // one look, not one per holder
      first();
      first(); // letting go twice is letting go once
      await vi.advanceTimersByTimeAsync(1000);
      expect(looks()).toBe(3); // still held by the second
      second();
      await vi.advanceTimersByTimeAsync(30_000);
      expect(looks()).toBe(3); // nothing holds it: no requests
      const again = client.retain();
      await vi.advanceTimersByTimeAsync(2000);
      expect(looks()).toBe(4); // held again: the looks go on where they were
      client.startNewSession();
      await vi.advanceTimersByTimeAsync(60_000);
      expect(looks()).toBe(4);
      expect(client.getSnapshot()).toMatchObject({ messages: [], sessionId: null, status: "ready" });
      again();
    } finally {
      vi.useRealTimers();
    }
  });
});
