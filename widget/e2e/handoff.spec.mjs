// A person takes over, in two browser pages against one local server: the customer's widget on the demo page and the
// agent inbox on its staff view (/#view=staff). Each side's message must appear on the other, and a hand back to the
// AI must bring the model's answers back to the customer.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import {
  api, launchBrowser, localServer, mintToken, offlineReply, screenshot, suiteParts, watchPageErrors,
} from "./harness.mjs";

const TIMEOUT = 20_000; // the widget and the inbox each look every 4 s

describe("the handoff, customer and staff side by side", () => {
  const parts = suiteParts({ server: () => localServer("plain"), browser: launchBrowser });
  let customer;
  let staff;
  let customerErrors;
  let staffErrors;
  let token;

  before(async () => {
    // A tenant of its own: its inbox is to be empty once the conversation is handed back.
    token = await mintToken("carol", "handoff");
    const dana = await mintToken("dana", "handoff", { staffName: "Dana Reyes" });
    customer = await (await parts.browser.newContext({ viewport: { width: 1100, height: 760 } })).newPage();
    staff = await (await parts.browser.newContext({ viewport: { width: 1200, height: 800 } })).newPage();
    for (const page of [customer, staff]) page.setDefaultTimeout(TIMEOUT);
    customerErrors = watchPageErrors(customer);
    staffErrors = watchPageErrors(staff);
    await customer.goto(`${parts.server.url}/#token=${token}`);
    await staff.goto(`${parts.server.url}/#view=staff&token=${dana}`);
  });

  it("a customer who asks for a person shows up in the inbox with their reason and their message", async () => {
    await customer.getByRole("button", { name: "Open AI assistant" }).click();
    const box = customer.getByRole("textbox", { name: "Message" });
    await box.fill("My bill doubled this month");
    await box.press("Enter");
    await customer.locator('.msg[data-role="assistant"][data-status="sent"]').first().waitFor();
    await customer.getByRole("button", { name: "Talk to a person" }).click();
    const form = customer.getByRole("form", { name: "Talk to a person" });
    await form.getByRole("textbox").fill("Billing dispute");
    await form.getByRole("button", { name: "Ask for a person" }).click();
    await customer.getByRole("status").filter({ hasText: "A person will reply here." }).waitFor();
    await box.fill("Hello? I was charged twice.");
    await box.press("Enter");

    const entry = staff.getByRole("list", { name: "Waiting conversations" }).getByRole("button")
      .filter({ hasText: "Billing dispute" });
    await entry.filter({ hasText: "Hello? I was charged twice." }).waitFor();
    await entry.click();
    const log = staff.getByRole("log", { name: "Conversation" });
    await log.getByText("Hello? I was charged twice.", { exact: true }).waitFor();
    await log.getByText("My bill doubled this month", { exact: true }).waitFor();
    assert.ok(await log.locator('[data-role="assistant"]').count() >= 1, "the AI's part of the conversation too");
  });

  it("the person's reply appears in the customer's widget under their name, and the customer's answer in the inbox", async () => {
    const reply = staff.getByRole("textbox", { name: "Your reply" });
    await reply.fill("Hi, Dana here. I can see both charges; refunding one now.");
    await reply.press("Enter");
    await staff.getByText("Dana Reyes has this conversation").waitFor();

    const bubble = customer.locator('.msg[data-role="agent"]').filter({ hasText: "refunding one now" });
    await bubble.waitFor();
    assert.equal(await bubble.locator(".agent-name").innerText(), "Dana Reyes (support team)");
    await customer.locator(".handoff-marker").filter({ hasText: "Dana Reyes joined the conversation." }).waitFor();

    const box = customer.getByRole("textbox", { name: "Message" });
    await box.fill("Thank you, Dana!");
    await box.press("Enter");
    await staff.getByRole("log", { name: "Conversation" }).getByText("Thank you, Dana!").waitFor();
    await screenshot(customer, "handoff-customer");
    await screenshot(staff, "handoff-inbox");
  });

  it("handed back to the AI, the customer sees the person leave and the model answers again", async () => {
    await staff.getByRole("button", { name: "Hand back to AI" }).click();
    await staff.getByText("Handed back to the assistant").waitFor();
    await customer.locator(".handoff-marker")
      .filter({ hasText: "Dana Reyes handed the conversation back to the assistant." }).waitFor();

    const answers = await customer.locator('.msg[data-role="assistant"][data-status="sent"]').count();
    const box = customer.getByRole("textbox", { name: "Message" });
    await box.fill("One more question");
    await box.press("Enter");
    const answer = customer.locator('.msg[data-role="assistant"][data-status="sent"]').nth(answers);
    await answer.waitFor();
    const sessionId = await customer.evaluate(() => localStorage.getItem("ai-chat:session:customer_support"));
    const history = await api(parts.server, token, "GET", `/sessions/${sessionId}/history`);
    const earlier = history.body.messages.filter((m) => m.role === "user").length - 1;
    assert.equal((await answer.locator(".bubble").innerText()).trim(), offlineReply("One more question", earlier));
    assert.equal(history.body.metadata.status, "active");
    await staff.getByText("Nobody is waiting.").waitFor();
    assert.deepEqual(customerErrors, []);
    assert.deepEqual(staffErrors, []);
  });
});
