import { act, cleanup, fireEvent, render, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { SessionBody } from "./api-types";
import { AIChatWidget } from "./ai-chat-widget";
import { ChatClient } from "./chat-client";
import { ChatApiError } from "./chat-error";
import { latestResumableSession, type SessionPage } from "./session-resume";
import { storageKeyFor } from "./session-storage";
import { FakeTransport, MemoryStorage } from "./testing/fake-transport";
import { createFetchTransport } from "./transport";

afterEach(() => {
  cleanup();
});

const KEY = storageKeyFor("customer_support");

const session = (id: string, status: SessionBody["status"], type: SessionBody["session_type"] = "customer_support") =>
  ({ id, status, session_type: type }) as SessionBody;

describe("latestResumableSession", () => {
  it("finds the newest active or escalated session of the type, looking past other pages", async () => {
    const pages: SessionPage[] = [
      { sessions: [session("A", "completed"), session("B", "active", "analytics")], nextCursor: "c2" },
      { sessions: [session("C", "abandoned"), session("D", "escalated"), session("E", "active")], nextCursor: "c3" },
      { sessions: [session("F", "active")], nextCursor: null },
    ];
    const list = vi.fn(async ({ cursor }: { cursor?: string | null } = {}) => pages[cursor ? Number(cursor.slice(1)) - 1 : 0]!);
    expect((await latestResumableSession(list, "customer_support"))?.id).toBe("D");
    expect(list.mock.calls.map(([options]) => options?.cursor)).toEqual([null, "c2"]);
    expect((await latestResumableSession(list, "analytics"))?.id).toBe("B");
  });

  it("is null when no session goes on, and gives up after its last page", async () => {
    const closed = async () => ({ sessions: [session("A", "completed")], nextCursor: "more" });
    const list = vi.fn(closed);
    expect(await latestResumableSession(list, "customer_support", 3)).toBeNull();
    expect(list).toHaveBeenCalledTimes(3);
    expect(await latestResumableSession(async () => ({ sessions: [], nextCursor: null }), "customer_support")).toBeNull();
  });
});

function client(transport: FakeTransport, storage = new MemoryStorage(), resume = true) {
  return new ChatClient({ transport, storage, resume });
}

describe("ChatClient's resume", () => {
  it("with no session stored, loads the user's latest open session of its type and keeps it as if stored", async () => {
    const transport = new FakeTransport();
    transport.seed(2, { status: "completed" });
    const open = transport.seed(4);
    transport.seed(2, { session_type: "analytics" });
    const storage = new MemoryStorage();
    const chat = client(transport, storage);
    await chat.load();
    const state = chat.getSnapshot();
    expect(state.sessionId).toBe(open);
    expect(state.messages.map((m) => m.content)).toEqual(["message 1", "message 2", "message 3", "message 4"]);
    expect(state.status).toBe("ready");
    expect(storage.getItem(KEY)).toBe(open);
    await chat.sendMessage("and another thing");
    expect(transport.sessions.get(open)!.messages.at(-2)?.content).toBe("and another thing");
  });

  it("goes on with an escalated one: its status and who has it", async () => {
    const transport = new FakeTransport();
    const id = transport.seed(2, { status: "escalated", taken_by_name: "Dana Reyes" });
    const chat = client(transport);
    await chat.load();
    expect(chat.getSnapshot()).toMatchObject({ sessionId: id, sessionStatus: "escalated", takenBy: "Dana Reyes" });
  });

  it("does not look when a session is stored, when not asked to, or after startNewSession()", async () => {
    const transport = new FakeTransport();
    const stored = transport.seed(2);
    transport.seed(2);
    const storage = new MemoryStorage();
    storage.setItem(KEY, stored);
    const withStored = client(transport, storage);
    await withStored.load();
    expect(withStored.getSnapshot().sessionId).toBe(stored);
    const off = client(transport, new MemoryStorage(), false);
    await off.load();
    expect(off.getSnapshot().sessionId).toBeNull();
    expect(transport.callsOf("mySessions")).toEqual([]);

    const fresh = client(transport);
    await fresh.load();
    expect(transport.callsOf("mySessions")).toHaveLength(1);
    fresh.startNewSession();
    await fresh.load();
    expect(fresh.getSnapshot().sessionId).toBeNull();
    expect(transport.callsOf("mySessions")).toHaveLength(1);
  });

  it("does not put another open session in the place of a deleted one, stored or resumed", async () => {
    const transport = new FakeTransport();
    const older = transport.seed(2);
    const stored = transport.seed(2);
    const storage = new MemoryStorage();
    storage.setItem(KEY, stored);
    const chat = client(transport, storage);
    await chat.load();
    await chat.deleteSession();
    await chat.load();
    expect(chat.getSnapshot()).toMatchObject({ sessionId: null, messages: [], deletedSessionId: stored });
    expect(storage.getItem(KEY)).toBeNull();
    expect(transport.callsOf("mySessions")).toEqual([]);
    expect(transport.sessions.has(stored)).toBe(false);

    const resumed = client(transport, storage);
    await resumed.load();
    expect(resumed.getSnapshot().sessionId).toBe(older);
    await resumed.deleteSession();
    await resumed.load();
    expect(resumed.getSnapshot().sessionId).toBeNull();
    expect(transport.callsOf("mySessions")).toHaveLength(1);
  });

  it("with none to go on with, is a new conversation: ready, nothing kept, the first message starts a session", async () => {
    const transport = new FakeTransport();
    transport.seed(2, { status: "completed" });
    const storage = new MemoryStorage();
    const chat = client(transport, storage);
    await chat.load();
    expect(chat.getSnapshot()).toMatchObject({ sessionId: null, status: "ready", messages: [] });
    expect(storage.getItem(KEY)).toBeNull();
  });

  it("a message typed while it looks goes to the session it finds", async () => {
    const transport = new FakeTransport();
    const open = transport.seed(2);
    const release = transport.hold("mySessions");
    const chat = client(transport);
    const loading = chat.load();
    const sent = chat.sendMessage("typed at once");
    release();
    await Promise.all([loading, sent]);
    expect(chat.getSnapshot().sessionId).toBe(open);
    expect(transport.callsOf("chat")[0]![0]).toMatchObject({ session_id: open, message: "typed at once" });
    expect(chat.getSnapshot().messages.map((m) => m.content).slice(-2)).toEqual(["typed at once", "Echo: typed at once"]);
  });

  it("a failed look is a load error with Try again, which looks again", async () => {
    const transport = new FakeTransport();
    const open = transport.seed(2);
    transport.failNext("mySessions", new ChatApiError(0, null));
    const chat = client(transport);
    await expect(chat.load()).rejects.toMatchObject({ code: "network_error" });
    expect(chat.getSnapshot()).toMatchObject({ failedAction: "load", sessionId: null });
    await chat.retry();
    expect(chat.getSnapshot()).toMatchObject({ sessionId: open, error: null });
  });

  it("tells no onMessage for the messages it loads, as for any history", async () => {
    const transport = new FakeTransport();
    transport.seed(4);
    const onMessage = vi.fn();
    render(<AIChatWidget transport={transport} storage={new MemoryStorage()} resume defaultOpen onMessage={onMessage} />);
    const root = document.querySelector("[data-ai-chat-widget]")!.shadowRoot!;
    await waitFor(() => expect(root.querySelectorAll(".msg")).toHaveLength(4));
    expect(onMessage).not.toHaveBeenCalled();
  });
});

describe("<AIChatWidget resume>", () => {
  it("opened in a browser with nothing stored, shows the user's latest open conversation", async () => {
    const transport = new FakeTransport();
    const open = transport.seed(2);
    const storage = new MemoryStorage();
    render(<AIChatWidget transport={transport} storage={storage} resume />);
    const root = document.querySelector("[data-ai-chat-widget]")!.shadowRoot!;
    expect(transport.callsOf("mySessions")).toEqual([]); // not before the panel opens
    await act(async () => {
      fireEvent.click(root.querySelector<HTMLButtonElement>(".launcher")!);
    });
    await waitFor(() => expect([...root.querySelectorAll(".msg")].map((m) => m.textContent)).toEqual([
      expect.stringContaining("message 1"), expect.stringContaining("message 2"),
    ]));
    expect(storage.getItem(KEY)).toBe(open);
  });
});

describe("createFetchTransport's mySessions", () => {
  it("asks for a page of the user's sessions and reads the next cursor from X-Next-Cursor", async () => {
    const urls: string[] = [];
    const transport = createFetchTransport({
      apiBaseUrl: "https://api.example",
      getToken: () => "tok",
      fetch: async (url) => {
        urls.push(String(url));
        return new Response(JSON.stringify([{ id: "S1" }]), { status: 200, headers: { "x-next-cursor": "N2" } });
      },
    });
    expect(await transport.mySessions!({ limit: 50, cursor: "N1" })).toEqual({ sessions: [{ id: "S1" }], nextCursor: "N2" });
    expect(urls).toEqual(["https://api.example/api/v1/ai/sessions/my?limit=50&cursor=N1"]);
  });
});
