import { cleanup, render } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { AGENT_INBOX_CSS } from "./agent-inbox-styles";
import { AIChatWidget } from "./ai-chat-widget";
import { FakeTransport, MemoryStorage } from "./testing/fake-transport";
import { WIDGET_CSS } from "./widget-styles";

afterEach(() => {
  cleanup();
});

const HOST_PROPERTIES = ["--ai-chat-accent", "--ai-chat-accent-text", "--ai-chat-link", "--ai-chat-radius", "--ai-chat-font"];

describe("the host's custom properties", () => {
  it.each([["the widget", WIDGET_CSS], ["the inbox", AGENT_INBOX_CSS]])("%s reads each one and never sets one, so a host's value wins", (_, css) => {
    for (const name of HOST_PROPERTIES) {
      expect(css).toContain(`var(${name},`);
      expect(css).not.toMatch(new RegExp(`${name}\\s*:`));
    }
  });
});

describe("the launcher's position", () => {
  const root = () => document.querySelector("[data-ai-chat-widget]")!.shadowRoot!.querySelector(".root")!;

  it("is bottom-right by default, bottom-left when asked", () => {
    const view = render(<AIChatWidget transport={new FakeTransport()} storage={new MemoryStorage()} />);
    expect(root().getAttribute("data-position")).toBe("bottom-right");
    view.rerender(<AIChatWidget transport={new FakeTransport()} storage={new MemoryStorage()} position="bottom-left" />);
    expect(root().getAttribute("data-position")).toBe("bottom-left");
    expect(WIDGET_CSS).toMatch(/\.root\[data-position="bottom-left"\] \{ right: auto; left: 16px;/);
  });
});
