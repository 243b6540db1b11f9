import { act, render, renderHook, waitFor } from "@testing-library/react";
import { StrictMode, type ReactNode } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AIChatProvider } from "./ai-chat-provider";
import type { SessionType } from "./api-types";
import type { ChatClient } from "./chat-client";
import { ChatApiError } from "./chat-error";
import { storageKeyFor } from "./session-storage";
import { escalationCall, FakeTransport, MemoryStorage, ticketCall } from "./testing/fake-transport";
import { useAIChat } from "./use-ai-chat";

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("useAIChat", () => {
  it("offers the guide's API: sendMessage resolves with the reply and chatHistory shows both sides", async () => {
    const transport = new FakeTransport();
    const { result } = renderHook(() => useAIChat({ transport, storage: new MemoryStorage() }));
    let reply: { message: string } | undefined;
    await act(async () => {
      reply = await result.current.sendMessage("How do I reset a password?", { page: "custom-chat" });
    });
    expect(reply?.message).toBe("Echo: How do I reset a password?");
    expect(result.current.chatHistory.map((m) => [m.role, m.content])).toEqual([
      ["user", "How do I reset a password?"],
      ["assistant", "Echo: How do I reset a password?"],
    ]);
    expect(result.current.sessionId).toBe([...transport.sessions.keys()][0]);
    expect(result.current.isSending).toBe(false);
    expect(result.current.sendError).toBeNull();
  });

  it("keeps each reply's function calls in chatHistory, and follows the model's hand-over in sessionStatus, still sending", async () => {
    const transport = new FakeTransport();
    const { result } = renderHook(() => useAIChat({ transport, storage: new MemoryStorage() }));
    const ticket = ticketCall("Router keeps rebooting", "urgent");
    transport.toolsNext({ function_calls: [ticket], message: "Ticket opened." });
    await act(async () => {
      await result.current.sendMessage("create a ticket: Router keeps rebooting, urgent");
    });
    expect(result.current.chatHistory.map((m) => [m.role, m.functionCalls])).toEqual([["user", []], ["assistant", [ticket]]]);
    expect(result.current).toMatchObject({ sessionStatus: "active", canSend: true });
    transport.toolsNext({ function_calls: [escalationCall("Wants a person")], message: "", stopped: "escalated" });
    await act(async () => {
      await result.current.sendMessage("I want to talk to a person");
    });
    expect(result.current.chatHistory[3]?.functionCalls.map((c) => c.name)).toEqual(["escalate_to_human"]);
    expect(result.current).toMatchObject({ sessionStatus: "escalated", canSend: true, canWithdraw: true, takenBy: null });
  });

  it("is sending while a reply is pending, and not after", async () => {
    const transport = new FakeTransport();
    const release = transport.hold("chat");
    const { result } = renderHook(() => useAIChat({ transport, storage: new MemoryStorage() }));
    let sent: Promise<unknown> = Promise.resolve();
    act(() => {
      sent = result.current.sendMessage("hi");
    });
    expect(result.current.isSending).toBe(true);
    expect(result.current.status).toBe("submitted");
    await act(async () => {
      release();
      await sent;
    });
    expect(result.current.isSending).toBe(false);
    expect(result.current.status).toBe("ready");
  });

  it("rejects a failed send as the guide's try/catch expects, and shows it as sendError", async () => {
    const transport = new FakeTransport();
    transport.failNext("chat", new ChatApiError(400, {
      code: "daily_cost_limit_exceeded", detail: "Your organisation has used today's AI budget. It resets at midnight UTC.",
    }));
    const { result } = renderHook(() => useAIChat({ transport, storage: new MemoryStorage() }));
    await act(async () => {
      await expect(result.current.sendMessage("hi")).rejects.toThrow("Your organisation has used today's AI budget.");
    });
    expect(result.current.sendError?.message).toBe("Your organisation has used today's AI budget. It resets at midnight UTC.");
    expect(result.current.sendError?.kind).toBe("limit");
    expect(result.current.status).toBe("error");
  });

  it("loads the stored session's history on mount", async () => {
    const transport = new FakeTransport();
    const storage = new MemoryStorage();
    storage.setItem(storageKeyFor("analytics"), transport.seed(2));
    const { result } = renderHook(() => useAIChat({ transport, storage, sessionType: "analytics" }));
    await waitFor(() => expect(result.current.chatHistory).toHaveLength(2));
    expect(result.current.historyLoaded).toBe(true);
  });

  it("does not load history when asked not to", async () => {
    const transport = new FakeTransport();
    const storage = new MemoryStorage();
    storage.setItem(storageKeyFor("customer_support"), transport.seed(2));
    renderHook(() => useAIChat({ transport, storage, loadHistory: false }));
    await act(async () => undefined);
    expect(transport.callsOf("history")).toHaveLength(0);
  });

  it("shares one conversation between components of the same session type under a provider", async () => {
    const transport = new FakeTransport();
    const wrapper = ({ children }: { children: ReactNode }) => (
      <AIChatProvider transport={transport} storage={new MemoryStorage()}>{children}</AIChatProvider>
    );
    const { result } = renderHook(
      () => ({ a: useAIChat({ sessionType: "analytics" }), b: useAIChat({ sessionType: "analytics" }), c: useAIChat() }),
      { wrapper },
    );
    await act(async () => {
      await result.current.a.sendMessage("shared");
    });
    expect(result.current.b.chatHistory.map((m) => m.content)).toEqual(["shared", "Echo: shared"]);
    expect(result.current.b.sessionId).toBe(result.current.a.sessionId);
    expect(result.current.c.chatHistory).toEqual([]);
  });

  it("sends the latest context with each message", async () => {
    const transport = new FakeTransport();
    const { result, rerender } = renderHook(({ page }) => useAIChat({ transport, storage: null, context: { page } }), {
      initialProps: { page: "one" },
    });
    rerender({ page: "two" });
    await act(async () => {
      await result.current.sendMessage("hi");
    });
    expect(transport.callsOf("chat")[0]?.[0]).toMatchObject({ context: { page: "two" } });
  });

  it("asks the current getToken for every request, keeping the conversation when the function changes", async () => {
    const fetchMock = vi.fn(async (url: string, init: RequestInit) => {
      const auth = new Headers(init.headers).get("Authorization");
      const body = url.endsWith("/chat")
        ? { session_id: "S1", message: `ok ${auth}`, role: "assistant", function_calls: [],
            metadata: { tokens: 1, input_tokens: 1, output_tokens: 0, cost_cents: 0, model: "m", provider: "p", message_id: `M${fetchMock.mock.calls.length}` } }
        : {};
      return new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } });
    });
    vi.stubGlobal("fetch", fetchMock);
    const { result, rerender } = renderHook(({ token }) => useAIChat({ apiBaseUrl: "https://api.test", getToken: () => token, storage: null, stream: false }), {
      initialProps: { token: "first" },
    });
    await act(async () => {
      await result.current.sendMessage("one");
    });
    rerender({ token: "second" });
    await act(async () => {
      await result.current.sendMessage("two");
    });
    expect(fetchMock.mock.calls.map(([url]) => url)).toEqual(["https://api.test/api/v1/ai/chat", "https://api.test/api/v1/ai/chat"]);
    expect(result.current.chatHistory.map((m) => m.content)).toEqual(["one", "ok Bearer first", "two", "ok Bearer second"]);
    expect(fetchMock.mock.calls[1]?.[1]).toMatchObject({ method: "POST" });
    expect(JSON.parse(String(fetchMock.mock.calls[1]?.[1]?.body))).toMatchObject({ session_id: "S1" });
  });

  it("makes its client once and keeps it through re-renders, in Strict Mode, with options written inline", async () => {
    const transport = new FakeTransport();
    const storages: MemoryStorage[] = [];
    const seen = new Set<ChatClient>();
    const wrapper = ({ children }: { children: ReactNode }) => <StrictMode>{children}</StrictMode>;
    const { result, rerender } = renderHook(
      ({ page, sessionType }: { page: string; sessionType: SessionType }) => {
        // A new storage object, token function and context on every render, as a component written inline makes them.
        const storage = new MemoryStorage();
        storages.push(storage);
        const chat = useAIChat({ transport, storage, getToken: () => "t", context: { page }, sessionType });
        seen.add(chat.client);
        return chat;
      },
      { wrapper, initialProps: { page: "one", sessionType: "analytics" } },
    );
    const first = result.current.client;
    await act(async () => {
      await result.current.sendMessage("hi");
    });
    rerender({ page: "two", sessionType: "analytics" });
    rerender({ page: "three", sessionType: "analytics" });
    expect(result.current.client).toBe(first);
    expect([...seen]).toEqual([first]);
    expect(result.current.chatHistory.map((m) => m.content)).toEqual(["hi", "Echo: hi"]);
    // The storage it was made with keeps the session; the later renders' storage objects were never used.
    expect(storages[0]?.getItem(storageKeyFor("analytics"))).toBe(result.current.sessionId);
    expect(storages.slice(1).every((s) => s.items.size === 0)).toBe(true);

    rerender({ page: "three", sessionType: "customer_support" });
    expect(result.current.client).not.toBe(first); // another session type is another conversation
    expect(result.current.chatHistory).toEqual([]);
  });

  it("says what is missing when there is neither a provider nor a token", () => {
    const quiet = vi.spyOn(console, "error").mockImplementation(() => undefined);
    function Bare(): ReactNode {
      useAIChat();
      return null;
    }
    expect(() => render(<Bare />)).toThrow(/getToken .* or an <AIChatProvider>/);
    quiet.mockRestore();
  });
});
