import { act, cleanup, fireEvent, render, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { AIChatWidget, REPLYING_ANNOUNCEMENT } from "./ai-chat-widget";
import { ChatClient } from "./chat-client";
import { storageKeyFor } from "./session-storage";
import { delta, endParts, FakeStreamApi, startParts, storedMessage } from "./testing/fake-stream";
import { MemoryStorage } from "./testing/fake-transport";
import { createFetchTransport } from "./transport";

afterEach(() => {
  cleanup();
  document.body.innerHTML = "";
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The page reloaded while the reply to "Hello" was being written: the stored session's newest message is the user's,
 * still pending. The widget opens over the real fetch transport and a fake API, looking at the history every 20 ms.
 */
function reloadedMidReply() {
  const api = new FakeStreamApi();
  api.stored.set("S1", [storedMessage("U1", "user", "Hello", { status: "pending", tokens: 0 })]);
  const storage = new MemoryStorage();
  storage.setItem(storageKeyFor("customer_support"), "S1");
  const client = new ChatClient({
    transport: createFetchTransport({ apiBaseUrl: "https://api.test", getToken: () => "tok", fetch: api.fetch }),
    storage,
    pendingDelays: Array.from({ length: 200 }, () => 20),
  });
  const view = render(<AIChatWidget client={client} defaultOpen />);
  const root = document.querySelector("[data-ai-chat-widget]")?.shadowRoot;
  if (!root) throw new Error("the widget has not mounted");
  const ui = within(root as unknown as HTMLElement);
  const announcer = root.querySelector("[data-announcer]");
  if (!announcer) throw new Error("no live region");
  const announced: string[] = [];
  new MutationObserver(() => {
    const text = announcer.textContent ?? "";
    if (text !== announced.at(-1)) announced.push(text);
  }).observe(announcer, { subtree: true, childList: true, characterData: true });
  const looks = () => api.requestsTo(/^GET .*\/sessions\/S1\/history/).length;
  const typing = () => root.querySelector(".msg.typing");
  const sendButton = () => ui.getByRole("button", { name: "Send" }) as HTMLButtonElement;
  return { api, client, view, root, ui, announced, looks, typing, sendButton };
}

describe("AIChatWidget after a reload while a reply was being written", () => {
  it("shows the reply in progress, looks at the history until it is stored, then shows it, announced once", async () => {
    const { api, root, ui, announced, looks, typing, sendButton } = reloadedMidReply();
    await waitFor(() => expect(typing()).toBeTruthy());
    expect(root.querySelector('.msg[data-role="user"]')?.textContent).toContain("Hello");
    fireEvent.change(ui.getByRole("textbox", { name: "Message" }), { target: { value: "Another" } });
    expect(sendButton().disabled).toBe(true); // as while sending
    expect(ui.getByRole("log", { name: "Conversation" }).getAttribute("aria-busy")).toBe("true");
    await waitFor(() => expect(looks()).toBeGreaterThanOrEqual(3)); // the load, then looks again
    expect(root.querySelector('.msg[data-role="assistant"]:not(.typing)')).toBeNull();

    api.stored.set("S1", [storedMessage("U1", "user", "Hello"), storedMessage("M1", "assistant", "Hi, how can I **help**?")]);
    const reply = await waitFor(() => {
      const shown = root.querySelector<HTMLElement>('.msg[data-role="assistant"][data-status="sent"]');
      expect(shown).toBeTruthy();
      return shown as HTMLElement;
    });
    expect(reply.querySelector(".bubble")?.textContent).toBe("Hi, how can I help?");
    expect(typing()).toBeNull();
    expect(sendButton().disabled).toBe(false);
    expect(ui.getByRole("button", { name: "Helpful" })).toBeTruthy(); // the stored reply, with its id
    expect(ui.queryByRole("alert")).toBeNull();
    const settled = looks();
    await sleep(150);
    expect(looks()).toBe(settled); // no more looks once the reply is in
    expect(announced).toEqual([REPLYING_ANNOUNCEMENT, "The assistant replied: Hi, how can I help?"]);
  });

  it("a message whose turn failed shows Not sent with Retry, as a failed send does, and Retry sends it again", async () => {
    const { api, root, ui, announced, looks, typing } = reloadedMidReply();
    await waitFor(() => expect(looks()).toBeGreaterThanOrEqual(2));
    api.stored.set("S1", [storedMessage("U1", "user", "Hello", { status: "failed", tokens: 0 })]);
    await ui.findByText("Not sent.");
    expect(typing()).toBeNull();
    expect(root.querySelector('.msg[data-role="user"]')?.getAttribute("data-status")).toBe("failed");
    expect(ui.getByRole("alert").textContent).toContain("Your message was not sent.");
    expect(announced).toEqual([REPLYING_ANNOUNCEMENT, "The assistant did not reply."]);
    const settled = looks();
    await sleep(100);
    expect(looks()).toBe(settled);

    await act(async () => {
      fireEvent.click(ui.getByRole("button", { name: "Retry" }));
    });
    const body = await api.nextStream();
    expect(api.requestsTo(/chat\/stream/).map((r) => r.body)).toEqual([{ message: "Hello", session_id: "S1" }]);
    await act(async () => body.write(startParts("S1", "U2"), delta("Hello again!"), endParts("S1", "M2")));
    await waitFor(() => expect(root.querySelector('.msg[data-role="assistant"][data-status="sent"] .bubble')?.textContent)
      .toBe("Hello again!"));
    expect(ui.queryByText("Not sent.")).toBeNull();
  });

  it("stops looking at the history when the widget unmounts", async () => {
    const { view, looks } = reloadedMidReply();
    await waitFor(() => expect(looks()).toBeGreaterThanOrEqual(3));
    view.unmount();
    const atUnmount = looks();
    await sleep(200); // ten delays' worth
    expect(looks()).toBe(atUnmount);
  });

  it("stops looking when the person starts a new conversation", async () => {
    const { ui, looks, typing } = reloadedMidReply();
    await waitFor(() => expect(looks()).toBeGreaterThanOrEqual(2));
    await act(async () => {
      fireEvent.click(ui.getByRole("button", { name: "Start a new conversation" }));
    });
    const atNew = looks();
    expect(typing()).toBeNull();
    await sleep(150);
    expect(looks()).toBe(atNew);
    expect(ui.getByText("Hi! Ask a question and the assistant will answer here.")).toBeTruthy();
  });
});
