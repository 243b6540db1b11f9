import { act, fireEvent, render, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { AIChatWidget, type AIChatWidgetProps } from "./ai-chat-widget";
import { storageKeyFor } from "./session-storage";
import { ChatApiError } from "./chat-error";
import { escalationCall, fakeCall, FakeTransport, MemoryStorage, ticketCall } from "./testing/fake-transport";

afterEach(() => {
  document.body.innerHTML = "";
});

function shadowRoot(): ShadowRoot {
  const root = document.querySelector("[data-ai-chat-widget]")?.shadowRoot;
  if (!root) throw new Error("the widget has not mounted");
  return root;
}

/** The widget's shadow root, where all of its elements live, for Testing Library's queries. */
function widget(): HTMLElement {
  // The queries only need querySelectorAll, which a ShadowRoot has.
  return shadowRoot() as unknown as HTMLElement;
}

type Scheme = "light" | "dark";

/**
 * The custom properties (the widget's palette) that `css` gives `element` when the system prefers `scheme`: its rules
 * in source order, a `prefers-color-scheme` media block only when it names that scheme, other media blocks never.
 * jsdom applies no media queries, so this is the cascade of the stylesheet as written, not of a browser (its
 * rules' specificity rises with their order, as the widget's stylesheet is written; the browser tests check a
 * real one).
 */
function customProperties(css: string, element: Element, scheme: Scheme): Record<string, string> {
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(css);
  const out: Record<string, string> = {};
  const apply = (rules: CSSRuleList): void => {
    for (const rule of Array.from(rules)) {
      if (rule instanceof CSSMediaRule) {
        const wanted = /^\(prefers-color-scheme:\s*(light|dark)\)$/.exec(rule.media.mediaText.trim());
        if (wanted?.[1] === scheme) apply(rule.cssRules);
      } else if (rule instanceof CSSStyleRule && matches(element, rule.selectorText)) {
        for (const name of Array.from(rule.style)) {
          if (name.startsWith("--")) out[name] = rule.style.getPropertyValue(name).trim();
        }
      }
    }
  };
  apply(sheet.cssRules);
  return out;
}

function matches(element: Element, selector: string): boolean {
  try {
    return element.matches(selector);
  } catch {
    return false; // a selector jsdom cannot read (:host) is not one about the widget's root element
  }
}

function setup(props: Partial<AIChatWidgetProps> = {}, transport = new FakeTransport(), storage = new MemoryStorage()) {
  const view = render(<AIChatWidget transport={transport} storage={storage} {...props} />);
  const ui = within(widget());
  return { transport, storage, view, ui };
}

function openPanel(ui: ReturnType<typeof within>): void {
  fireEvent.click(ui.getByRole("button", { name: "Open AI assistant" }));
}

async function send(ui: ReturnType<typeof within>, text: string): Promise<void> {
  const input = ui.getByRole("textbox", { name: "Message" });
  fireEvent.change(input, { target: { value: text } });
  await act(async () => {
    fireEvent.keyDown(input, { key: "Enter" });
  });
}

describe("AIChatWidget", () => {
  it("starts as a launcher button and opens into the conversation panel: a log, and one polite live region beside it", () => {
    const { ui } = setup();
    expect(ui.queryByRole("log")).toBeNull();
    const launcher = ui.getByRole("button", { name: "Open AI assistant" });
    expect(launcher.getAttribute("aria-expanded")).toBe("false");
    openPanel(ui);
    const log = ui.getByRole("log");
    // The log is not live (a streaming reply would be read word by word); the announcer says when replies start and end.
    expect(log.getAttribute("aria-live")).toBe("off");
    expect(widget().querySelectorAll('[aria-live="polite"]')).toHaveLength(1);
    expect(log.getAttribute("aria-busy")).toBe("false");
    expect(ui.getByRole("button", { name: "Minimise AI assistant" }).getAttribute("aria-expanded")).toBe("true");
    expect(ui.getByRole("textbox", { name: "Message" })).toBe(shadowRoot().activeElement);
  });

  it("sends with Enter, shows the typing indicator and a busy log while the reply is pending, then the reply", async () => {
    const transport = new FakeTransport();
    const release = transport.hold("chat");
    const { ui } = setup({ defaultOpen: true }, transport);
    await send(ui, "Hello there");
    expect(transport.callsOf("chat")).toHaveLength(1);
    expect(ui.getByRole("log").getAttribute("aria-busy")).toBe("true");
    expect(ui.getByText("The assistant is typing…")).toBeTruthy();
    expect((ui.getByRole("textbox", { name: "Message" }) as HTMLTextAreaElement).value).toBe("");
    await act(async () => release());
    await waitFor(() => expect(ui.getByText("Echo: Hello there")).toBeTruthy());
    expect(ui.queryByText("The assistant is typing…")).toBeNull();
    expect(ui.getByRole("log").getAttribute("aria-busy")).toBe("false");
  });

  it("keeps Shift+Enter for a new line instead of sending", async () => {
    const { ui, transport } = setup({ defaultOpen: true });
    const input = ui.getByRole("textbox", { name: "Message" });
    fireEvent.change(input, { target: { value: "line one" } });
    await act(async () => {
      fireEvent.keyDown(input, { key: "Enter", shiftKey: true });
    });
    expect(transport.callsOf("chat")).toHaveLength(0);
  });

  it("minimises on Escape and gives focus back to the launcher", async () => {
    const { ui } = setup({ defaultOpen: true });
    fireEvent.keyDown(ui.getByRole("textbox", { name: "Message" }), { key: "Escape" });
    expect(ui.queryByRole("log")).toBeNull();
    const launcher = ui.getByRole("button", { name: "Open AI assistant" });
    await waitFor(() => expect(shadowRoot().activeElement).toBe(launcher));
  });

  it("loads the stored conversation when opened, not before", async () => {
    const transport = new FakeTransport();
    const storage = new MemoryStorage();
    storage.setItem(storageKeyFor("customer_support"), transport.seed(2));
    const { ui } = setup({}, transport, storage);
    await act(async () => undefined);
    expect(transport.callsOf("history")).toHaveLength(0);
    openPanel(ui);
    await waitFor(() => expect(ui.getByText("message 2")).toBeTruthy());
    expect(transport.callsOf("history")).toHaveLength(1);
  });

  it("renders a reply's markdown and never the HTML in it", async () => {
    const { ui } = setup({ defaultOpen: true });
    await send(ui, '**bold** <img src=x onerror="alert(1)"><script>alert(2)</script>');
    await waitFor(() => expect(ui.getByText("bold").tagName).toBe("STRONG"));
    expect(widget().querySelector("img, script:not([src])")).toBeNull();
    expect(ui.getAllByText(/<img src=x onerror="alert\(1\)"><script>alert\(2\)<\/script>/).length).toBeGreaterThan(0);
  });

  it("says why a message failed, with the API's sentence, and Try again sends it", async () => {
    const transport = new FakeTransport();
    transport.failNext("chat", new ChatApiError(502, { code: "provider_error", detail: "The AI provider did not answer. Try again." }));
    const { ui } = setup({ defaultOpen: true }, transport);
    await send(ui, "Hello");
    const alert = await ui.findByRole("alert");
    expect(alert.textContent).toContain("Your message was not sent.");
    expect(alert.textContent).toContain("The AI provider did not answer. Try again.");
    expect(ui.getByText("Not sent.")).toBeTruthy();
    await act(async () => {
      fireEvent.click(within(alert).getByRole("button", { name: "Try again" }));
    });
    await waitFor(() => expect(ui.getByText("Echo: Hello")).toBeTruthy());
    expect(ui.queryByRole("alert")).toBeNull();
  });

  it("shows a limit's own sentence with no retry, and offers a new conversation for a session limit", async () => {
    const transport = new FakeTransport();
    transport.maxMessagesPerSession = 2;
    const { ui } = setup({ defaultOpen: true }, transport);
    await send(ui, "one");
    await waitFor(() => expect(ui.getByText("Echo: one")).toBeTruthy());
    await send(ui, "two");
    const alert = await ui.findByRole("alert");
    expect(alert.textContent).toContain("This conversation has reached its limit of 2 messages. Start a new one.");
    expect(alert.getAttribute("data-code")).toBe("session_message_limit_exceeded");
    expect(within(alert).queryByRole("button", { name: "Try again" })).toBeNull();
    expect(ui.queryByRole("button", { name: "Retry" })).toBeNull();
    fireEvent.click(within(alert).getByRole("button", { name: "Start a new conversation" }));
    expect(ui.queryByRole("alert")).toBeNull();
    expect(ui.queryByText("Echo: one")).toBeNull();
  });

  it("escalates to a person, then says a person will reply and keeps the input open for messages to them", async () => {
    const { ui, transport } = setup({ defaultOpen: true });
    await send(ui, "My bill is wrong");
    await waitFor(() => expect(ui.getByText("Echo: My bill is wrong")).toBeTruthy());
    fireEvent.click(ui.getByRole("button", { name: "Talk to a person" }));
    const form = ui.getByRole("form", { name: "Talk to a person" });
    fireEvent.change(within(form).getByRole("textbox"), { target: { value: "Charged twice" } });
    await act(async () => {
      fireEvent.click(within(form).getByRole("button", { name: "Ask for a person" }));
    });
    await waitFor(() => expect(ui.getByRole("status").textContent).toContain("A person will reply here."));
    expect(transport.callsOf("escalate")[0]?.[1]).toEqual({ reason: "Charged twice" });
    expect((ui.getByRole("textbox", { name: "Message" }) as HTMLTextAreaElement).disabled).toBe(false);
    expect((ui.getByRole("button", { name: "Talk to a person" }) as HTMLButtonElement).disabled).toBe(true);
    await send(ui, "It was on the 3rd and the 5th");
    await waitFor(() => expect(ui.getByText("It was on the 3rd and the 5th")).toBeTruthy());
    const last = [...widget().querySelectorAll(".log > .msg")].at(-1);
    expect([last?.getAttribute("data-role"), last?.getAttribute("data-status")]).toEqual(["user", "sent"]);
    expect(widget().querySelectorAll('.msg[data-role="assistant"]')).toHaveLength(1);
    expect(ui.queryByText("The assistant is typing…")).toBeNull();
  });

  it("escalates with a default reason when the person gives none", async () => {
    const { ui, transport } = setup({ defaultOpen: true });
    fireEvent.click(ui.getByRole("button", { name: "Talk to a person" }));
    await act(async () => {
      fireEvent.click(ui.getByRole("button", { name: "Ask for a person" }));
    });
    await waitFor(() => expect(transport.callsOf("escalate")).toHaveLength(1));
    expect((transport.callsOf("escalate")[0]?.[1] as { reason: string }).reason).toMatch(/talk to a person/);
  });

  it("shows a ticket the model created above the reply's text: Ticket created: <title> (<priority>)", async () => {
    const transport = new FakeTransport();
    transport.toolsNext({ function_calls: [ticketCall("Router keeps rebooting", "urgent")], message: "I opened a **ticket**." });
    const { ui } = setup({ defaultOpen: true }, transport);
    await send(ui, "Please create a ticket: Router keeps rebooting, urgent");
    const list = await ui.findByRole("list", { name: "Actions taken" });
    expect(list.tagName).toBe("UL");
    expect(within(list).getAllByRole("listitem").map((li) => li.textContent)).toEqual([
      "Ticket created: Router keeps rebooting (urgent)",
    ]);
    // In the reply it belongs to, before that reply's text.
    const reply = list.closest(".msg");
    expect(reply?.getAttribute("data-role")).toBe("assistant");
    const bubble = reply?.querySelector(".bubble");
    expect(bubble?.textContent).toBe("I opened a ticket.");
    expect(list.compareDocumentPosition(bubble!) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    // The person's own message and a reply without tools have no list.
    expect(widget().querySelectorAll('.msg[data-role="user"] .calls')).toHaveLength(0);
    await send(ui, "thanks");
    await waitFor(() => expect(ui.getByText("Echo: thanks")).toBeTruthy());
    expect(ui.getAllByRole("list", { name: "Actions taken" })).toHaveLength(1);
  });

  it("shows a hand-over, any other tool as done and a failed call with its error, each in its reply's list", async () => {
    const transport = new FakeTransport();
    transport.toolsNext({
      function_calls: [
        fakeCall("lookup_order", { order: "A-17" }, { found: true }),
        fakeCall("create_ticket", "{\"title\": \"Broken", { error: "The arguments are not a JSON object." }, "error"),
        fakeCall("reset_modem", {}, { error: "The tool took too long." }, "error"),
      ],
      message: "Some of that did not work.",
    });
    const { ui } = setup({ defaultOpen: true }, transport);
    await send(ui, "do things");
    const list = await ui.findByRole("list", { name: "Actions taken" });
    const items = within(list).getAllByRole("listitem");
    expect(items.map((li) => li.textContent)).toEqual([
      "lookup_order done",
      "create_ticket failed: The arguments are not a JSON object.",
      "reset_modem failed: The tool took too long.",
    ]);
    expect(items.map((li) => li.className)).toEqual(["call call-ok", "call call-error", "call call-error"]);

    transport.toolsNext({ function_calls: [escalationCall("Billing dispute over two charges")], message: "" });
    await send(ui, "I want to talk to a person");
    await waitFor(() => expect(ui.getAllByRole("list", { name: "Actions taken" })).toHaveLength(2));
    const handOver = ui.getAllByRole("list", { name: "Actions taken" })[1]!;
    expect(handOver.textContent).toBe("Handed over to a person: Billing dispute over two charges");
    // A turn that ended with its tools has no text: the list is the whole reply, with no empty bubble.
    expect(handOver.closest(".msg")?.querySelector(".bubble")).toBeNull();
  });

  it("keeps the actions of each reply when the conversation is loaded again from history", async () => {
    const transport = new FakeTransport();
    const storage = new MemoryStorage();
    transport.toolsNext({
      function_calls: [ticketCall("Slow Wi-Fi upstairs", "normal"), fakeCall("lookup_order", {}, { error: "No such order." }, "error")],
      message: "Ticket opened.",
    });
    const first = setup({ defaultOpen: true }, transport, storage);
    await send(first.ui, "create a ticket: Slow Wi-Fi upstairs");
    await first.ui.findByRole("list", { name: "Actions taken" });
    first.view.unmount();
    document.body.innerHTML = "";

    const { ui } = setup({}, transport, storage);
    openPanel(ui);
    const list = await ui.findByRole("list", { name: "Actions taken" });
    expect(transport.callsOf("history")).toHaveLength(1);
    expect(within(list).getAllByRole("listitem").map((li) => li.textContent)).toEqual([
      "Ticket created: Slow Wi-Fi upstairs (normal)",
      "lookup_order failed: No such order.",
    ]);
    expect(list.closest(".msg")?.querySelector(".bubble")?.textContent).toBe("Ticket opened.");
  });

  it("shows a ticket's title, a hand-over's reason and a tool's error made of HTML as text, never as elements", async () => {
    const transport = new FakeTransport();
    const html = "<img src=x onerror=alert(1)>";
    transport.toolsNext({
      function_calls: [
        ticketCall(html, "high"),
        fakeCall("escalate_to_human", { reason: "<script>alert(2)</script>" }, { status: "escalated" }),
        fakeCall("lookup", {}, { error: '<a href="javascript:alert(3)">x</a>' }, "error"),
      ],
      message: "",
    });
    const { ui } = setup({ defaultOpen: true }, transport);
    await send(ui, "create a ticket");
    const list = await ui.findByRole("list", { name: "Actions taken" });
    expect(within(list).getAllByRole("listitem").map((li) => li.textContent)).toEqual([
      "Ticket created: <img src=x onerror=alert(1)> (high)",
      "Handed over to a person: <script>alert(2)</script>",
      'lookup failed: <a href="javascript:alert(3)">x</a>',
    ]);
    expect(widget().querySelector("img, script, a")).toBeNull();
    expect(ui.getByText("Ticket created: <img src=x onerror=alert(1)> (high)")).toBeTruthy();
  });

  it("switches to the escalated state when the model hands the conversation to a person, as the person's own request does", async () => {
    const transport = new FakeTransport();
    const { ui } = setup({ defaultOpen: true }, transport);
    await send(ui, "My bill is wrong");
    await waitFor(() => expect(ui.getByText("Echo: My bill is wrong")).toBeTruthy());
    expect((ui.getByRole("textbox", { name: "Message" }) as HTMLTextAreaElement).disabled).toBe(false);
    transport.toolsNext({ function_calls: [escalationCall("The user asked for a person")], message: "", stopped: "escalated" });
    await send(ui, "I want to talk to a person");
    await waitFor(() => expect(ui.getByRole("status").textContent).toContain("A person will reply here."));
    expect(ui.getByText("Handed over to a person: The user asked for a person")).toBeTruthy();
    expect(ui.getByText("Handed to our support team")).toBeTruthy();
    expect((ui.getByRole("textbox", { name: "Message" }) as HTMLTextAreaElement).disabled).toBe(false);
    expect((ui.getByRole("button", { name: "Talk to a person" }) as HTMLButtonElement).disabled).toBe(true);
    expect(transport.callsOf("escalate")).toHaveLength(0);
    // As after the person's own request: the request can be taken back while nobody has taken it.
    expect(within(ui.getByRole("status")).getByRole("button", { name: "Cancel request" })).toBeTruthy();
    fireEvent.click(ui.getByRole("button", { name: "Start a new conversation" }));
    expect(ui.queryByRole("status")).toBeNull();
    expect(ui.getByText("Answers are AI-generated")).toBeTruthy();
  });

  it("switches to the escalated state on an ok escalate_to_human call alone, and again after a reload", async () => {
    const transport = new FakeTransport();
    const storage = new MemoryStorage();
    transport.toolsNext({ function_calls: [escalationCall("Outage at home")], message: "A colleague will contact you." });
    const first = setup({ defaultOpen: true }, transport, storage);
    await send(first.ui, "I want to talk to a person");
    await waitFor(() => expect(first.ui.getByRole("status").textContent).toContain("A person will reply here."));
    expect(first.ui.getByText("A colleague will contact you.")).toBeTruthy();
    first.view.unmount();
    document.body.innerHTML = "";

    const { ui } = setup({ defaultOpen: true }, transport, storage);
    await waitFor(() => expect(ui.getByRole("status").textContent).toContain("A person will reply here."));
    expect(ui.getByText("Handed over to a person: Outage at home")).toBeTruthy();
    expect((ui.getByRole("textbox", { name: "Message" }) as HTMLTextAreaElement).disabled).toBe(false);
  });

  it("rates the conversation 1-5 with optional words, and each reply up or down", async () => {
    const { ui, transport } = setup({ defaultOpen: true });
    expect(ui.queryByRole("group", { name: "Rate this conversation" })).toBeNull();
    await send(ui, "hi");
    await waitFor(() => expect(ui.getByText("Echo: hi")).toBeTruthy());
    await act(async () => {
      fireEvent.click(ui.getByRole("button", { name: "4 out of 5" }));
    });
    await waitFor(() => expect(ui.getByRole("button", { name: "4 out of 5" }).getAttribute("aria-pressed")).toBe("true"));
    fireEvent.change(ui.getByRole("textbox", { name: "Anything to add? (optional)" }), { target: { value: "Quick!" } });
    await act(async () => {
      fireEvent.submit(ui.getByRole("textbox", { name: "Anything to add? (optional)" }));
    });
    await waitFor(() => expect(ui.getByText("Thanks for telling us more.")).toBeTruthy());
    expect(transport.callsOf("sessionFeedback").map(([, body]) => body)).toEqual([
      { rating: 4 },
      { rating: 4, feedback: "Quick!" },
    ]);
    await act(async () => {
      fireEvent.click(ui.getByRole("button", { name: "Helpful" }));
    });
    await waitFor(() => expect(ui.getByRole("button", { name: "Helpful" }).getAttribute("aria-pressed")).toBe("true"));
    expect(transport.callsOf("rateMessage").map(([, , body]) => body)).toEqual([{ rating: "up" }]);
  });

  it("follows the theme prop, and in auto the system's light or dark preference", () => {
    const roots = Object.fromEntries((["light", "dark", "auto"] as const).map((theme) => {
      const view = setup({ theme }).view;
      const root = widget().querySelector(".root");
      if (!root) throw new Error("no .root");
      const css = widget().querySelector("style")?.textContent ?? "";
      view.unmount();
      return [theme, { root, css }];
    }));
    expect(roots.auto?.root.getAttribute("data-theme")).toBe("auto");
    const palette = (theme: "light" | "dark" | "auto", scheme: Scheme) =>
      customProperties(roots[theme]?.css ?? "", roots[theme]!.root, scheme);
    const light = palette("light", "light");
    const dark = palette("dark", "light");
    expect(light["--bg"]).toBe("#ffffff");
    expect(dark["--bg"]).toBe("#1c2128");
    expect(dark).not.toEqual(light);
    // An explicit theme ignores the system; auto takes the whole palette of the system's scheme.
    expect(palette("light", "dark")).toEqual(light);
    expect(palette("dark", "dark")).toEqual(dark);
    expect(palette("auto", "light")).toEqual(light);
    expect(palette("auto", "dark")).toEqual(dark);
  });

  it("adds one host element to the page and no styles outside its shadow root", () => {
    const headBefore = document.head.innerHTML;
    const { view } = setup({ defaultOpen: true });
    expect(document.head.innerHTML).toBe(headBefore);
    expect(document.querySelectorAll("style")).toHaveLength(0);
    const hosts = document.querySelectorAll("[data-ai-chat-widget]");
    expect(hosts).toHaveLength(1);
    expect(hosts[0]?.parentElement).toBe(document.body);
    view.unmount();
    expect(document.querySelector("[data-ai-chat-widget]")).toBeNull();
  });
});
