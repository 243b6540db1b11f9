import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { StrictMode, type ReactNode } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AIChatAgentInbox, type AIChatAgentInboxProps } from "./agent-inbox";
import { ChatApiError } from "./chat-error";
import { FakeAgentTransport } from "./testing/fake-agent-transport";
import type { AgentReleaseEvent, AgentReplyEvent } from "./use-agent-inbox";

afterEach(() => {
  cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function recorder() {
  const events: string[] = [];
  const replies: AgentReplyEvent[] = [];
  const releases: AgentReleaseEvent[] = [];
  const callbacks = {
    onReply: (e: AgentReplyEvent) => {
      replies.push(e);
      events.push(`reply ${e.sessionId}: ${e.message.content}`);
    },
    onRelease: (e: AgentReleaseEvent) => {
      releases.push(e);
      events.push(`release ${e.sessionId} to ${e.to}: ${e.session.status}`);
    },
    onError: (error: ChatApiError, action: string) => {
      events.push(`error ${action}: ${error.code}`);
    },
  } satisfies Partial<AIChatAgentInboxProps>;
  return { events, replies, releases, callbacks };
}

const strict = (node: ReactNode, on: boolean): ReactNode => (on ? <StrictMode>{node}</StrictMode> : node);

async function openFirst(): Promise<HTMLElement> {
  const list = await screen.findByRole("list", { name: "Waiting conversations" });
  fireEvent.click(within(list).getAllByRole("button")[0]!);
  const log = await screen.findByRole("log", { name: "Conversation" });
  await waitFor(() => expect(within(log).getAllByRole("listitem").length).toBeGreaterThan(0));
  return log;
}

async function reply(text: string): Promise<void> {
  const box = await screen.findByRole("textbox", { name: "Your reply" });
  fireEvent.change(box, { target: { value: text } });
  await act(async () => {
    fireEvent.click(screen.getByRole("button", { name: "Send" }));
  });
}

describe.each([false, true])("AIChatAgentInbox's callbacks (StrictMode: %s)", (inStrictMode) => {
  it("a reply, then a release: onReply with the stored message, then onRelease with the session, once each", async () => {
    const { events, replies, releases, callbacks } = recorder();
    const transport = new FakeAgentTransport();
    transport.waitingSession("S1", "Billing dispute", "My bill doubled");
    render(strict(<AIChatAgentInbox transport={transport} pollMs={20_000} {...callbacks} />, inStrictMode));
    const log = await openFirst();
    await reply("Refunded.");
    await within(log).findByText("Refunded.");
    expect(events).toEqual(["reply S1: Refunded."]);
    expect(replies[0]?.message).toMatchObject({ role: "agent", agent_name: "Dana Reyes", content: "Refunded." });
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: "Hand back to AI" }));
    });
    await within(log).findByText("Dana Reyes handed the conversation back to the assistant.");
    expect(events).toEqual(["reply S1: Refunded.", "release S1 to ai: active"]);
    expect(releases[0]?.session.id).toBe("S1");
  });

  it("closing a conversation is a release too", async () => {
    const { events, callbacks } = recorder();
    const transport = new FakeAgentTransport();
    transport.waitingSession("S1", "r", "hi");
    render(strict(<AIChatAgentInbox transport={transport} pollMs={20_000} {...callbacks} />, inStrictMode));
    await openFirst();
    await act(async () => {
      fireEvent.click(await screen.findByRole("button", { name: "Close conversation" }));
    });
    await screen.findByText("Closed");
    expect(events).toEqual(["release S1 to closed: completed"]);
  });

  it("a refused reply is onError with the action, not onReply", async () => {
    const { events, callbacks } = recorder();
    const transport = new FakeAgentTransport();
    transport.waitingSession("S1", "r", "hi");
    render(strict(<AIChatAgentInbox transport={transport} pollMs={20_000} {...callbacks} />, inStrictMode));
    await openFirst();
    transport.fail = new ChatApiError(400, { code: "session_not_active", detail: "This session is completed." });
    await reply("too late");
    await screen.findByRole("alert");
    expect(events).toEqual(["error reply: session_not_active"]);
  });

  it("a failed look at the list is onError `refresh`, with anything thrown wrapped as a ChatApiError", async () => {
    const onError = vi.fn();
    const transport = new FakeAgentTransport();
    transport.fail = new TypeError("offline");
    render(strict(<AIChatAgentInbox transport={transport} pollMs={20_000} onError={onError} />, inStrictMode));
    await screen.findByRole("alert");
    await act(() => sleep(20)); // a first mount's look, failing late, would be told by now
    expect(onError).toHaveBeenCalledTimes(1);
    const [error, action] = onError.mock.calls[0] ?? [];
    expect(action).toBe("refresh");
    expect(error).toBeInstanceOf(ChatApiError);
    expect((error as ChatApiError).cause).toBe(transport.fail);
  });
});

describe("AIChatAgentInbox's callbacks", () => {

  it("calls the latest callback given, and the looks go on as they were", async () => {
    const first = vi.fn();
    const second = vi.fn();
    const transport = new FakeAgentTransport();
    transport.waitingSession("S1", "r", "hi");
    const view = render(<AIChatAgentInbox transport={transport} pollMs={20_000} onReply={first} />);
    await openFirst();
    const lists = transport.callsOf("waiting").length;
    view.rerender(<AIChatAgentInbox transport={transport} pollMs={20_000} onReply={second} />);
    await act(() => sleep(30));
    expect(transport.callsOf("waiting").length).toBe(lists); // no new poll started by the new callback
    await reply("Hello");
    await waitFor(() => expect(second).toHaveBeenCalledTimes(1));
    expect(first).not.toHaveBeenCalled();
  });
});
