import { act, fireEvent, render, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AIChatWidget, type AIChatWidgetProps } from "./ai-chat-widget";
import { ChatClient } from "./chat-client";
import { storageKeyFor } from "./session-storage";
import { delta, FakeStreamApi, startParts } from "./testing/fake-stream";
import { MemoryStorage } from "./testing/fake-transport";
import { createFetchTransport } from "./transport";

afterEach(() => {
  document.body.innerHTML = "";
});

const KEY = storageKeyFor("customer_support");

function shadowRoot(): ShadowRoot {
  const root = document.querySelector("[data-ai-chat-widget]")?.shadowRoot;
  if (!root) throw new Error("the widget has not mounted");
  return root;
}

/** The widget, open, over the real fetch transport and a fake API; replies come whole (POST /chat) unless `stream`. */
function setup(props: Partial<AIChatWidgetProps> = {}, { stream = false } = {}) {
  const api = new FakeStreamApi();
  const storage = new MemoryStorage();
  const client = new ChatClient({
    transport: createFetchTransport({ apiBaseUrl: "https://api.test", getToken: () => "tok", fetch: api.fetch }),
    storage,
    stream,
  });
  const onDelete = vi.fn();
  const onError = vi.fn();
  render(<AIChatWidget client={client} defaultOpen onDelete={onDelete} onError={onError} {...props} />);
  const root = shadowRoot();
  const ui = within(root as unknown as HTMLElement);
  const deletes = () => api.requestsTo(/^DELETE /);
  return { api, storage, client, root, ui, onDelete, onError, deletes };
}

async function send(ui: ReturnType<typeof within>, text: string, box = "Message"): Promise<void> {
  const input = ui.getByRole("textbox", { name: box });
  fireEvent.change(input, { target: { value: text } });
  await act(async () => {
    fireEvent.keyDown(input, { key: "Enter" });
  });
}

/** Chat once, so that there is a session (S1, the fake API's) to delete. */
async function chatOnce(ui: ReturnType<typeof within>): Promise<void> {
  await send(ui, "Hello");
  await waitFor(() => expect(ui.getByText("Whole: Hello")).toBeTruthy());
}

async function confirmDelete(ui: ReturnType<typeof within>): Promise<void> {
  fireEvent.click(ui.getByRole("button", { name: "Delete conversation" }));
  const dialog = ui.getByRole("alertdialog", { name: "Delete this conversation?" });
  await act(async () => {
    fireEvent.click(within(dialog).getByRole("button", { name: "Delete" }));
  });
}

describe("AIChatWidget: Delete conversation", () => {
  it("offers Delete conversation only while there is a session; leaving one for a new one is no deletion", async () => {
    const { ui, onDelete, deletes } = setup();
    expect(ui.queryByRole("button", { name: "Delete conversation" })).toBeNull();
    await chatOnce(ui);
    expect(ui.getByRole("button", { name: "Delete conversation" })).toBeTruthy();
    fireEvent.click(ui.getByRole("button", { name: "Start a new conversation" }));
    expect(ui.queryByRole("button", { name: "Delete conversation" })).toBeNull();
    expect(deletes()).toEqual([]);
    expect(onDelete).not.toHaveBeenCalled();
  });

  it("asks first, in the panel: focus on Cancel; Cancel keeps everything and gives focus back to the button", async () => {
    const confirmSpy = vi.spyOn(window, "confirm");
    const { ui, root, storage, deletes } = setup();
    await chatOnce(ui);
    const button = ui.getByRole("button", { name: "Delete conversation" });
    fireEvent.click(button);
    const dialog = ui.getByRole("alertdialog", { name: "Delete this conversation?" });
    expect(dialog.getAttribute("aria-describedby")).toBeTruthy();
    expect(root.getElementById(dialog.getAttribute("aria-describedby")!)?.textContent).toMatch(/cannot be undone/);
    expect(button.getAttribute("aria-expanded")).toBe("true");
    expect(root.activeElement).toBe(within(dialog).getByRole("button", { name: "Cancel" }));

    fireEvent.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(ui.queryByRole("alertdialog")).toBeNull();
    expect(root.activeElement).toBe(button);
    expect(deletes()).toEqual([]);
    expect(ui.getByText("Whole: Hello")).toBeTruthy();
    expect(storage.getItem(KEY)).toBe("S1");
    expect(confirmSpy).not.toHaveBeenCalled();
  });

  it("cancels on Escape, without minimising the panel", async () => {
    const { ui, root, deletes } = setup();
    await chatOnce(ui);
    const button = ui.getByRole("button", { name: "Delete conversation" });
    fireEvent.click(button);
    fireEvent.keyDown(ui.getByRole("alertdialog"), { key: "Escape" });
    expect(ui.queryByRole("alertdialog")).toBeNull();
    expect(ui.getByRole("log")).toBeTruthy();
    expect(root.activeElement).toBe(button);
    expect(deletes()).toEqual([]);
  });

  it("on Delete sends DELETE with the token; on 204 starts afresh, forgets the stored id and tells onDelete", async () => {
    const { api, ui, root, storage, onDelete, deletes } = setup();
    await chatOnce(ui);
    await confirmDelete(ui);

    expect(deletes().map((r) => r.url)).toEqual(["https://api.test/api/v1/ai/sessions/S1"]);
    expect(deletes()[0]?.headers.get("authorization")).toBe("Bearer tok");
    await waitFor(() => expect(ui.queryByText("Whole: Hello")).toBeNull());
    expect(ui.queryByRole("alertdialog")).toBeNull();
    expect(ui.getByRole("status").textContent).toBe("The conversation was deleted.");
    expect(ui.getByText("Hi! Ask a question and the assistant will answer here.")).toBeTruthy();
    expect(ui.queryByRole("button", { name: "Delete conversation" })).toBeNull();
    expect(root.activeElement).toBe(ui.getByRole("textbox", { name: "Message" }));
    expect(storage.getItem(KEY)).toBeNull();
    expect(onDelete.mock.calls).toEqual([["S1"]]);

    await send(ui, "A new start");
    await waitFor(() => expect(ui.getByText("Whole: A new start")).toBeTruthy());
    const chats = api.requestsTo(/^POST .*\/chat$/);
    expect(chats.map((r) => (r.body as { session_id: string | null }).session_id)).toEqual([null, null]);
    expect(ui.queryByText("The conversation was deleted.")).toBeNull();
    expect(onDelete).toHaveBeenCalledTimes(1);
  });

  it("on 404 (gone already) starts afresh all the same, with no error shown", async () => {
    const { api, ui, storage, onDelete, onError } = setup();
    await chatOnce(ui);
    api.refuseDeleteNext(404, { detail: "Session not found.", code: "session_not_found" });
    await confirmDelete(ui);
    await waitFor(() => expect(ui.queryByText("Whole: Hello")).toBeNull());
    expect(ui.queryByRole("alert")).toBeNull();
    expect(storage.getItem(KEY)).toBeNull();
    expect(onDelete.mock.calls).toEqual([["S1"]]);
    expect(onError).not.toHaveBeenCalled();
  });

  it("on 409 turn_in_progress says a reply is being written and keeps the conversation; Try again deletes", async () => {
    const { api, ui, root, storage, onDelete, onError, deletes } = setup();
    await chatOnce(ui);
    const detail = "A reply in this session is still being written. Wait until it ends (or stop it), then delete the session again.";
    api.refuseDeleteNext(409, { detail, code: "turn_in_progress" });
    await confirmDelete(ui);

    const alert = await ui.findByRole("alert");
    expect(alert.textContent).toContain("The conversation was not deleted.");
    expect(alert.textContent).toContain(detail);
    expect(alert.getAttribute("data-code")).toBe("turn_in_progress");
    expect(ui.queryByRole("alertdialog")).toBeNull();
    expect(ui.getByText("Whole: Hello")).toBeTruthy();
    expect(storage.getItem(KEY)).toBe("S1");
    expect(root.activeElement).toBe(ui.getByRole("button", { name: "Delete conversation" }));
    expect(onDelete).not.toHaveBeenCalled();
    expect(onError.mock.calls.map(([error, action]) => [error.code, action])).toEqual([["turn_in_progress", "delete"]]);

    await act(async () => {
      fireEvent.click(within(alert).getByRole("button", { name: "Try again" }));
    });
    await waitFor(() => expect(ui.queryByText("Whole: Hello")).toBeNull());
    expect(deletes()).toHaveLength(2);
    expect(ui.queryByRole("alert")).toBeNull();
    expect(onDelete.mock.calls).toEqual([["S1"]]);
  });

  it("in German says the same in German", async () => {
    const { api, ui } = setup({ locale: "de" });
    await send(ui, "Hallo", "Nachricht");
    await waitFor(() => expect(ui.getByText("Whole: Hallo")).toBeTruthy());
    api.refuseDeleteNext(409, { detail: "A reply in this session is still being written.", code: "turn_in_progress" });
    fireEvent.click(ui.getByRole("button", { name: "Gespräch löschen" }));
    const dialog = ui.getByRole("alertdialog", { name: "Dieses Gespräch löschen?" });
    await act(async () => {
      fireEvent.click(within(dialog).getByRole("button", { name: "Löschen" }));
    });
    expect((await ui.findByRole("alert")).textContent).toMatch(/^Das Gespräch wurde nicht gelöscht\. Eine Antwort wird noch geschrieben/);
  });

  it("on another failure shows the error as others are shown and keeps the conversation", async () => {
    const { api, ui, storage, onDelete } = setup();
    await chatOnce(ui);
    api.refuseDeleteNext(503, { detail: "The chat service is unavailable.", code: "storage_unavailable" });
    await confirmDelete(ui);
    const alert = await ui.findByRole("alert");
    expect(alert.textContent).toBe("The conversation was not deleted. The chat service is unavailable.Try again");
    expect(ui.getByText("Whole: Hello")).toBeTruthy();
    expect(storage.getItem(KEY)).toBe("S1");
    expect(onDelete).not.toHaveBeenCalled();
  });

  it("is disabled while a reply streams", async () => {
    const { api, ui } = setup({}, { stream: true });
    await send(ui, "Tell me a story");
    const body = await api.nextStream();
    await act(async () => body.write(startParts("S1", "U1"), delta("Once upon")));
    const button = await ui.findByRole("button", { name: "Delete conversation" });
    expect((button as HTMLButtonElement).disabled).toBe(true);
  });
});
