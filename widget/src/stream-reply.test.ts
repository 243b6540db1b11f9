import { describe, expect, it } from "vitest";
import {
  applyPart,
  callArguments,
  callResult,
  keptReply,
  newDraft,
  storedReply,
  streamError,
  type Draft,
  type DraftChange,
} from "./stream-reply";
import type { UiMessagePart } from "./ui-message-stream";

const at = new Date(0).toISOString();

/** The draft `parts` build, read as the client reads them (nothing after `failed`), and what each part changed. */
function read(parts: UiMessagePart[], held = false): { draft: Draft; changes: DraftChange[] } {
  const draft = newDraft("local-r", at, held);
  const changes: DraftChange[] = [];
  for (const part of parts) {
    const change = applyPart(draft, part);
    changes.push(change);
    if (change === "failed") break;
  }
  return { draft, changes };
}

const start: UiMessagePart = { type: "start", messageMetadata: { session_id: "S1", user_message_id: "U1" } };
const delta = (delta: string, id = "t1"): UiMessagePart => ({ type: "text-delta", id, delta });

describe("applyPart", () => {
  it("builds a whole turn: the ids from start, the text from its deltas, the metadata merged, ended by finish", () => {
    const { draft, changes } = read([
      start, { type: "start-step" }, { type: "text-start", id: "t1" }, delta("Hel"), delta("lo."), { type: "text-end", id: "t1" },
      { type: "finish-step" },
      { type: "message-metadata", messageMetadata: { session_id: "S1", message_id: "M1" } },
      { type: "message-metadata", messageMetadata: { tokens: 12, stopped: null } },
      { type: "finish", finishReason: "stop" }, { type: "done" },
    ]);
    expect(changes).toEqual(["started", null, null, "content", "content", null, null, null, null, null, null]);
    expect(draft).toMatchObject({
      text: "Hello.", sessionId: "S1", userMessageId: "U1", failure: null, ended: true, held: false,
      metadata: { session_id: "S1", message_id: "M1", tokens: 12, stopped: null },
    });
  });

  it("starts a new paragraph for a new text part, once it has text, and only one line when the text ends with one", () => {
    expect(read([delta("One.", "a"), { type: "text-start", id: "b" }, delta("", "b"), delta("Two.", "b")]).draft.text)
      .toBe("One.\n\nTwo.");
    expect(read([delta("A list:\n", "a"), { type: "text-start", id: "b" }, delta("- item", "b")]).draft.text).toBe("A list:\n\n- item");
    expect(read([delta("Same ", "a"), { type: "text-start", id: "a" }, delta("part.", "a")]).draft.text).toBe("Same part.");
    expect(read([{ type: "text-start", id: "a" }, { type: "text-start", id: "b" }, delta("First.", "b")]).draft.text).toBe("First.");
  });

  it("shows a tool call running from its input, replaced by a repeat of it, and settled by its output or its error", () => {
    const { draft, changes } = read([
      { type: "tool-input-available", toolCallId: "c1", toolName: "create_ticket", input: { title: "Rout" } },
      { type: "tool-input-available", toolCallId: "c1", toolName: "create_ticket", input: { title: "Router" } },
      { type: "tool-input-available", toolCallId: "c2", toolName: "lookup", input: [1, 2] },
      { type: "tool-input-available", toolCallId: "c3", toolName: "reset", input: {} },
      { type: "tool-output-available", toolCallId: "c1", output: { id: "T1" } },
      { type: "tool-output-error", toolCallId: "c2", errorText: "No such order." },
      { type: "tool-output-available", toolCallId: "nobody", output: 1 },
    ]);
    expect(changes.every((c) => c === "content")).toBe(true);
    expect(draft.calls).toEqual([
      { id: "c1", name: "create_ticket", arguments: { title: "Router" }, status: "ok", result: { id: "T1" } },
      { id: "c2", name: "lookup", arguments: "[1,2]", status: "error", result: { error: "No such order." } },
      { id: "c3", name: "reset", arguments: {}, status: "running", result: {} },
    ]);
  });

  it("reads an error part as the end: its sentence with the data-error's code, ended, and `failed` for the reader to stop", () => {
    const { draft, changes } = read([
      start,
      { type: "data-error", data: { code: "provider_error", detail: "Short.", session_id: "S1" }, transient: true },
      { type: "error", errorText: "The AI provider failed to answer." },
      { type: "message-metadata", messageMetadata: { message_id: "M9" } },
      { type: "finish", finishReason: "error" },
    ]);
    expect(changes).toEqual(["started", null, "failed"]);
    expect(draft).toMatchObject({
      failure: { code: "provider_error", detail: "The AI provider failed to answer." }, ended: true, metadata: null,
    });
    expect(read([{ type: "error", errorText: "Broken." }]).draft.failure).toEqual({ code: null, detail: "Broken." });
    expect(read([{ type: "data-error", data: {} }]).draft).toMatchObject({ failure: { code: null, detail: null }, ended: false });
  });

  it("keeps a draft of a message sent to a person held until a model call starts, then says so once", () => {
    const { draft, changes } = read([start, delta("With a person."), { type: "start-step" }, { type: "start-step" }], true);
    expect(changes).toEqual(["started", "content", "unheld", null]);
    expect(draft.held).toBe(false);
  });

  it("takes the session from the first start that names one, and ignores what else start carries (its messageId)", () => {
    const named = read([
      { type: "start", messageId: "M1", messageMetadata: { session_id: "S1", user_message_id: "U1" } } as UiMessagePart,
      { type: "start", messageMetadata: { session_id: "S2" } },
    ]).draft;
    expect(named).toEqual(read([start]).draft);
    expect(read([{ type: "start" }]).draft).toMatchObject({ sessionId: null, userMessageId: null });
  });
});

describe("what a draft amounts to", () => {
  it("keeps a tool's input and output as the API's FunctionCall fields hold them", () => {
    expect(callArguments({ a: 1 })).toEqual({ a: 1 });
    expect(callArguments("{not json")).toBe("{not json");
    expect(callArguments(undefined)).toBe("null");
    expect(callResult({ id: "T1" })).toEqual({ id: "T1" });
    expect(callResult("done")).toEqual({ value: "done" });
    expect(callResult([1])).toEqual({ value: [1] });
  });

  it("makes an error of a stream's failure with the kind its code decides", () => {
    expect(streamError({ code: "provider_timeout", detail: "Slow." })).toMatchObject({
      status: 502, code: "provider_timeout", kind: "provider", message: "Slow.", retryable: true,
    });
    expect(streamError({ code: "daily_cost_limit_exceeded", detail: null })).toMatchObject({ status: 400, kind: "limit", retryable: false });
    expect(streamError(null)).toMatchObject({ status: 500, code: "stream_error", kind: "unknown" });
  });

  it("answers a stored reply as POST /chat would, a call the stream never answered failed", () => {
    const { draft } = read([
      start, delta("Half"), { type: "tool-input-available", toolCallId: "c1", toolName: "reset", input: {} },
    ]);
    const reply = storedReply(draft, { message_id: "M1", stopped: "stopped", estimated: true, tokens: 5 }, "S0");
    expect(reply).toEqual({
      session_id: "S0", message: "Half", role: "assistant",
      function_calls: [{ id: "c1", name: "reset", arguments: {}, status: "error", result: { error: "The tool did not answer." } }],
      metadata: {
        tokens: 5, input_tokens: 0, output_tokens: 0, cost_cents: 0, model: "", provider: "", message_id: "M1",
        truncated: false, stopped: "stopped", estimated: true,
      },
    });
    expect(draft.calls[0]?.status).toBe("running"); // the draft itself is left as it was
  });

  it("answers a message kept for a person as waiting_for_person under the stored message's id, nothing charged", () => {
    const { draft } = read([start, { type: "message-metadata", messageMetadata: { session_id: "S1", message_id: "U1", stopped: "escalated" } }], true);
    expect(keptReply(draft, "U1", "S0")).toMatchObject({
      session_id: "S1", status: "waiting_for_person", function_calls: [],
      metadata: { message_id: "U1", tokens: 0, cost_cents: 0, stopped: "escalated", estimated: false },
    });
  });
});
