import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { StrictMode } from "react";
import { afterEach, describe, expect, it } from "vitest";
import { AIChatAgentInbox } from "./agent-inbox";
import { createAgentFetchTransport } from "./agent-transport";
import type { ChatApiError } from "./chat-error";
import { contextEntries } from "./session-context";
import { FakeAgentTransport } from "./testing/fake-agent-transport";

afterEach(() => {
  cleanup();
});

async function openFirst(): Promise<HTMLElement> {
  const list = await screen.findByRole("list", { name: "Waiting conversations" });
  fireEvent.click(within(list).getAllByRole("button")[0]!);
  const log = await screen.findByRole("log", { name: "Conversation" });
  await waitFor(() => expect(within(log).getAllByRole("listitem").length).toBeGreaterThan(0));
  return log;
}

function recorded(transport: FakeAgentTransport, strict = false) {
  const events: string[] = [];
  const inbox = (
    <AIChatAgentInbox transport={transport} pollMs={20_000}
      onTake={(e) => events.push(`take ${e.sessionId}: ${e.session.taken_by_name}`)}
      onReply={(e) => events.push(`reply ${e.sessionId}`)}
      onError={(error: ChatApiError, action) => events.push(`error ${action}: ${error.code}`)} />
  );
  render(strict ? <StrictMode>{inbox}</StrictMode> : inbox);
  return events;
}

describe("the inbox's Take", () => {
  it.each([false, true])("takes the open conversation without a reply: the joined marker, who has it, onTake once (StrictMode: %s)", async (strict) => {
    const transport = new FakeAgentTransport();
    transport.waitingSession("S1", "Billing dispute", "My bill doubled");
    const events = recorded(transport, strict);
    const log = await openFirst();
    expect(screen.getByText("Nobody has answered yet")).toBeTruthy();
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: "Take conversation" }));
    });
    await within(log).findByText("Dana Reyes joined the conversation.");
    expect(transport.callsOf("take")).toEqual([["S1"]]);
    expect(transport.callsOf("reply")).toEqual([]);
    expect(screen.getByText("Dana Reyes has this conversation")).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Take conversation" })).toBeNull();
    expect(screen.getByRole("textbox", { name: "Your reply" })).toBeTruthy();
    await waitFor(() => expect(within(screen.getByRole("list", { name: "Waiting conversations" })).getByRole("button").textContent)
      .toMatch(/taken by Dana Reyes/));
    expect(events).toEqual(["take S1: Dana Reyes"]);
  });

  it("says so when someone else took it first, and reads the conversation again to show who has it", async () => {
    const transport = new FakeAgentTransport();
    transport.waitingSession("S1", "Billing dispute", "My bill doubled");
    const events = recorded(transport);
    const log = await openFirst();
    transport.takenBy("S1", "Sam Support"); // between the look and the click
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: "Take conversation" }));
    });
    expect((await screen.findByRole("alert")).textContent).toMatch(/^Sam Support has already taken this conversation/);
    await screen.findByText("Sam Support has this conversation");
    await within(log).findByText("Sam Support joined the conversation.");
    expect(screen.queryByRole("button", { name: "Take conversation" })).toBeNull();
    expect(within(screen.getByRole("list", { name: "Waiting conversations" })).getByRole("button").textContent).toMatch(/taken by Sam Support/);
    expect(events).toEqual(["error take: escalation_taken"]);
  });

  it("is not offered once the conversation is taken, by a reply or by anyone", async () => {
    const transport = new FakeAgentTransport();
    transport.waitingSession("S1", "r", "hi");
    transport.takenBy("S1", "Sam Support");
    recorded(transport);
    await openFirst();
    await screen.findByText("Sam Support has this conversation");
    expect(screen.queryByRole("button", { name: "Take conversation" })).toBeNull();
  });
});

describe("the waiting entry's context", () => {
  it("shows each key and value in the list and the open conversation, as text, and nothing when there is none", async () => {
    const transport = new FakeAgentTransport();
    transport.waitingSession("S1", "Billing dispute", "My bill doubled");
    transport.withContext("S1", { currentPage: "billing", plan: "pro", note: "<b>bold</b>", seats: 12 });
    transport.waitingSession("S2", "Router broken", "It keeps rebooting");
    const { container } = render(<AIChatAgentInbox transport={transport} pollMs={20_000} />);
    const list = await screen.findByRole("list", { name: "Waiting conversations" });
    const [first, second] = within(list).getAllByRole("button");
    expect(first!.querySelector(".inbox-context")?.textContent).toBe("currentPage billingplan pronote <b>bold</b>seats 12");
    expect(container.querySelector("b")).toBeNull(); // escaped, never markup
    expect(second!.querySelector(".inbox-context")).toBeNull();

    fireEvent.click(first!);
    const details = await waitFor(() => container.querySelector(".inbox-conversation dl")!);
    const pairs = Array.from(details.querySelectorAll("div")).map((d) => [d.querySelector("dt")?.textContent, d.querySelector("dd")?.textContent]);
    expect(pairs).toEqual([["currentPage", "billing"], ["plan", "pro"], ["note", "<b>bold</b>"], ["seats", "12"]]);
  });

  it("cuts a long value and many keys in the list's line, and shows them whole in the open conversation", async () => {
    const transport = new FakeAgentTransport();
    transport.waitingSession("S1", "r", "hi");
    const long = "x".repeat(100);
    transport.withContext("S1", { a: long, b: "2", c: "3", d: "4", e: "5", f: { nested: true } });
    const { container } = render(<AIChatAgentInbox transport={transport} pollMs={20_000} />);
    const list = await screen.findByRole("list", { name: "Waiting conversations" });
    const line = within(list).getByRole("button").querySelector(".inbox-context")!;
    expect(line.textContent).toBe(`a ${"x".repeat(47)}…b 2c 3d 4+2 more`);
    fireEvent.click(within(list).getByRole("button"));
    await waitFor(() => expect(container.querySelectorAll(".inbox-conversation dd")).toHaveLength(6));
    const values = Array.from(container.querySelectorAll(".inbox-conversation dd")).map((dd) => dd.textContent);
    expect(values[0]).toBe(long);
    expect(values[5]).toBe('{"nested":true}');
  });

  it("reads a context's values as text: strings as they are, the rest as JSON, null and {} as nothing", () => {
    expect(contextEntries(null)).toEqual([]);
    expect(contextEntries(undefined)).toEqual([]);
    expect(contextEntries({})).toEqual([]);
    expect(contextEntries({ page: "billing", n: 3, ok: false, none: null, list: [1, "a"] })).toEqual([
      ["page", "billing"], ["n", "3"], ["ok", "false"], ["none", "null"], ["list", '[1,"a"]'],
    ]);
  });
});

describe("createAgentFetchTransport's take", () => {
  it("posts {} to the take route and answers the session; a refusal is a ChatApiError with its code", async () => {
    const sent: Array<[string, string | undefined, string | undefined]> = [];
    let answer = new Response(JSON.stringify({ id: "S/1", status: "escalated", taken_by_name: "Dana Reyes" }), { status: 200 });
    const transport = createAgentFetchTransport({
      getToken: () => "tok",
      fetch: async (url, init) => {
        sent.push([String(url), init?.method, init?.body as string | undefined]);
        return answer;
      },
    });
    expect(await transport.take("S/1")).toMatchObject({ taken_by_name: "Dana Reyes" });
    expect(sent).toEqual([["/api/v1/ai/agent/sessions/S%2F1/take", "POST", "{}"]]);
    answer = new Response(JSON.stringify({ detail: "Sam has already taken this conversation.", code: "escalation_taken",
      taken_by_name: "Sam" }), { status: 409 });
    await expect(transport.take("S/1")).rejects.toMatchObject({ status: 409, code: "escalation_taken", retryable: false });
  });
});
