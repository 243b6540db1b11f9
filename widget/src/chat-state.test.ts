import { describe, expect, it } from "vitest";
import type { ChatResponseBody } from "./api-types";
import { ChatApiError } from "./chat-error";
import {
  awaitedIn,
  busy,
  escalatedBy,
  fromHistory,
  fromPage,
  fromReply,
  markedSent,
  newestStoredId,
  noConversation,
  statusOf,
  userMessage,
  withReply,
  type ChatMessage,
} from "./chat-state";
import { historyPage, storedMessage } from "./testing/fake-stream";
import { escalationCall, fakeCall, ticketCall } from "./testing/fake-transport";

const at = new Date(0).toISOString();
const sent = (id: string, role: ChatMessage["role"] = "user"): ChatMessage => ({ ...fromHistory(storedMessage(id, "user", id)), role });
const reply = (id: string): ChatMessage => ({ ...sent(id, "assistant"), key: `key-${id}` });

function answer(metadata: Partial<ChatResponseBody["metadata"]>, calls: ChatResponseBody["function_calls"] = []): ChatResponseBody {
  return {
    session_id: "S1", message: "Done.", role: "assistant", function_calls: calls,
    metadata: { tokens: 1, input_tokens: 1, output_tokens: 0, cost_cents: 0, model: "m", provider: "p", message_id: "M1", ...metadata },
  };
}

describe("reading the API's bodies", () => {
  it("shows a history message keyed by its id, failed only when the server says so, with what the document leaves optional", () => {
    expect(fromHistory(storedMessage("M1", "assistant", "Hi.", { feedback: "up", stopped: "stopped", estimated: true })))
      .toEqual({
        id: "M1", key: "M1", role: "assistant", content: "Hi.", createdAt: at, status: "sent", rating: "up", error: null,
        functionCalls: [], stopped: "stopped", estimated: true, agentName: null, handoff: null,
      });
    expect(fromHistory(storedMessage("M2", "user", "x", { status: "failed" })).status).toBe("failed");
    expect(fromHistory(storedMessage("M3", "user", "x", { status: "pending" })).status).toBe("sent");
  });

  it("awaits the newest message of a page only when it is the user's and pending, and shows that one pending", () => {
    const pending = storedMessage("U2", "user", "still there?", { status: "pending" });
    const page = historyPage("S1", [storedMessage("U1", "user", "hi", { status: "pending" }), pending]);
    expect(awaitedIn(page)).toBe(pending);
    expect(fromPage(page.messages, pending).map((m) => m.status)).toEqual(["sent", "pending"]);
    expect(awaitedIn(historyPage("S1", [pending, storedMessage("A2", "assistant", "yes")]))).toBeNull();
    expect(awaitedIn(historyPage("S1", []))).toBeNull();
  });

  it("shows POST /chat's answer as the reply, made at the time given", () => {
    const calls = [ticketCall("Router")];
    expect(fromReply(answer({ stopped: "max_tool_steps" }, calls), at)).toMatchObject({
      id: "M1", key: "M1", role: "assistant", content: "Done.", createdAt: at, status: "sent", functionCalls: calls,
      stopped: "max_tool_steps", estimated: false,
    });
  });

  it("takes a reply for a hand-over when its turn stopped there or escalate_to_human ran, not when the call failed", () => {
    expect(escalatedBy(answer({ stopped: "escalated" }))).toBe(true);
    expect(escalatedBy(answer({ stopped: "taken_by_person" }))).toBe(true);
    expect(escalatedBy(answer({}, [escalationCall("a person")]))).toBe(true);
    expect(escalatedBy(answer({}, [fakeCall("escalate_to_human", {}, { error: "down" }, "error")]))).toBe(false);
    expect(escalatedBy(answer({ stopped: "max_tool_steps" }))).toBe(false);
  });
});

describe("the state of the log", () => {
  it("is streaming while a reply is written, submitted while a message awaits one, else ready", () => {
    const pending = userMessage("local-1", "hi", at);
    expect(statusOf([sent("M1"), pending])).toBe("submitted");
    expect(statusOf([pending, { ...reply("A1"), status: "streaming" }])).toBe("streaming");
    expect(statusOf([sent("M1"), { ...sent("M2"), status: "failed" }])).toBe("ready");
    expect([busy("submitted"), busy("streaming"), busy("ready"), busy("error"), busy("loading")]).toEqual([true, true, false, false, false]);
  });

  it("looks for newer messages after the newest one the API named, not a local one", () => {
    expect(newestStoredId([sent("M1"), sent("M2"), userMessage("local-3", "x", at)])).toBe("M2");
    expect(newestStoredId([userMessage("local-1", "x", at)])).toBeNull();
  });

  it("shows a message as sent without its error, and leaves a sent one as it is", () => {
    const failed: ChatMessage = { ...userMessage("local-1", "x", at), status: "failed", error: new ChatApiError(0, null) };
    const other = sent("M1");
    const messages = markedSent([other, failed], "local-1");
    expect(messages[0]).toBe(other);
    expect(messages[1]).toMatchObject({ status: "sent", error: null });
  });

  it("puts a reply in place of the one with its key, else right after its message, else at the end", () => {
    const asked = userMessage("local-1", "x", at);
    const later = userMessage("local-2", "y", at);
    const first = withReply([asked, later], asked, reply("A1"));
    expect(first.map((m) => [m.key, m.status])).toEqual([["local-1", "sent"], ["key-A1", "sent"], ["local-2", "pending"]]);
    const grown = withReply(first, asked, { ...reply("A1"), content: "more" });
    expect(grown.map((m) => m.key)).toEqual(["local-1", "key-A1", "local-2"]);
    expect(grown[1]?.content).toBe("more");
    expect(withReply([later], asked, reply("A1")).map((m) => m.key)).toEqual(["local-2", "key-A1"]);
  });

  it("starts a conversation with nothing in it, a stored session's history still to load", () => {
    expect(noConversation(null)).toMatchObject({ sessionId: null, historyLoaded: true, messages: [], status: "ready" });
    expect(noConversation("S1")).toMatchObject({ sessionId: "S1", historyLoaded: false, sessionStatus: null });
  });
});
