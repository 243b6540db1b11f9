import { describe, expect, it } from "vitest";
import type { ChatResponseBody } from "./api-types";
import { ChatClient } from "./chat-client";
import { delta, DONE, endParts, FakeStreamApi, sse, startParts } from "./testing/fake-stream";
import { createFetchTransport } from "./transport";

/** A client streaming through the real fetch transport to a fake API, its ids and times fixed so runs compare. */
function setup() {
  const api = new FakeStreamApi();
  let n = 0;
  const client = new ChatClient({
    transport: createFetchTransport({ apiBaseUrl: "https://api.test", getToken: () => "tok", fetch: api.fetch }),
    storage: null,
    newId: () => `id${++n}`,
    now: () => new Date(0),
    recoveryDelays: [0],
  });
  return { api, client };
}

/** The client's state and answer after sending "hi" and streaming `body` back (the body left open unless it ends). */
async function streamed(body: string) {
  const { api, client } = setup();
  const sent = client.sendMessage("hi");
  sent.catch(() => undefined);
  const writer = await api.nextStream();
  writer.write(body);
  let reply: ChatResponseBody | null = null;
  let error: unknown = null;
  try {
    reply = await sent;
  } catch (e) {
    error = e;
  }
  return { reply, error, state: client.getSnapshot(), writer, api };
}

const providerError = "The AI provider failed to answer. Try again in a moment.";
const dataError = sse({ type: "data-error", data: { code: "provider_error", detail: providerError, session_id: "S1" }, transient: true });

describe("MessageDelivery reading a stream", () => {
  it("reads nothing after the first error part, as the AI SDK's chat: metadata and text after it change nothing", async () => {
    const { error, state, writer, api } = await streamed(
      startParts("S1", "U1") + delta("Half") + dataError + sse({ type: "error", errorText: providerError }) +
      // Were these read, the reply would be stored as M1 with more text.
      delta(" and more") +
      sse({ type: "message-metadata", messageMetadata: { session_id: "S1", message_id: "M1", stopped: "provider_error" } }) +
      sse({ type: "finish", finishReason: "error" }) + DONE,
    );
    expect(error).toMatchObject({ code: "provider_error", kind: "provider", message: providerError });
    expect(state.messages.map((m) => [m.role, m.status])).toEqual([["user", "failed"]]);
    expect(state).toMatchObject({ status: "error", failedAction: "send", canStop: false });
    expect(writer.cancelled).toBe(true);
    expect(api.requestsTo(/history/)).toEqual([]);
  });

  it("settles at the error part without waiting for the stream to end, and releases the body", async () => {
    // The body stays open: before, the client read on to a finish that never came.
    const { error, writer } = await streamed(startParts("S1", "U1") + dataError + sse({ type: "error", errorText: providerError }));
    expect(error).toMatchObject({ code: "provider_error" });
    expect(writer.cancelled).toBe(true);
  });

  it("keeps a cut reply stored before the error part as the metadata sent before it says, and no text after it", async () => {
    const { reply, state } = await streamed(
      startParts("S1", "U1") + delta("Half") + dataError +
      sse({ type: "message-metadata", messageMetadata: { session_id: "S1", message_id: "M1", stopped: "provider_error", estimated: true } }) +
      sse({ type: "error", errorText: providerError }) + delta(" more") + sse({ type: "finish", finishReason: "error" }) + DONE,
    );
    expect(reply).toMatchObject({ message: "Half", metadata: { message_id: "M1", stopped: "provider_error", estimated: true } });
    expect(state.messages.map((m) => [m.role, m.id, m.content, m.status, m.stopped])).toEqual([
      ["user", "local-id1", "hi", "sent", null], ["assistant", "M1", "Half", "sent", "provider_error"],
    ]);
    expect(state).toMatchObject({ status: "ready", error: null });
  });

  it("reads a body with a data-ending part and start's messageId exactly as one without", async () => {
    const plain = startParts("S1", "U1") + delta("Stopped here") + endParts("S1", "M1", { stopped: "stopped", estimated: true });
    const withEnding = plain
      .replace('{"type":"start",', '{"type":"start","messageId":"M1",')
      .replace('data: {"type":"message-metadata"', `${sse({ type: "data-ending", data: { code: "stopped" } })}data: {"type":"message-metadata"`);
    expect(withEnding).not.toBe(plain);
    expect(withEnding).toContain('"messageId":"M1"');
    expect(withEnding.indexOf("data-ending")).toBeLessThan(withEnding.indexOf("message-metadata"));
    const [a, b] = await Promise.all([streamed(plain), streamed(withEnding)]);
    expect(b.reply).toEqual(a.reply);
    expect(b.state).toEqual(a.state);
    expect(a.reply).toMatchObject({ message: "Stopped here", metadata: { message_id: "M1", stopped: "stopped" } });
  });
});
