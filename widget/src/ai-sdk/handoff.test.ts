import { describe, expect, it } from "vitest";
import type { HistoryBody, HistoryMessageBody, SessionBody } from "../api-types";
import { followHandoff } from "./handoff";
import type { BackendUIMessage } from "./messages";

const session = (status: SessionBody["status"]): SessionBody =>
  ({ id: "S1", status, session_type: "customer_support", created_at: "", updated_at: "", message_count: 2 }) as SessionBody;
const agent = (id: string, content: string): HistoryMessageBody =>
  ({ id, role: "agent", content, created_at: "", tokens: 0, status: "ok", agent_name: "Dana Reyes" }) as HistoryMessageBody;
const page = (status: SessionBody["status"], messages: HistoryMessageBody[], nextAfter: string | null = null): HistoryBody =>
  ({ session_id: "S1", messages, metadata: session(status), next_cursor: null, next_after: nextAfter }) as HistoryBody;

function pages(...answers: HistoryBody[]) {
  const urls: string[] = [];
  const fetch = (async (input: RequestInfo | URL) => {
    urls.push(String(input));
    const answer = answers.shift();
    if (!answer) throw new Error("no page queued");
    return new Response(JSON.stringify(answer), { status: 200, headers: { "content-type": "application/json" } });
  }) as typeof globalThis.fetch;
  return { fetch, urls };
}

const until = async (condition: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
};

describe("followHandoff", () => {
  it("hands each look's new messages over while escalated, after the newest it has, and stops once handed back", async () => {
    const { fetch, urls } = pages(
      page("escalated", [agent("01M8SS0000000000000000000E", "Dana here.")]),
      page("escalated", [agent("01M8SS0000000000000000000F", "One"), agent("01M8SS0000000000000000000G", "Two")], "01M8SS0000000000000000000G"),
      page("escalated", []),
      page("active", [agent("01M8SS0000000000000000000H", "Dana Reyes left the conversation.")]),
    );
    const seen: BackendUIMessage[][] = [];
    followHandoff({
      apiBaseUrl: "https://api.test", token: "t", sessionId: "S1", after: "01M8SS0000000000000000000D", everyMs: 5,
      fetch, onMessages: (messages) => seen.push(messages),
    });
    await until(() => urls.length === 4);
    await new Promise((resolve) => setTimeout(resolve, 30));

    expect(urls).toEqual([
      "https://api.test/api/v1/ai/sessions/S1/history?after=01M8SS0000000000000000000D",
      "https://api.test/api/v1/ai/sessions/S1/history?after=01M8SS0000000000000000000E",
      "https://api.test/api/v1/ai/sessions/S1/history?after=01M8SS0000000000000000000G",
      "https://api.test/api/v1/ai/sessions/S1/history?after=01M8SS0000000000000000000G",
    ]);
    expect(seen.map((batch) => batch.map((m) => m.parts))).toEqual([
      [[{ type: "text", text: "Dana here.", state: "done" }]],
      [[{ type: "text", text: "One", state: "done" }], [{ type: "text", text: "Two", state: "done" }]],
      [[{ type: "text", text: "Dana Reyes left the conversation.", state: "done" }]],
    ]);
    expect(seen[0]![0]!.metadata?.author).toEqual({ kind: "person", name: "Dana Reyes" });
  });

  it("stops looking when told to", async () => {
    const { fetch, urls } = pages(page("escalated", []), page("escalated", []));
    const stop = followHandoff({ token: "t", sessionId: "S1", everyMs: 5, fetch, onMessages: () => undefined });
    await until(() => urls.length === 1);
    stop();
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(urls).toHaveLength(1);
  });
});
