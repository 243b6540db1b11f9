import { act, fireEvent, render, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { AIChatWidget, REPLYING_ANNOUNCEMENT } from "./ai-chat-widget";
import { ChatClient } from "./chat-client";
import { delta, endParts, FakeStreamApi, sse, startParts } from "./testing/fake-stream";
import { createFetchTransport } from "./transport";

afterEach(() => {
  document.body.innerHTML = "";
});

function shadowRoot(): ShadowRoot {
  const root = document.querySelector("[data-ai-chat-widget]")?.shadowRoot;
  if (!root) throw new Error("the widget has not mounted");
  return root;
}

/** The widget, open, over the real fetch transport and a fake API whose streams the test writes. */
function setup() {
  const api = new FakeStreamApi();
  const client = new ChatClient({
    transport: createFetchTransport({ apiBaseUrl: "https://api.test", getToken: () => "tok", fetch: api.fetch }),
    storage: null,
  });
  render(<AIChatWidget client={client} defaultOpen />);
  const root = shadowRoot();
  const ui = within(root as unknown as HTMLElement);
  // Every text the live region was given, in order.
  const announcer = root.querySelector("[data-announcer]");
  if (!announcer) throw new Error("no live region");
  const announced: string[] = [];
  new MutationObserver(() => {
    const text = announcer.textContent ?? "";
    if (text !== announced.at(-1)) announced.push(text);
  }).observe(announcer, { subtree: true, childList: true, characterData: true });
  const reply = () => root.querySelector<HTMLElement>('.msg[data-role="assistant"]');
  return { api, root, ui, announced, reply };
}

async function send(ui: ReturnType<typeof within>, text: string): Promise<void> {
  const input = ui.getByRole("textbox", { name: "Message" });
  fireEvent.change(input, { target: { value: text } });
  await act(async () => {
    fireEvent.keyDown(input, { key: "Enter" });
  });
}

describe("AIChatWidget streaming", () => {
  it("grows the reply in one bubble: each delta updates its nodes, none remounts the bubble or its paragraph", async () => {
    const { api, ui, reply } = setup();
    await send(ui, "Hello");
    const body = await api.nextStream();
    await act(async () => body.write(startParts("S1", "U1")));
    // Until the first words the reply's own bubble shows the typing dots.
    await waitFor(() => expect(reply()?.querySelector(".bubble .dot")).toBeTruthy());
    const bubble = reply()?.querySelector(".bubble");

    await act(async () => body.write(delta("Hello **bold")));
    await waitFor(() => expect(bubble?.textContent).toBe("Hello **bold"));
    const paragraph = bubble?.querySelector("p");
    await act(async () => body.write(delta("** words.")));
    await waitFor(() => expect(bubble?.querySelector("strong")?.textContent).toBe("bold"));
    expect(reply()?.querySelector(".bubble")).toBe(bubble);
    expect(bubble?.querySelector("p")).toBe(paragraph);
    expect(reply()?.dataset.status).toBe("streaming");
    expect(ui.queryByRole("button", { name: "Helpful" })).toBeNull(); // no stored id yet to rate

    await act(async () => body.write(delta("\n\nA second paragraph."), endParts("S1", "M1")));
    await waitFor(() => expect(reply()?.dataset.status).toBe("sent"));
    expect(reply()?.querySelector(".bubble")).toBe(bubble);
    expect(bubble?.querySelector("p")).toBe(paragraph);
    expect([...(bubble?.querySelectorAll("p") ?? [])].map((p) => p.textContent)).toEqual(["Hello bold words.", "A second paragraph."]);
    expect(ui.getByRole("button", { name: "Helpful" })).toBeTruthy(); // the stored reply's id came with the metadata
  });

  it("offers Stop while a reply streams: the server is asked to stop, the partial reply stays marked Stopped, and Send works again", async () => {
    const { api, ui, reply } = setup();
    await send(ui, "Tell me a story");
    const body = await api.nextStream();
    await act(async () => body.write(startParts("S1", "U1"), delta("Once upon")));
    const stop = await ui.findByRole("button", { name: "Stop" });
    await act(async () => {
      fireEvent.click(stop);
    });
    expect(api.requestsTo(/\/stop$/).map((r) => r.url)).toEqual(["https://api.test/api/v1/ai/sessions/S1/stop"]);
    expect((ui.getByRole("button", { name: "Stopping…" }) as HTMLButtonElement).disabled).toBe(true);
    expect(ui.getByRole("textbox", { name: "Message" })).toBe(shadowRoot().activeElement);

    await act(async () => body.write(delta(" a time"), endParts("S1", "M1", { stopped: "stopped", estimated: true })));
    await waitFor(() => expect(reply()?.dataset.status).toBe("sent"));
    expect(reply()?.querySelector(".bubble")?.textContent).toBe("Once upon a time");
    expect(reply()?.dataset.stopped).toBe("stopped");
    expect(within(reply() as HTMLElement).getByText("Stopped")).toBeTruthy();
    expect(ui.queryByRole("button", { name: /^Stop/ })).toBeNull();
    fireEvent.change(ui.getByRole("textbox", { name: "Message" }), { target: { value: "Next" } });
    expect((ui.getByRole("button", { name: "Send" }) as HTMLButtonElement).disabled).toBe(false);
  });

  it("shows a tool call as it happens, then what came of it, above the reply's text", async () => {
    const { api, ui, reply } = setup();
    await send(ui, "create a ticket: router broken");
    const body = await api.nextStream();
    await act(async () => body.write(
      sse({ type: "start", messageMetadata: { session_id: "S1", user_message_id: "U1" } }), sse({ type: "start-step" }),
      sse({ type: "tool-input-available", toolCallId: "c1", toolName: "create_ticket", input: { title: "router broken", priority: "normal" } }),
    ));
    const actions = await ui.findByRole("list", { name: "Actions taken" });
    expect(within(actions).getAllByRole("listitem").map((li) => [li.textContent, li.dataset.status]))
      .toEqual([["Creating a ticket: router broken…", "running"]]);
    await act(async () => body.write(
      sse({ type: "tool-output-available", toolCallId: "c1", output: { id: "T1", title: "router broken", priority: "normal" } }),
      sse({ type: "finish-step" }), sse({ type: "start-step" }), sse({ type: "text-start", id: "text-1" }),
      delta("Ticket created."), endParts("S1", "M1"),
    ));
    await waitFor(() => expect(reply()?.dataset.status).toBe("sent"));
    expect(within(actions).getAllByRole("listitem").map((li) => [li.textContent, li.dataset.status]))
      .toEqual([["Ticket created: router broken (normal)", "ok"]]);
    expect(reply()?.querySelector(".bubble")?.textContent).toBe("Ticket created.");
  });

  it("says in its live region when a reply starts and what it was when it ends, not each word", async () => {
    const { api, ui, announced } = setup();
    await send(ui, "Hello");
    const body = await api.nextStream();
    await act(async () => body.write(startParts("S1", "U1")));
    for (const word of ["Hello, ", "**you**", " there."]) {
      await act(async () => body.write(delta(word)));
    }
    await act(async () => body.write(endParts("S1", "M1")));
    await waitFor(() => expect(announced).toHaveLength(2));
    expect(announced).toEqual([REPLYING_ANNOUNCEMENT, "The assistant replied: Hello, you there."]);

    api.refuseNext(429, { message: "Too Many Requests" });
    await send(ui, "Again");
    await ui.findByRole("alert");
    expect(announced).toEqual([
      REPLYING_ANNOUNCEMENT, "The assistant replied: Hello, you there.", REPLYING_ANNOUNCEMENT, "The assistant did not reply.",
    ]);
    expect(ui.getByText("Not sent.")).toBeTruthy();
  });
});
