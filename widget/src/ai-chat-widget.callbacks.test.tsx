import { act, cleanup, fireEvent, render, waitFor, within } from "@testing-library/react";
import { StrictMode, type ReactNode } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AIChatWidget, type AIChatWidgetProps } from "./ai-chat-widget";
import { ChatClient } from "./chat-client";
import { ChatApiError } from "./chat-error";
import type { ChatEscalation } from "./chat-events";
import type { ChatAction, ChatMessage } from "./chat-state";
import { delta, endParts, FakeStreamApi, startParts } from "./testing/fake-stream";
import { escalationCall, FakeTransport, MemoryStorage } from "./testing/fake-transport";
import { createFetchTransport } from "./transport";

afterEach(() => {
  cleanup();
  document.body.innerHTML = "";
  vi.unstubAllGlobals();
});

/** Every callback the widget made, in order, as one line each. */
function recorder() {
  const events: string[] = [];
  const messages: ChatMessage[] = [];
  const escalations: ChatEscalation[] = [];
  const errors: Array<[ChatApiError, ChatAction]> = [];
  const callbacks = {
    onMessage: (m: ChatMessage) => {
      messages.push(m);
      events.push(`message ${m.role}${m.handoff ? ` ${m.handoff}` : ""}: ${m.content}`);
    },
    onEscalate: (e: ChatEscalation) => {
      escalations.push(e);
      events.push(`escalate by ${e.by}`);
    },
    onError: (error: ChatApiError, action: ChatAction) => {
      errors.push([error, action]);
      events.push(`error ${action}: ${error.code}`);
    },
    onOpenChange: (open: boolean) => {
      events.push(`open ${open}`);
    },
  } satisfies Partial<AIChatWidgetProps>;
  return { events, messages, escalations, errors, callbacks };
}

function ui() {
  const root = document.querySelector("[data-ai-chat-widget]")?.shadowRoot;
  if (!root) throw new Error("the widget has not mounted");
  return within(root as unknown as HTMLElement);
}

async function send(text: string): Promise<void> {
  const input = ui().getByRole("textbox", { name: "Message" });
  fireEvent.change(input, { target: { value: text } });
  await act(async () => {
    fireEvent.keyDown(input, { key: "Enter" });
  });
}

const strict = (node: ReactNode, on: boolean): ReactNode => (on ? <StrictMode>{node}</StrictMode> : node);

/** The widget, open, over the real fetch transport and a fake API whose streams the test writes. */
function streaming(props: Partial<AIChatWidgetProps>, inStrictMode = false) {
  const api = new FakeStreamApi();
  const client = new ChatClient({
    transport: createFetchTransport({ apiBaseUrl: "https://api.test", getToken: () => "tok", fetch: api.fetch }),
    storage: null,
  });
  const view = render(strict(<AIChatWidget client={client} defaultOpen {...props} />, inStrictMode));
  return { api, client, view };
}

describe.each([false, true])("AIChatWidget's callbacks (StrictMode: %s)", (inStrictMode) => {
  it("a send and its streamed reply: the customer's message once the stream starts, the reply once it is stored, nothing per delta", async () => {
    const { events, messages, callbacks } = recorder();
    const { api } = streaming(callbacks, inStrictMode);
    await send("Hello");
    expect(events).toEqual([]); // not yet: the server does not have it
    const body = await api.nextStream();
    await act(async () => body.write(startParts("S1", "U1")));
    await waitFor(() => expect(events).toEqual(["message user: Hello"]));
    await act(async () => body.write(delta("Hi ")));
    await act(async () => body.write(delta("there")));
    await act(async () => body.write(delta(".")));
    await waitFor(() => expect(ui().getByText("Hi there.")).toBeTruthy());
    expect(events).toEqual(["message user: Hello"]);
    await act(async () => body.write(endParts("S1", "M1")));
    await waitFor(() => expect(events).toEqual(["message user: Hello", "message assistant: Hi there."]));
    const reply = messages[1];
    expect([reply?.id, reply?.status, reply?.key === messages[0]?.key]).toEqual(["M1", "sent", false]);
    expect(messages[0]?.status).toBe("sent");
  });

  it("a refused send is an error, not a message; the retry that goes through is the message, once", async () => {
    const { events, errors, callbacks } = recorder();
    const transport = new FakeTransport();
    transport.failNext("chat", new ChatApiError(503, { code: "provider_unavailable", detail: "Try again." }));
    render(strict(<AIChatWidget transport={transport} storage={new MemoryStorage()} defaultOpen {...callbacks} />, inStrictMode));
    await send("Hello");
    await waitFor(() => expect(events).toEqual(["error send: provider_unavailable"]));
    expect(errors[0]?.[0]).toBeInstanceOf(ChatApiError);
    await act(async () => {
      fireEvent.click(ui().getByRole("button", { name: "Retry" }));
    });
    await waitFor(() => expect(events).toEqual([
      "error send: provider_unavailable", "message user: Hello", "message assistant: Echo: Hello",
    ]));
  });

  it("the customer's request for a person: onEscalate by the customer, with no reply", async () => {
    const { events, escalations, callbacks } = recorder();
    const transport = new FakeTransport();
    render(strict(<AIChatWidget transport={transport} storage={new MemoryStorage()} defaultOpen {...callbacks} />, inStrictMode));
    await send("My bill is wrong");
    await waitFor(() => expect(events).toHaveLength(2));
    fireEvent.click(ui().getByRole("button", { name: "Talk to a person" }));
    await act(async () => {
      fireEvent.click(ui().getByRole("button", { name: "Ask for a person" }));
    });
    await waitFor(() => expect(events.at(-1)).toBe("escalate by customer"));
    expect(events).toEqual(["message user: My bill is wrong", "message assistant: Echo: My bill is wrong", "escalate by customer"]);
    expect(escalations[0]).toEqual({ by: "customer", reply: null, sessionId: [...transport.sessions.keys()][0], takenBy: null });
  });

  it("the model's hand-over: the reply, then onEscalate by the assistant with that reply; a person's messages follow", async () => {
    const { events, escalations, messages, callbacks } = recorder();
    const transport = new FakeTransport();
    transport.toolsNext({ function_calls: [escalationCall("wants a refund")], message: "Passing you to a person." });
    render(strict(<AIChatWidget transport={transport} storage={new MemoryStorage()} defaultOpen handoffPollMs={20}
      {...callbacks} />, inStrictMode));
    await send("Refund me");
    await waitFor(() => expect(events.at(-1)).toBe("escalate by assistant"));
    expect(events).toEqual(["message user: Refund me", "message assistant: Passing you to a person.", "escalate by assistant"]);
    expect(escalations[0]?.reply).toBe(messages[1]);
    const id = [...transport.sessions.keys()][0] ?? "";
    transport.agentReply(id, "Dana Reyes", "Hello, Dana here.");
    await waitFor(() => expect(events).toHaveLength(5));
    expect(events.slice(3)).toEqual(["message agent joined: Dana Reyes joined the conversation.", "message agent: Hello, Dana here."]);
  });

  it("onOpenChange: the launcher opens, Minimise and Escape close; the first state is not told", async () => {
    const { events, callbacks } = recorder();
    render(strict(<AIChatWidget transport={new FakeTransport()} storage={new MemoryStorage()} {...callbacks} />, inStrictMode));
    expect(events).toEqual([]);
    fireEvent.click(ui().getByRole("button", { name: "Open AI assistant" }));
    fireEvent.click(ui().getByRole("button", { name: "Minimise chat" }));
    fireEvent.click(ui().getByRole("button", { name: "Open AI assistant" }));
    fireEvent.keyDown(ui().getByRole("textbox", { name: "Message" }), { key: "Escape" });
    fireEvent.click(ui().getByRole("button", { name: "Open AI assistant" }));
    fireEvent.click(ui().getByRole("button", { name: "Minimise AI assistant" }));
    expect(events).toEqual(["open true", "open false", "open true", "open false", "open true", "open false"]);
  });
});

describe("AIChatWidget's callbacks", () => {
  it("are not called for the conversation the widget loads when opened, only for what happens after", async () => {
    const { events, callbacks } = recorder();
    const transport = new FakeTransport();
    const storage = new MemoryStorage();
    const id = transport.seed(4);
    storage.setItem("ai-chat:session:customer_support", id);
    render(<AIChatWidget transport={transport} storage={storage} {...callbacks} />);
    fireEvent.click(ui().getByRole("button", { name: "Open AI assistant" }));
    await waitFor(() => expect(ui().getByText("message 4")).toBeTruthy());
    await send("And another thing");
    await waitFor(() => expect(events).toHaveLength(3));
    expect(events).toEqual(["open true", "message user: And another thing", "message assistant: Echo: And another thing"]);
  });

  it("an error of another action names it", async () => {
    const { events, callbacks } = recorder();
    const transport = new FakeTransport();
    transport.failNext("escalate", new ChatApiError(0, null));
    render(<AIChatWidget transport={transport} storage={new MemoryStorage()} defaultOpen {...callbacks} />);
    fireEvent.click(ui().getByRole("button", { name: "Talk to a person" }));
    await act(async () => {
      fireEvent.click(ui().getByRole("button", { name: "Ask for a person" }));
    });
    await waitFor(() => expect(events).toEqual(["error escalate: network_error"]));
  });

  it("calls the latest callback given, without subscribing again", async () => {
    const transport = new FakeTransport();
    const client = new ChatClient({ transport, storage: null });
    const subscribe = vi.spyOn(client, "subscribe");
    const first = vi.fn();
    const second = vi.fn();
    const view = render(<AIChatWidget client={client} defaultOpen onMessage={first} />);
    const subscriptions = subscribe.mock.calls.length;
    view.rerender(<AIChatWidget client={client} defaultOpen onMessage={second} />);
    await send("Hi");
    await waitFor(() => expect(second).toHaveBeenCalledTimes(2));
    expect(first).not.toHaveBeenCalled();
    expect(subscribe.mock.calls.length).toBe(subscriptions);
  });

  it("a callback that throws is reported, and the widget and the other callbacks go on", async () => {
    const reported: unknown[] = [];
    // jsdom has no reportError; a browser's reports the error as uncaught, and the page goes on.
    const reportError = vi.fn((e: unknown) => {
      reported.push(e);
    });
    vi.stubGlobal("reportError", reportError);
    const { events, callbacks } = recorder();
    render(<AIChatWidget transport={new FakeTransport()} storage={new MemoryStorage()} defaultOpen {...callbacks}
      onMessage={(m) => {
        callbacks.onMessage(m);
        throw new Error("the host's bug");
      }} />);
    await send("Hello");
    await waitFor(() => expect(ui().getByText("Echo: Hello")).toBeTruthy());
    expect(events).toEqual(["message user: Hello", "message assistant: Echo: Hello"]);
    expect(reported.map((e) => (e as Error).message)).toEqual(["the host's bug", "the host's bug"]);
    expect(reportError).toHaveBeenCalledTimes(2);
  });
});
