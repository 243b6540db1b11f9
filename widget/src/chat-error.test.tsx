import { act, fireEvent, render, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AIChatWidget } from "./ai-chat-widget";
import type { ErrorBody } from "./api-types";
import { ChatApiError } from "./chat-error";
import { FakeTransport, MemoryStorage } from "./testing/fake-transport";
import { createFetchTransport } from "./transport";

const THROTTLED = "The chat service is receiving too many requests right now. Wait a few seconds and try again.";

/** What API Gateway answers past the stack's route throttling (ApiThrottlingRateLimit / ApiThrottlingBurstLimit). */
function apiGatewayThrottled(): Response {
  return new Response(JSON.stringify({ message: "Too Many Requests" }), {
    status: 429, headers: { "content-type": "application/json" },
  });
}

/** The error the real fetch transport makes of API Gateway's 429. */
async function throttledError(): Promise<ChatApiError> {
  const fetchMock = vi.fn(async () => apiGatewayThrottled());
  const transport = createFetchTransport({ apiBaseUrl: "https://api.test", getToken: () => "t", fetch: fetchMock as typeof fetch });
  const error = await transport.chat({ message: "x", session_id: null }, { idempotencyKey: "k" }).catch((e: unknown) => e);
  if (!(error instanceof ChatApiError)) throw new Error(`expected a ChatApiError, got ${String(error)}`);
  return error;
}

afterEach(() => {
  document.body.innerHTML = "";
});

describe("ChatApiError", () => {
  it("does not offer to withdraw again an escalation a person already took", () => {
    const taken = new ChatApiError(409, { code: "escalation_taken", detail: "Dana has already taken this conversation." });
    expect([taken.retryable, taken.message]).toEqual([false, "Dana has already taken this conversation."]);
    expect(new ChatApiError(409, { code: "request_in_progress" }).retryable).toBe(true);
  });

  it("takes a session_not_active error's status only when it is one of the API's session statuses", () => {
    const closed = (status: unknown) =>
      new ChatApiError(400, { code: "session_not_active", detail: "Closed.", status } as Partial<ErrorBody>).sessionStatus;
    expect(closed("escalated")).toBe("escalated");
    expect(closed("completed")).toBe("completed");
    expect(closed("archived")).toBeNull();
    expect(closed("constructor")).toBeNull();
    expect(closed(null)).toBeNull();
    expect(closed(7)).toBeNull();
  });
});

describe("API Gateway's throttling (429)", () => {
  it("becomes a retryable error with a sentence of its own, not the gateway's bare body", async () => {
    const error = await throttledError();
    expect(error).toMatchObject({ status: 429, code: "http_429", kind: "throttled", retryable: true, message: THROTTLED });
    expect(error.message).not.toContain("Too Many Requests");
  });

  it("keeps the API's own sentence and code when a 429 carries them", () => {
    const error = new ChatApiError(429, { code: "slow_down", detail: "Slow down a little." });
    expect(error).toMatchObject({ kind: "throttled", retryable: true, code: "slow_down", message: "Slow down a little." });
  });

  it("is said in the widget's alert, and Try again sends the message once the gateway lets it through", async () => {
    const transport = new FakeTransport();
    transport.failNext("chat", await throttledError());
    render(<AIChatWidget transport={transport} storage={new MemoryStorage()} defaultOpen />);
    const root = document.querySelector("[data-ai-chat-widget]")?.shadowRoot;
    if (!root) throw new Error("the widget has not mounted");
    const ui = within(root as unknown as HTMLElement);

    const input = ui.getByRole("textbox", { name: "Message" });
    fireEvent.change(input, { target: { value: "Hello" } });
    await act(async () => {
      fireEvent.keyDown(input, { key: "Enter" });
    });
    const alert = await ui.findByRole("alert");
    expect(alert.textContent).toContain(THROTTLED);
    expect(alert.getAttribute("data-code")).toBe("http_429");
    await act(async () => {
      fireEvent.click(within(alert).getByRole("button", { name: "Try again" }));
    });
    await waitFor(() => expect(ui.getByText("Echo: Hello")).toBeTruthy());
    expect(ui.queryByRole("alert")).toBeNull();
  });
});
