import { act, cleanup, fireEvent, render, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { AIChatWidget } from "./ai-chat-widget";
import { ChatClient } from "./chat-client";
import { TAKEN_BY_PERSON } from "./chat-state";
import { FakeTransport, MemoryStorage } from "./testing/fake-transport";

afterEach(() => {
  cleanup();
  document.body.innerHTML = "";
});

/** The widget, opened, over a fake API whose next turn a person takes the session from while it runs. */
function setup() {
  const transport = new FakeTransport();
  transport.toolsNext({ function_calls: [], message: "", stopped: TAKEN_BY_PERSON });
  render(<AIChatWidget transport={transport} storage={new MemoryStorage()} defaultOpen handoffPollMs={20} />);
  const root = document.querySelector("[data-ai-chat-widget]")?.shadowRoot;
  if (!root) throw new Error("the widget has not mounted");
  const ui = within(root as unknown as HTMLElement);
  const send = async (text: string) => {
    const input = ui.getByRole("textbox", { name: "Message" });
    fireEvent.change(input, { target: { value: text } });
    await act(async () => {
      fireEvent.keyDown(input, { key: "Enter" });
    });
  };
  return { transport, root, ui, send };
}

describe("a reply whose turn a person took the session from (stopped: taken_by_person)", () => {
  it("is not shown, and the person's reply is looked for and shown as in any hand-over", async () => {
    const { transport, root, ui, send } = setup();
    await send("My bill doubled, file a ticket");
    await waitFor(() => expect(transport.callsOf("chat")).toHaveLength(1));
    const id = [...transport.sessions.keys()][0];
    if (!id) throw new Error("no session");
    transport.agentReply(id, "Dana Reyes", "Dana here, I have this.");
    await waitFor(() => expect(ui.getByText("Dana here, I have this.")).toBeTruthy());
    expect(root.querySelectorAll('[data-stopped="taken_by_person"]')).toHaveLength(0);
    expect([...root.querySelectorAll(".msg")].map((m) => m.getAttribute("data-role"))).toEqual(["user", "agent"]);
  });

  it("leaves the client escalated, so the next message is kept for the person", async () => {
    const transport = new FakeTransport();
    transport.toolsNext({ function_calls: [], message: "", stopped: TAKEN_BY_PERSON });
    const client = new ChatClient({ transport, storage: new MemoryStorage() });
    await client.sendMessage("My bill doubled");
    expect(client.getSnapshot().sessionStatus).toBe("escalated");
    expect(client.getSnapshot().messages.at(-1)).toMatchObject({ role: "assistant", content: "", stopped: TAKEN_BY_PERSON });
    await expect(client.sendMessage("hello?")).resolves.toMatchObject({ status: "waiting_for_person" });
  });
});
