import { describe, expect, it } from "vitest";
import type { HistoryMessageBody } from "../api-types";
import { mergeMessages, newestStoredId, toUIMessages, type BackendUIMessage } from "./messages";

const at = "2026-12-06T10:00:00.000Z";
const stored = (m: Partial<HistoryMessageBody> & Pick<HistoryMessageBody, "id" | "role" | "content">): HistoryMessageBody =>
  ({ created_at: at, tokens: 0, status: "ok", ...m }) as HistoryMessageBody;

const HISTORY: HistoryMessageBody[] = [
  stored({ id: "01M8SS0000000000000000000A", role: "user", content: "My router is broken, open a ticket" }),
  stored({
    id: "01M8SS0000000000000000000B", role: "assistant", content: "Ticket opened.", tokens: 40,
    function_calls: [
      { id: "call_1", name: "create_ticket", arguments: '{"title": "Router broken"}', status: "ok", result: { id: "T1" } },
      { id: "call_2", name: "lookup", arguments: "not json", status: "error", result: { error: "lookup is down" } },
    ],
  }),
  stored({ id: "01M8SS0000000000000000000C", role: "user", content: "Tell me more" }),
  stored({ id: "01M8SS0000000000000000000D", role: "assistant", content: "It was", stopped: "stopped", estimated: true }),
  stored({ id: "01M8SS0000000000000000000E", role: "agent", content: "Dana Reyes joined the conversation.", agent_name: "Dana Reyes", handoff: "joined" }),
  stored({ id: "01M8SS0000000000000000000F", role: "agent", content: "Dana here.", agent_name: "Dana Reyes" }),
];

describe("toUIMessages", () => {
  it("maps a reply's tool calls to dynamic tool parts before its text, as the stream showed them", () => {
    const reply = toUIMessages(HISTORY)[1]!;
    expect(reply.role).toBe("assistant");
    expect(reply.parts).toEqual([
      { type: "dynamic-tool", toolName: "create_ticket", toolCallId: "call_1", input: { title: "Router broken" },
        state: "output-available", output: { id: "T1" } },
      { type: "dynamic-tool", toolName: "lookup", toolCallId: "call_2", input: "not json", state: "output-error",
        errorText: "lookup is down" },
      { type: "text", text: "Ticket opened.", state: "done" },
    ]);
    expect(reply.metadata).toMatchObject({ message_id: reply.id, author: { kind: "model" }, stopped: null });
  });

  it("keeps why a reply ended short as a data-ending part and in the metadata", () => {
    const stoppedReply = toUIMessages(HISTORY)[3]!;
    expect(stoppedReply.parts.at(-1)).toEqual({ type: "data-ending", data: { code: "stopped" } });
    expect(stoppedReply.metadata).toMatchObject({ stopped: "stopped", estimated: true });
  });

  it("shows a person's messages as assistant messages by a person, and their markers unless skipped", () => {
    const all = toUIMessages(HISTORY);
    expect(all.slice(4).map((m) => [m.role, m.metadata?.author, m.metadata?.handoff])).toEqual([
      ["assistant", { kind: "person", name: "Dana Reyes" }, "joined"],
      ["assistant", { kind: "person", name: "Dana Reyes" }, undefined],
    ]);
    expect(toUIMessages(HISTORY, { markers: "skip" }).map((m) => m.id)).not.toContain("01M8SS0000000000000000000E");
  });

  it("keeps the history's ids, so a reloaded conversation rates and merges by them", () => {
    expect(toUIMessages(HISTORY).map((m) => m.id)).toEqual(HISTORY.map((m) => m.id));
  });
});

describe("mergeMessages", () => {
  const ui = (id: string, text = id): BackendUIMessage => ({ id, role: "assistant", parts: [{ type: "text", text }] });

  it("replaces a message it has, appends a newer one, and puts a late reply where its id sorts", () => {
    const current = [ui("01M8SS0000000000000000000A"), ui("local-user-message"), ui("01M8SS0000000000000000000C")];
    const merged = mergeMessages(current, [
      ui("01M8SS0000000000000000000C", "changed"), ui("01M8SS0000000000000000000B"), ui("01M8SS0000000000000000000D"),
    ]);
    expect(merged.map((m) => m.id)).toEqual([
      "01M8SS0000000000000000000A", "local-user-message", "01M8SS0000000000000000000B", "01M8SS0000000000000000000C",
      "01M8SS0000000000000000000D",
    ]);
    expect(merged[3]!.parts).toEqual([{ type: "text", text: "changed" }]);
  });
});

describe("newestStoredId", () => {
  it("is the newest of the API's ids among the messages and their metadata, never useChat's own", () => {
    const messages: BackendUIMessage[] = [
      { id: "01M8SS0000000000000000000A", role: "user", parts: [] },
      { id: "useChatOwnId", role: "user", parts: [] },
      { id: "alsoUseChats", role: "assistant", parts: [], metadata: { message_id: "01M8SS0000000000000000000C",
        user_message_id: "01M8SS0000000000000000000B" } },
    ];
    expect(newestStoredId(messages)).toBe("01M8SS0000000000000000000C");
    expect(newestStoredId([messages[1]!])).toBeNull();
  });
});
