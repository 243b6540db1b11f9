import { describe, expect, it } from "vitest";
import { describeFunctionCall } from "./function-calls";
import { escalationCall, fakeCall, ticketCall } from "./testing/fake-transport";

describe("describeFunctionCall", () => {
  it("says what each kind of call did", () => {
    expect(describeFunctionCall(ticketCall("Router keeps rebooting", "urgent"))).toBe("Ticket created: Router keeps rebooting (urgent)");
    expect(describeFunctionCall(escalationCall("Billing dispute"))).toBe("Handed over to a person: Billing dispute");
    expect(describeFunctionCall(fakeCall("lookup_order", { id: 1 }, { found: true }))).toBe("lookup_order done");
    expect(describeFunctionCall(fakeCall("create_ticket", { title: "x" }, { error: "Priority is required." }, "error")))
      .toBe("create_ticket failed: Priority is required.");
  });

  it("takes a ticket from what was stored, then from the arguments, and copes with neither", () => {
    const stored = fakeCall("create_ticket", { title: " asked ", priority: "low" }, { id: "T1", title: "Stored", priority: "high" });
    expect(describeFunctionCall(stored)).toBe("Ticket created: Stored (high)");
    expect(describeFunctionCall(fakeCall("create_ticket", { title: "Asked", priority: "low" }, { id: "T1" })))
      .toBe("Ticket created: Asked (low)");
    expect(describeFunctionCall(fakeCall("create_ticket", "not json", { id: "T1", title: 7 }))).toBe("Ticket created");
  });

  it("reads an error given as {message}, and says only 'failed' when there is no readable reason", () => {
    expect(describeFunctionCall(fakeCall("t", {}, { error: { message: "Timed out." } }, "error"))).toBe("t failed: Timed out.");
    expect(describeFunctionCall(fakeCall("t", {}, { error: 42 }, "error"))).toBe("t failed");
    expect(describeFunctionCall(fakeCall("t", {}, {}, "error"))).toBe("t failed");
    expect(describeFunctionCall(fakeCall("escalate_to_human", "{oops", { status: "escalated" }))).toBe("Handed over to a person");
  });
});
