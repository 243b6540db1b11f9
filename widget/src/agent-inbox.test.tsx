import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { AIChatAgentInbox } from "./agent-inbox";
import { createAgentFetchTransport } from "./agent-transport";
import { ChatApiError } from "./chat-error";
import { FakeAgentTransport } from "./testing/fake-agent-transport";

afterEach(() => {
  cleanup(); // unmounted, so no inbox goes on polling into the next test or past the file's end
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function inbox(transport: FakeAgentTransport, pollMs = 20_000) {
  return render(<AIChatAgentInbox transport={transport} pollMs={pollMs} />);
}

async function openFirst(): Promise<HTMLElement> {
  const list = await screen.findByRole("list", { name: "Waiting conversations" });
  fireEvent.click(within(list).getAllByRole("button")[0]!);
  return screen.findByRole("log", { name: "Conversation" });
}

describe("AIChatAgentInbox", () => {
  it("lists the waiting conversations oldest first with their reason, waiting time and the customer's last message", async () => {
    const transport = new FakeAgentTransport();
    transport.waitingSession("S1", "Billing dispute", "My bill doubled", "Hello?");
    transport.waitingSession("S2", "Router broken", "It keeps rebooting");
    inbox(transport);
    const list = await screen.findByRole("list", { name: "Waiting conversations" });
    const entries = within(list).getAllByRole("button").map((b) => b.textContent);
    expect(entries).toEqual([
      expect.stringMatching(/^Billing dispute.*waiting 1 min · not taken.*“Hello\?”/),
      expect.stringMatching(/^Router broken.*waiting 3 min · not taken.*“It keeps rebooting”/),
    ]);
  });

  it("opens a conversation with the customer's messages and answers it: the reply and the joined marker show", async () => {
    const transport = new FakeAgentTransport();
    transport.waitingSession("S1", "Billing dispute", "My bill doubled");
    inbox(transport);
    const log = await openFirst();
    await within(log).findByText("My bill doubled");
    expect(screen.getByText("Nobody has answered yet")).toBeTruthy();

    const box = screen.getByRole("textbox", { name: "Your reply" });
    fireEvent.change(box, { target: { value: "Hi, Dana here: refunded." } });
    fireEvent.keyDown(box, { key: "Enter" });
    await within(log).findByText("Hi, Dana here: refunded.");
    expect(transport.callsOf("reply")).toEqual([["S1", "Hi, Dana here: refunded."]]);
    const items = within(log).getAllByRole("listitem").map((li) => li.textContent);
    expect(items).toEqual(["CustomerMy bill doubled", "Dana Reyes joined the conversation.", "Dana ReyesHi, Dana here: refunded."]);
    expect(screen.getByText("Dana Reyes has this conversation")).toBeTruthy();
    expect((box as HTMLTextAreaElement).value).toBe("");
  });

  it("Shift+Enter adds a line instead of sending", async () => {
    const transport = new FakeAgentTransport();
    transport.waitingSession("S1", "r", "hi");
    inbox(transport);
    await openFirst();
    const box = await screen.findByRole("textbox", { name: "Your reply" });
    fireEvent.change(box, { target: { value: "line one" } });
    fireEvent.keyDown(box, { key: "Enter", shiftKey: true });
    expect(transport.callsOf("reply")).toEqual([]);
  });

  it("shows the customer's new messages as they arrive, looking only after the last one it has", async () => {
    const transport = new FakeAgentTransport();
    transport.waitingSession("S1", "r", "first");
    inbox(transport, 30);
    const log = await openFirst();
    await within(log).findByText("first");
    transport.customerWrites("S1", "are you there?");
    await within(log).findByText("are you there?");
    const afters = transport.callsOf("history").map(([, options]) => (options as { after?: string | null }).after);
    expect(afters[0]).toBeUndefined();
    expect(afters.slice(1).every((after) => typeof after === "string")).toBe(true);
    await waitFor(() => expect(screen.getByText(/The customer wrote: are you there\?/)).toBeTruthy());
  });

  it("hands the conversation back to the AI: the route is called, the left marker shows, it leaves the list", async () => {
    const transport = new FakeAgentTransport();
    transport.waitingSession("S1", "Billing dispute", "hi");
    inbox(transport);
    const log = await openFirst();
    fireEvent.click(await screen.findByRole("button", { name: "Hand back to AI" }));
    await within(log).findByText("Dana Reyes handed the conversation back to the assistant.");
    expect(transport.callsOf("release")).toEqual([["S1", "ai", undefined]]);
    expect(screen.getByText("Handed back to the assistant")).toBeTruthy();
    expect(screen.queryByRole("textbox", { name: "Your reply" })).toBeNull();
    await screen.findByText("Nobody is waiting.");
  });

  it("stops looking at a conversation once it is handed back, while the waiting list is still refreshed", async () => {
    const transport = new FakeAgentTransport();
    transport.waitingSession("S1", "r", "hi");
    inbox(transport, 20);
    const log = await openFirst();
    await within(log).findByText("hi");
    fireEvent.click(await screen.findByRole("button", { name: "Hand back to AI" }));
    await screen.findByText("Handed back to the assistant");
    const looks = transport.callsOf("history").length;
    const lists = transport.callsOf("waiting").length;
    await act(() => sleep(120));
    expect(transport.callsOf("history").length).toBe(looks);
    expect(transport.callsOf("waiting").length).toBeGreaterThan(lists);
  });

  it("closes a conversation", async () => {
    const transport = new FakeAgentTransport();
    transport.waitingSession("S1", "r", "hi");
    inbox(transport);
    const log = await openFirst();
    fireEvent.click(await screen.findByRole("button", { name: "Close conversation" }));
    await within(log).findByText("Dana Reyes closed the conversation.");
    expect(transport.callsOf("release")).toEqual([["S1", "closed", undefined]]);
  });

  it("says the API's sentence when a reply is refused, and keeps the draft", async () => {
    const transport = new FakeAgentTransport();
    transport.waitingSession("S1", "r", "hi");
    inbox(transport);
    await openFirst();
    transport.fail = new ChatApiError(400, { code: "session_not_active", detail: "This session is completed and takes no more messages; start a new session." });
    const box = await screen.findByRole("textbox", { name: "Your reply" });
    fireEvent.change(box, { target: { value: "too late" } });
    fireEvent.click(screen.getByRole("button", { name: "Send" }));
    expect((await screen.findByRole("alert")).textContent).toMatch(/completed and takes no more messages/);
    expect((box as HTMLTextAreaElement).value).toBe("too late");
  });

  it("stops looking once unmounted", async () => {
    const transport = new FakeAgentTransport();
    transport.waitingSession("S1", "r", "hi");
    const view = inbox(transport, 20);
    await screen.findByRole("list", { name: "Waiting conversations" });
    view.unmount();
    const seen = transport.calls.length;
    await act(() => sleep(80));
    expect(transport.calls.length).toBe(seen);
  });
});

/**
 * The custom properties `css` gives `element` when the system prefers `scheme`: its rules in source order, a
 * `prefers-color-scheme` block only when it names that scheme, other @media and @container blocks never (jsdom
 * applies neither; the browser tests check a real cascade).
 */
function palette(css: string, element: Element, scheme: "light" | "dark"): Record<string, string> {
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(css);
  const out: Record<string, string> = {};
  const apply = (rules: CSSRuleList): void => {
    for (const rule of Array.from(rules)) {
      if (rule instanceof CSSMediaRule) {
        if (rule.media.mediaText.replace(/\s/g, "") === `(prefers-color-scheme:${scheme})`) apply(rule.cssRules);
      } else if (rule instanceof CSSStyleRule && element.matches(rule.selectorText)) {
        for (const name of Array.from(rule.style)) if (name.startsWith("--")) out[name] = rule.style.getPropertyValue(name).trim();
      }
    }
  };
  apply(sheet.cssRules);
  return out;
}

describe("AIChatAgentInbox on any screen", () => {
  it("names the customer in each waiting entry and in the open conversation's heading", async () => {
    const transport = new FakeAgentTransport();
    transport.waitingSession("S1", "Billing dispute", "My bill doubled");
    inbox(transport);
    const list = await screen.findByRole("list", { name: "Waiting conversations" });
    expect(within(list).getByRole("button").textContent).toMatch(/^Billing dispute\s*customer carol · waiting 1 min · not taken/);
    await openFirst();
    expect(screen.getByRole("heading", { level: 3 }).textContent).toBe("Customer carol");
  });

  it("has a log that holds a real list: the scrolling box, reachable by keyboard, not live itself", async () => {
    const transport = new FakeAgentTransport();
    transport.waitingSession("S1", "r", "first", "second");
    inbox(transport);
    const log = await openFirst();
    await within(log).findByText("second");
    expect(log.tagName).toBe("DIV");
    expect(log.tabIndex).toBe(0);
    expect(log.getAttribute("aria-live")).toBe("off");
    const items = within(log).getAllByRole("listitem");
    expect(items).toHaveLength(2);
    for (const item of items) expect(item.parentElement?.tagName).toBe("OL");
    expect(items[0]!.parentElement!.parentElement).toBe(log);
  });

  it("shows one column at a time when narrow: an opened conversation, then the list again from Back to the list", async () => {
    const transport = new FakeAgentTransport();
    transport.waitingSession("S1", "r", "hi");
    const { container } = inbox(transport);
    const layout = container.querySelector(".inbox-layout");
    expect(layout?.getAttribute("data-view")).toBe("list");
    await openFirst();
    expect(layout?.getAttribute("data-view")).toBe("conversation");
    // jsdom applies the stylesheet's display: none but no container query: the way back is hidden, as when wide.
    const back = container.querySelector<HTMLButtonElement>("button.inbox-back");
    expect(back?.textContent).toBe("Back to the list");
    fireEvent.click(back!);
    expect(layout?.getAttribute("data-view")).toBe("list");
    // The conversation stays open: the list marks it, and opening it again shows it.
    expect(screen.getByRole("button", { current: true }).textContent).toMatch(/^r/);
  });

  it("follows the theme prop, and in auto the system's light or dark preference", () => {
    const themes = ["light", "dark", "auto"] as const;
    const roots = Object.fromEntries(themes.map((theme) => {
      const view = render(<AIChatAgentInbox transport={new FakeAgentTransport()} pollMs={20_000} theme={theme} />);
      const root = view.container.querySelector(".aichat-inbox")!;
      const css = view.container.querySelector("style")?.textContent ?? "";
      view.unmount();
      return [theme, { root, css }];
    }));
    expect(roots.auto!.root.getAttribute("data-theme")).toBe("auto");
    const colours = (theme: (typeof themes)[number], scheme: "light" | "dark") => palette(roots[theme]!.css, roots[theme]!.root, scheme);
    const light = colours("light", "light");
    const dark = colours("dark", "light");
    expect(light["--bg"]).toBe("#ffffff");
    expect(dark["--bg"]).toBe("#1c2128");
    expect(colours("light", "dark")).toEqual(light);
    expect(colours("dark", "dark")).toEqual(dark);
    expect(colours("auto", "light")).toEqual(light);
    expect(colours("auto", "dark")).toEqual(dark);
  });
});

describe("createAgentFetchTransport", () => {
  it("asks for the waiting list with the bearer token and reads the next page's cursor from X-Next-Cursor", async () => {
    const seen: Array<[string, RequestInit | undefined]> = [];
    const transport = createAgentFetchTransport({
      apiBaseUrl: "https://api.example/",
      getToken: () => "tok",
      fetch: async (url, init) => {
        seen.push([String(url), init]);
        return new Response("[]", { status: 200, headers: { "content-type": "application/json", "x-next-cursor": "C2" } });
      },
    });
    expect(await transport.waiting({ cursor: "C1" })).toEqual({ sessions: [], nextCursor: "C2" });
    expect(seen[0]![0]).toBe("https://api.example/api/v1/ai/agent/sessions?status=escalated&cursor=C1");
    expect((seen[0]![1]!.headers as Record<string, string>).Authorization).toBe("Bearer tok");
  });

  it("sends a reply and a release as the routes take them, and a refusal as a ChatApiError", async () => {
    const sent: Array<[string, string | undefined]> = [];
    const transport = createAgentFetchTransport({
      getToken: () => "tok",
      fetch: async (url, init) => {
        sent.push([String(url), init?.body as string | undefined]);
        return String(url).endsWith("/release")
          ? new Response(JSON.stringify({ detail: "This session is completed", code: "session_not_active" }), { status: 400 })
          : new Response("{}", { status: 201 });
      },
    });
    await transport.reply("S/1", "hi");
    await expect(transport.release("S/1", "ai")).rejects.toMatchObject({ code: "session_not_active", status: 400 });
    expect(sent).toEqual([
      ["/api/v1/ai/agent/sessions/S%2F1/messages", JSON.stringify({ content: "hi" })],
      ["/api/v1/ai/agent/sessions/S%2F1/release", JSON.stringify({ to: "ai" })],
    ]);
  });
});
