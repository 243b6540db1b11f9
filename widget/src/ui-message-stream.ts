/**
 * The AI SDK's UI message stream (protocol v1) as POST /chat/stream sends it: Server-Sent Events whose `data` is one
 * JSON part each, ending with `data: [DONE]`. Read from a fetch body as it arrives, with no dependency: bytes are
 * decoded as a stream (a character split across chunks is joined), events are cut at blank lines wherever the
 * chunks end, and each event's data becomes a part. Parts of types the widget does not know are skipped, as a
 * newer server may send more.
 */

/** `start`'s and `message-metadata`'s messageMetadata: the ids, then the usage (POST /chat's metadata). */
export interface StreamMetadata {
  session_id?: string;
  user_message_id?: string;
  message_id?: string;
  tokens?: number;
  input_tokens?: number;
  output_tokens?: number;
  cost_cents?: number;
  model?: string;
  provider?: string;
  truncated?: boolean;
  stopped?: string | null;
  estimated?: boolean;
}

/** The parts the widget reads; `done` stands for the `[DONE]` that ends the stream. */
export type UiMessagePart =
  | { type: "start"; messageMetadata?: StreamMetadata }
  | { type: "start-step" }
  | { type: "finish-step" }
  | { type: "text-start"; id: string }
  | { type: "text-delta"; id: string; delta: string }
  | { type: "text-end"; id: string }
  | { type: "tool-input-available"; toolCallId: string; toolName: string; input: unknown; dynamic?: boolean }
  | { type: "tool-output-available"; toolCallId: string; output: unknown }
  | { type: "tool-output-error"; toolCallId: string; errorText: string }
  | { type: "message-metadata"; messageMetadata: StreamMetadata }
  | { type: "error"; errorText: string }
  | { type: "data-error"; data: { code?: string; detail?: string; session_id?: string | null }; transient?: boolean }
  | { type: "finish"; finishReason?: string }
  | { type: "done" };

type PartType = UiMessagePart["type"];

/** What each known part must carry, as [field, typeof] pairs; a part without them is not one the widget can use. */
const REQUIRED: Readonly<Record<Exclude<PartType, "done">, ReadonlyArray<readonly [string, string]>>> = {
  start: [],
  "start-step": [],
  "finish-step": [],
  "text-start": [["id", "string"]],
  "text-delta": [["id", "string"], ["delta", "string"]],
  "text-end": [["id", "string"]],
  "tool-input-available": [["toolCallId", "string"], ["toolName", "string"]],
  "tool-output-available": [["toolCallId", "string"]],
  "tool-output-error": [["toolCallId", "string"], ["errorText", "string"]],
  "message-metadata": [["messageMetadata", "object"]],
  error: [["errorText", "string"]],
  "data-error": [["data", "object"]],
  finish: [],
};

/**
 * Server-Sent Events, cut from text that arrives in pieces: push() each piece, get back the `data` of every event
 * it completed (an event's data lines joined by newlines; comments and other fields skipped). Line ends may be
 * \n, \r\n or \r, also when a \r\n is split between two pieces.
 */
export class SseParser {
  private buffer = "";
  private data: string[] = [];
  private hasData = false;

  push(text: string): string[] {
    this.buffer += text;
    const events: string[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i += 1) {
      const ch = this.buffer[i];
      if (ch !== "\n" && ch !== "\r") continue;
      // A \r at the very end may be the first half of a \r\n: wait for the next piece to know.
      if (ch === "\r" && i === this.buffer.length - 1) break;
      const line = this.buffer.slice(start, i);
      if (ch === "\r" && this.buffer[i + 1] === "\n") i += 1;
      start = i + 1;
      const event = this.line(line);
      if (event !== null) events.push(event);
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  /** The end of the text: as the SSE standard says, an event not closed by a blank line is dropped. */
  end(): string[] {
    const events = this.buffer.endsWith("\r") ? this.push("\n") : [];
    this.buffer = "";
    this.data = [];
    this.hasData = false;
    return events;
  }

  private line(line: string): string | null {
    if (line === "") {
      if (!this.hasData) return null;
      const event = this.data.join("\n");
      this.data = [];
      this.hasData = false;
      return event;
    }
    if (line.startsWith(":")) return null; // a comment (a keep-alive)
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") {
      this.data.push(value);
      this.hasData = true;
    }
    return null;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** One event's data as a part: `[DONE]` as `done`; null for data that is not JSON or not a part the widget reads. */
export function parsePart(data: string): UiMessagePart | null {
  if (data.trim() === "[DONE]") return { type: "done" };
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isObject(value) || typeof value.type !== "string" || !Object.hasOwn(REQUIRED, value.type)) return null;
  const required = REQUIRED[value.type as Exclude<PartType, "done">];
  const complete = required.every(([name, kind]) =>
    kind === "object" ? isObject(value[name]) : typeof value[name] === kind);
  return complete ? (value as UiMessagePart) : null;
}

/**
 * The parts of a UI message stream, read from a fetch body as they arrive; ends after `done` (the body's rest is
 * not read) or with the body. A body that fails (the connection dropped, or the request was aborted) rejects the
 * iteration with that error. Leaving the loop early cancels the body.
 */
export async function* readUiMessageStream(body: ReadableStream<Uint8Array>): AsyncGenerator<UiMessagePart, void> {
  const reader = body.getReader();
  const decoder = new TextDecoder("utf-8");
  const parser = new SseParser();
  try {
    while (true) {
      const { done, value } = await reader.read();
      const events = done
        ? [...parser.push(decoder.decode()), ...parser.end()]
        : parser.push(decoder.decode(value, { stream: true }));
      for (const event of events) {
        const part = parsePart(event);
        if (part === null) continue;
        yield part;
        if (part.type === "done") return;
      }
      if (done) return;
    }
  } finally {
    // Done, left early or failed: give the connection back (cancelling a failed body rejects; that is no news).
    reader.cancel().catch(() => undefined);
  }
}
