import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { AIChatAgentInbox } from "./agent-inbox";
import { AIChatWidget } from "./ai-chat-widget";
import { ChatApiError } from "./chat-error";
import { en, type Labels } from "./labels";
import { de } from "./labels-de";
import { resolveLabels } from "./locales";
import { errorSentence, markerText, replyText } from "./server-text";
import { FakeAgentTransport } from "./testing/fake-agent-transport";
import { escalationCall, FakeTransport, MemoryStorage } from "./testing/fake-transport";

afterEach(() => {
  cleanup();
});

/** Every English sentence of the labels long enough to be told from German by sight (functions called with "X"). */
function englishStrings(): string[] {
  const out = new Set<string>();
  const add = (value: unknown): void => {
    if (typeof value === "string") out.add(value);
    else if (typeof value === "function") add((value as (...args: string[]) => unknown)("X", "X", "X"));
    else if (value && typeof value === "object") Object.values(value).forEach(add);
  };
  for (const [key, value] of Object.entries(en)) if (key !== "lang" && key !== "dir") add(value);
  return [...out].filter((s) => s.length >= 4 && s !== "X" && !Object.values(de).includes(s));
}

const shadow = () => document.querySelector("[data-ai-chat-widget]")!.shadowRoot!;

describe("labels", () => {
  it("German is a whole Labels: a locale missing a key is not one (tsc), and none of its words is the English", () => {
    const { send: _send, ...missing } = de;
    // @ts-expect-error a locale without `send` is not a Labels
    const incomplete: Labels = missing;
    expect(incomplete).toBeDefined();
    expect(Object.keys(de).sort()).toEqual(Object.keys(en).sort());
    const same = Object.entries(de).filter(([key, value]) => typeof value === "string" && value === en[key as keyof Labels]
      && !["dir"].includes(key));
    expect(same).toEqual([]);
  });

  it("resolves a locale with a host's words over it", () => {
    expect(resolveLabels(undefined, undefined)).toBe(en);
    expect(resolveLabels("de", undefined)).toBe(de);
    expect(resolveLabels("de", { send: "Los" })).toMatchObject({ send: "Los", stop: "Anhalten", lang: "de" });
  });

  it("shows the server's words by code, by kind, or as they came when the labels have none", () => {
    const limit = new ChatApiError(400, { code: "session_message_limit_exceeded", detail: "This session reached 2 messages." });
    const other = new ChatApiError(400, { code: "some_new_code", detail: "A sentence of the server's." });
    expect(errorSentence(en, limit)).toBe("This session reached 2 messages.");
    expect(errorSentence(de, limit)).toMatch(/Höchstzahl an Nachrichten/);
    expect(errorSentence(de, other)).toBe(de.errorKinds!.invalid);
    expect(errorSentence({ ...de, errorKinds: null }, other)).toBe("A sentence of the server's.");
    const joined = { handoff: "joined" as const, agentName: "Dana Reyes", content: "Dana Reyes joined the conversation." };
    expect(markerText(en, joined)).toBe("Dana Reyes joined the conversation.");
    expect(markerText(de, joined)).toBe("Dana Reyes ist dem Gespräch beigetreten.");
    expect(markerText(de, { ...joined, handoff: "left" })).toBe("Dana Reyes hat das Gespräch verlassen.");
    expect(markerText(de, { ...joined, agentName: null })).toBe(joined.content);
    const handedOver = { stopped: "escalated", content: "I've passed this conversation to a person on our support team." };
    expect(replyText(en, handedOver)).toBe(handedOver.content);
    expect(replyText(de, handedOver)).toBe(de.turnEnds.escalated);
    expect(replyText(de, { stopped: "stopped", content: "Half a sen" })).toBe("Half a sen");
  });
});

describe("<AIChatWidget locale=\"de\">", () => {
  it("sets lang and dir, and shows no English word of its own from the launcher to a person's reply", async () => {
    const transport = new FakeTransport();
    transport.toolsNext({ function_calls: [escalationCall("Drucker")], message: "I've passed this conversation to a person on our support team; they will follow up here.", stopped: "escalated" });
    render(<AIChatWidget transport={transport} storage={new MemoryStorage()} locale="de" />);
    const root = shadow().querySelector(".root")!;
    expect(root.getAttribute("lang")).toBe("de");
    expect(root.getAttribute("dir")).toBe("ltr");
    const launcher = shadow().querySelector<HTMLButtonElement>(".launcher")!;
    expect(launcher.getAttribute("aria-label")).toBe("KI-Assistent öffnen");
    await act(async () => {
      fireEvent.click(launcher);
    });
    const box = shadow().querySelector("textarea")!;
    fireEvent.change(box, { target: { value: "Mein Drucker klemmt" } });
    await act(async () => {
      fireEvent.submit(shadow().querySelector("form.composer")!);
    });
    await waitFor(() => expect(shadow().querySelector(".notice")?.textContent).toContain("Ein Mensch antwortet hier."));
    const id = [...transport.sessions.keys()][0]!;
    transport.agentReply(id, "Dana Reyes", "Hallo, hier ist Dana.");
    await act(async () => {
      await new Promise((r) => setTimeout(r, 10));
    });
    const text = (): string => {
      // The root's text and names (not the <style> beside it).
      const root = shadow().querySelector(".root")!;
      const parts: string[] = [root.textContent ?? ""];
      root.querySelectorAll("[aria-label], [placeholder], [title]").forEach((e) =>
        parts.push(...["aria-label", "placeholder", "title"].map((a) => e.getAttribute(a) ?? "")));
      return parts.join("\n");
    };
    const shown = text();
    expect(shown).toContain(de.turnEnds.escalated);
    const word = (s: string) => new RegExp(`(^|[^\\p{L}])${s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}($|[^\\p{L}])`, "u");
    expect(englishStrings().filter((s) => word(s).test(shown)).map((s) => [s, shown.slice(Math.max(0, shown.indexOf(s) - 40), shown.indexOf(s) + 40)])).toEqual([]);
  });

  it("takes a host's words over the locale's, and a right-to-left direction", async () => {
    render(<AIChatWidget transport={new FakeTransport()} storage={new MemoryStorage()} locale="de" defaultOpen
      labels={{ send: "Los", dir: "rtl", lang: "de-XR" }} />);
    const root = shadow().querySelector(".root")!;
    expect([root.getAttribute("lang"), root.getAttribute("dir")]).toEqual(["de-XR", "rtl"]);
    expect(shadow().querySelector(".send")?.textContent).toBe("Los");
    expect(shadow().querySelector(".stop, .link-button")?.textContent).toBe("Mit einem Menschen sprechen");
  });
});

describe("<AIChatAgentInbox locale=\"de\">", () => {
  it("shows the list, a conversation and its markers in German, with lang set", async () => {
    const transport = new FakeAgentTransport();
    transport.waitingSession("S1", "Rechnung", "Meine Rechnung hat sich verdoppelt");
    const { container } = render(<AIChatAgentInbox transport={transport} pollMs={20_000} locale="de" />);
    expect(container.querySelector(".aichat-inbox")?.getAttribute("lang")).toBe("de");
    const list = await screen.findByRole("list", { name: "Wartende Gespräche" });
    expect(within(list).getByRole("button").textContent).toMatch(/Kunde carol · wartet 1 Min\. · nicht übernommen/);
    fireEvent.click(within(list).getByRole("button"));
    await screen.findByText("Meine Rechnung hat sich verdoppelt", { selector: "p" });
    await act(async () => {
      fireEvent.click(await screen.findByRole("button", { name: "Gespräch übernehmen" }));
    });
    const log = screen.getByRole("log", { name: "Gespräch" });
    await within(log).findByText("Dana Reyes ist dem Gespräch beigetreten.");
    expect(screen.getByText("Dana Reyes hat dieses Gespräch")).toBeTruthy();
    transport.fail = new ChatApiError(400, { code: "session_not_active", detail: "This session is completed." });
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: "An die KI zurückgeben" }));
    });
    expect((await screen.findByRole("alert")).textContent).toBe(de.errors.session_not_active);
  });
});
