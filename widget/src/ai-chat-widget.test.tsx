import { act, fireEvent, render, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { AIChatWidget, type AIChatWidgetProps } from "./ai-chat-widget";
import { storageKeyFor } from "./chat-client";
import { ChatApiError } from "./chat-error";
import { FakeTransport, MemoryStorage } from "./testing/fake-transport";

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
  it("starts as a launcher button and opens into the conversation panel with a polite live log", () => {
    const { ui } = setup();
    expect(ui.queryByRole("log")).toBeNull();
    const launcher = ui.getByRole("button", { name: "Open AI assistant" });
    expect(launcher.getAttribute("aria-expanded")).toBe("false");
    openPanel(ui);
    const log = ui.getByRole("log");
    expect(log.getAttribute("aria-live")).toBe("polite");
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

  it("escalates to a person, then says a person will follow up and takes no more messages", async () => {
    const { ui, transport } = setup({ defaultOpen: true });
    await send(ui, "My bill is wrong");
    await waitFor(() => expect(ui.getByText("Echo: My bill is wrong")).toBeTruthy());
    fireEvent.click(ui.getByRole("button", { name: "Talk to a person" }));
    const form = ui.getByRole("form", { name: "Talk to a person" });
    fireEvent.change(within(form).getByRole("textbox"), { target: { value: "Charged twice" } });
    await act(async () => {
      fireEvent.click(within(form).getByRole("button", { name: "Ask for a person" }));
    });
    await waitFor(() => expect(ui.getByRole("status").textContent).toContain("A person will follow up."));
    expect(transport.callsOf("escalate")[0]?.[1]).toEqual({ reason: "Charged twice" });
    expect((ui.getByRole("textbox", { name: "Message" }) as HTMLTextAreaElement).disabled).toBe(true);
    expect((ui.getByRole("button", { name: "Send" }) as HTMLButtonElement).disabled).toBe(true);
    expect((ui.getByRole("button", { name: "Talk to a person" }) as HTMLButtonElement).disabled).toBe(true);
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
