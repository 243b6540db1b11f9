import { describe, expect, it } from "vitest";
import { BodyWriter, DONE, sse } from "./testing/fake-stream";
import { parsePart, readUiMessageStream, SseParser, type UiMessagePart } from "./ui-message-stream";

const encoder = new TextEncoder();

/** A whole reply as the server writes it, with a tool call, a delta of non-ASCII text, and the end. */
const TURN = [
  sse({ type: "start", messageMetadata: { session_id: "S1", user_message_id: "U1" } }),
  sse({ type: "start-step" }),
  sse({ type: "tool-input-available", toolCallId: "c1", toolName: "create_ticket", input: { title: "Router" }, dynamic: true }),
  sse({ type: "tool-output-available", toolCallId: "c1", output: { id: "T1" }, dynamic: true }),
  sse({ type: "text-start", id: "text-1" }),
  sse({ type: "text-delta", id: "text-1", delta: "Grüße “quoted” 👋🏽 " }),
  sse({ type: "text-delta", id: "text-1", delta: "日本語." }),
  sse({ type: "text-end", id: "text-1" }),
  sse({ type: "finish-step" }),
  sse({ type: "message-metadata", messageMetadata: { session_id: "S1", message_id: "M1", stopped: null } }),
  sse({ type: "finish", finishReason: "stop" }),
  DONE,
].join("");

/** Every part read from `chunks` written one after another into a fetch body. */
async function read(chunks: Array<string | Uint8Array>): Promise<UiMessagePart[]> {
  const body = new BodyWriter();
  body.write(...chunks);
  body.close();
  const parts: UiMessagePart[] = [];
  for await (const part of readUiMessageStream(body.stream)) parts.push(part);
  return parts;
}

/** The bytes of `text` cut into pieces of `size` bytes, so multi-byte characters fall across pieces. */
function byteChunks(text: string, size: number): Uint8Array[] {
  const bytes = encoder.encode(text);
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.slice(at, at + size));
  return out;
}

const text = (parts: UiMessagePart[]): string =>
  parts.map((p) => (p.type === "text-delta" ? p.delta : "")).join("");

describe("SseParser", () => {
  it("gives each event's data once its blank line arrives, wherever the pieces are cut", () => {
    const stream = 'data: {"a":1}\n\ndata: {"b":2}\n\n';
    for (let cut = 0; cut <= stream.length; cut += 1) {
      const parser = new SseParser();
      const events = [...parser.push(stream.slice(0, cut)), ...parser.push(stream.slice(cut)), ...parser.end()];
      expect(events, `cut at ${cut}`).toEqual(['{"a":1}', '{"b":2}']);
    }
  });

  it("reads \\r\\n and \\r line ends (a \\r\\n split between pieces too), joins data lines, skips comments and other fields", () => {
    const parser = new SseParser();
    expect(parser.push(": keep-alive\r\nevent: x\r\nid: 7\r\ndata: one\r")).toEqual([]);
    // The last \r may be half of a \r\n: the blank line it makes is known only with the next piece.
    expect(parser.push("\ndata:two\r\r")).toEqual([]);
    expect(parser.push("data: three\n")).toEqual(["one\ntwo"]);
    expect(parser.end()).toEqual([]); // not closed by a blank line: dropped, as the standard says
  });
});

describe("parsePart", () => {
  it("reads [DONE] and the parts the widget uses, and skips what it cannot use", () => {
    expect(parsePart("[DONE]")).toEqual({ type: "done" });
    expect(parsePart('{"type":"text-delta","id":"t","delta":"hi"}')).toEqual({ type: "text-delta", id: "t", delta: "hi" });
    expect(parsePart('{"type":"error","errorText":"Cut short."}')).toEqual({ type: "error", errorText: "Cut short." });
    expect(parsePart('{"type":"data-error","data":{"code":"provider_error","detail":"x"},"transient":true}'))
      .toMatchObject({ type: "data-error", data: { code: "provider_error" } });
    expect(parsePart('{"type":"reasoning-delta","id":"r","delta":"…"}')).toBeNull(); // a part of a newer server
    expect(parsePart('{"type":"text-delta","id":"t"}')).toBeNull(); // without its delta
    expect(parsePart("{not json")).toBeNull();
    expect(parsePart('["type"]')).toBeNull();
  });
});

describe("readUiMessageStream", () => {
  it("reads a whole turn's parts in order, to [DONE]", async () => {
    const parts = await read([TURN]);
    expect(parts.map((p) => p.type)).toEqual([
      "start", "start-step", "tool-input-available", "tool-output-available", "text-start", "text-delta", "text-delta",
      "text-end", "finish-step", "message-metadata", "finish", "done",
    ]);
    expect(text(parts)).toBe("Grüße “quoted” 👋🏽 日本語.");
  });

  it("joins events and multi-byte characters cut across chunks of any size", async () => {
    for (const size of [1, 2, 3, 5, 7, 64]) {
      const parts = await read(byteChunks(TURN, size));
      expect(parts.length, `chunks of ${size} bytes`).toBe(12);
      expect(text(parts), `chunks of ${size} bytes`).toBe("Grüße “quoted” 👋🏽 日本語.");
    }
  });

  it("stops at [DONE] without reading the rest, and cancels the body", async () => {
    const body = new BodyWriter();
    body.write(sse({ type: "finish" }), DONE, sse({ type: "text-delta", id: "t", delta: "after" }));
    const parts: UiMessagePart[] = [];
    for await (const part of readUiMessageStream(body.stream)) parts.push(part);
    expect(parts.map((p) => p.type)).toEqual(["finish", "done"]);
    expect(body.cancelled).toBe(true);
  });

  it("passes error parts on, and ends with the body when it closes without [DONE]", async () => {
    const parts = await read([
      sse({ type: "start", messageMetadata: { session_id: "S1", user_message_id: "U1" } }),
      sse({ type: "data-error", data: { code: "provider_error", detail: "The model provider failed.", session_id: "S1" }, transient: true }),
      sse({ type: "error", errorText: "The model provider failed." }),
      sse({ type: "finish", finishReason: "error" }),
    ]);
    expect(parts.map((p) => p.type)).toEqual(["start", "data-error", "error", "finish"]);
  });

  it("rejects when the connection drops, after the parts that did arrive", async () => {
    const body = new BodyWriter();
    const parts = readUiMessageStream(body.stream);
    body.write(sse({ type: "text-delta", id: "t", delta: "half" }), "data: {\"type\":\"text-de");
    expect((await parts.next()).value).toEqual({ type: "text-delta", id: "t", delta: "half" });
    const rest = parts.next();
    body.fail(new TypeError("network error"));
    await expect(rest).rejects.toThrow("network error");
  });
});
