import { act, cleanup, fireEvent, render, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { AIChatWidget } from "./ai-chat-widget";
import { ChatApiError } from "./chat-error";
import { FakeTransport, MemoryStorage } from "./testing/fake-transport";

afterEach(() => {
  cleanup();
  document.body.innerHTML = "";
  Reflect.deleteProperty(document, "visibilityState");
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The widget, opened, over a fake API; it looks for a person's messages every `pollMs`. */
function setup(pollMs = 20) {
  const transport = new FakeTransport();
  render(<AIChatWidget transport={transport} storage={new MemoryStorage()} defaultOpen handoffPollMs={pollMs} />);
  const root = document.querySelector("[data-ai-chat-widget]")?.shadowRoot;
  if (!root) throw new Error("the widget has not mounted");
  const ui = within(root as unknown as HTMLElement);
  const announcer = root.querySelector("[data-announcer]");
  if (!announcer) throw new Error("no live region");
  const announced: string[] = [];
  new MutationObserver(() => {
    const text = announcer.textContent ?? "";
    if (text && text !== announced.at(-1)) announced.push(text);
  }).observe(announcer, { subtree: true, childList: true, characterData: true });
  const looks = () => transport.callsOf("history").length;
  const input = () => ui.getByRole("textbox", { name: "Message" }) as HTMLTextAreaElement;
  const send = async (text: string) => {
    fireEvent.change(input(), { target: { value: text } });
    await act(async () => {
      fireEvent.keyDown(input(), { key: "Enter" });
    });
  };
  /** A first message answered by the assistant, then a request for a person; the session's id. */
  const escalate = async (): Promise<string> => {
    await send("My bill is wrong");
    await waitFor(() => expect(ui.getByText("Echo: My bill is wrong")).toBeTruthy());
    fireEvent.click(ui.getByRole("button", { name: "Talk to a person" }));
    await act(async () => {
      fireEvent.click(ui.getByRole("button", { name: "Ask for a person" }));
    });
    await waitFor(() => expect(ui.getByRole("status").textContent).toContain("A person will reply here."));
    const id = [...transport.sessions.keys()][0];
    if (!id) throw new Error("no session");
    return id;
  };
  return { transport, root, ui, announced, looks, input, send, escalate };
}

describe("AIChatWidget while a person of the support team has the conversation", () => {
  it("shows their joining as a line across the log and their reply under their name, unrated, and announces both", async () => {
    const { transport, root, ui, announced, escalate } = setup();
    const id = await escalate();
    expect(within(ui.getByRole("status")).getByRole("button", { name: "Cancel request" })).toBeTruthy();
    transport.agentReply(id, "Dana Reyes", "Hello, I can see **two** charges.");
    await waitFor(() => expect(ui.getByText("two")).toBeTruthy());
    const marker = root.querySelector(".handoff-marker");
    expect([marker?.textContent, marker?.getAttribute("data-handoff")]).toEqual(["Dana Reyes joined the conversation.", "joined"]);
    expect(marker?.closest(".msg")).toBeNull();
    const reply = root.querySelector('.msg[data-role="agent"]');
    expect(reply?.querySelector(".agent-name")?.textContent).toBe("Dana Reyes (support team)");
    expect(reply?.querySelector(".bubble")?.textContent).toBe("Hello, I can see two charges.");
    // Only the assistant's reply is rated.
    expect(ui.getAllByRole("button", { name: "Helpful" })).toHaveLength(1);
    expect(announced.at(-1)).toBe("Dana Reyes joined the conversation. Dana Reyes replied: Hello, I can see two charges.");
    expect(ui.getByRole("status").textContent).toContain("Dana Reyes is answering.");
    expect(ui.queryByRole("button", { name: "Cancel request" })).toBeNull();
  });

  it("sends messages to the person as usual: shown as sent, with no assistant reply and no typing indicator", async () => {
    const { root, ui, announced, input, send, escalate } = setup();
    await escalate();
    await send("It was on the 3rd");
    await waitFor(() => expect(root.querySelector('.msg[data-role="user"]:last-of-type')?.getAttribute("data-status")).toBe("sent"));
    expect(ui.getByText("It was on the 3rd")).toBeTruthy();
    expect(root.querySelectorAll('.msg[data-role="assistant"]')).toHaveLength(1);
    expect(root.querySelector(".msg.typing")).toBeNull();
    expect(ui.getByRole("log").getAttribute("aria-busy")).toBe("false");
    expect(announced.at(-1)).toBe("Your message was passed to our support team.");
    expect(input().disabled).toBe(false);
  });

  it("goes back to the assistant when the person hands the conversation back: a line says so, and the next message is answered", async () => {
    const { transport, root, ui, send, escalate } = setup();
    const id = await escalate();
    transport.agentReply(id, "Dana Reyes", "Refunded.");
    transport.release(id, "active");
    await waitFor(() => expect(ui.getByText("Dana Reyes handed the conversation back to the assistant.")).toBeTruthy());
    expect(ui.queryByRole("status")).toBeNull();
    expect(ui.getByText("Answers are AI-generated")).toBeTruthy();
    await send("Thanks!");
    await waitFor(() => expect(ui.getByText("Echo: Thanks!")).toBeTruthy());
    expect(root.querySelectorAll('.msg[data-role="assistant"]')).toHaveLength(2);
  });

  it("closes the input when the person closes the conversation, and looks no more", async () => {
    const { transport, ui, looks, input, escalate } = setup();
    const id = await escalate();
    transport.agentReply(id, "Dana Reyes", "All done.");
    transport.release(id, "completed");
    await waitFor(() => expect(ui.getByText("Dana Reyes closed the conversation.")).toBeTruthy());
    expect(ui.getByRole("status").textContent).toContain("This conversation is closed.");
    expect(input().disabled).toBe(true);
    const seen = looks();
    await act(() => sleep(100));
    expect(looks()).toBe(seen);
  });

  it("cancels a request nobody took: the notice goes, focus is back in the input, and the assistant answers", async () => {
    const { transport, ui, input, send, escalate } = setup();
    await escalate();
    await act(async () => {
      fireEvent.click(ui.getByRole("button", { name: "Cancel request" }));
    });
    await waitFor(() => expect(ui.queryByRole("status")).toBeNull());
    expect(transport.callsOf("withdraw")).toHaveLength(1);
    await waitFor(() => expect(input().getRootNode()).toHaveProperty("activeElement", input()));
    await send("Never mind");
    await waitFor(() => expect(ui.getByText("Echo: Never mind")).toBeTruthy());
  });

  it("says who took a request that can no longer be cancelled, with no Try again", async () => {
    // Looks far apart: the person takes the session before the widget has seen it.
    const { transport, ui, escalate } = setup(60_000);
    const id = await escalate();
    transport.agentReply(id, "Dana Reyes", "I am on it.");
    await act(async () => {
      fireEvent.click(ui.getByRole("button", { name: "Cancel request" }));
    });
    const alert = await ui.findByRole("alert");
    expect(alert.textContent).toContain("Your request for a person could not be cancelled.");
    expect(alert.textContent).toContain("Dana Reyes is already answering this conversation");
    expect(within(alert).queryByRole("button", { name: "Try again" })).toBeNull();
    // The refusal is followed by a look at once: the person's reply shows without waiting a minute.
    await waitFor(() => expect(ui.getByText("I am on it.")).toBeTruthy());
    expect(ui.getByRole("status").textContent).toContain("Dana Reyes is answering.");
  });

  it("shows a small notice, not an alert, after failed looks in a row, and looks on", async () => {
    const { transport, ui, escalate } = setup();
    const id = await escalate();
    for (let i = 0; i < 3; i++) transport.failNext("history", new ChatApiError(0, null));
    // The look after those waits, so the notice can be seen before it works.
    const fourth = transport.hold("history");
    await waitFor(() => expect(ui.getByText("New messages could not be checked for; still trying.")).toBeTruthy());
    expect(ui.queryByRole("alert")).toBeNull();
    transport.agentReply(id, "Dana Reyes", "Back now.");
    fourth();
    await waitFor(() => expect(ui.getByText("Back now.")).toBeTruthy());
    expect(ui.queryByText("New messages could not be checked for; still trying.")).toBeNull();
  });

  it("does not look while the page is hidden, and looks at once when it is shown again", async () => {
    const { transport, ui, looks, escalate } = setup();
    const id = await escalate();
    Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
    document.dispatchEvent(new Event("visibilitychange"));
    await act(() => sleep(30));
    const seen = looks();
    transport.agentReply(id, "Dana Reyes", "Hello?");
    await act(() => sleep(150));
    expect(looks()).toBe(seen);
    Object.defineProperty(document, "visibilityState", { value: "visible", configurable: true });
    document.dispatchEvent(new Event("visibilitychange"));
    await waitFor(() => expect(ui.getByText("Hello?")).toBeTruthy());
  });

  it("looks no more once the widget is unmounted", async () => {
    const { looks, escalate } = setup();
    await escalate();
    await waitFor(() => expect(looks()).toBeGreaterThan(0));
    cleanup();
    const seen = looks();
    await sleep(150);
    expect(looks()).toBe(seen);
  });
});
