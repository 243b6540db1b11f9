// The agent inbox's Take and the waiting entry's context, in Chromium against the real local server: a customer's
// widget sends a context and asks for a person; two people of the support team see the context in their inboxes
// and press Take at the same moment: one takes the conversation (the customer sees them join), the other is told who
// has it, and neither inbox offers Take again.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  api, eventually, launchBrowser, localServer, mintToken, openDemo, openInbox, openPanel, suiteParts,
} from "./harness.mjs";

const TIMEOUT = 20_000; // the widget and the inbox each look every 4 s
const CONTEXT = { currentPage: "billing", plan: "pro", note: "<b>not markup</b>" };

describe("the inbox's Take and context, two staff against one local server", () => {
  const parts = suiteParts({ server: () => localServer("plain"), browser: launchBrowser });

  it("both see the customer's context; both press Take at once: one takes it, the other is told who has it", { timeout: 120_000 }, async () => {
    const tenant = "inbox-take";
    const token = await mintToken("carol", tenant);
    const customerContext = await parts.browser.newContext({ viewport: { width: 1100, height: 760 } });
    await customerContext.addInitScript((context) => {
      window.AIChatDemo = { context };
    }, CONTEXT);
    const { page: customer, errors: customerErrors } = await openDemo(customerContext, parts.server, token, TIMEOUT);
    await openPanel(customer);
    const box = customer.getByRole("textbox", { name: "Message" });
    await box.fill("My bill doubled this month");
    await box.press("Enter");
    await customer.locator('.msg[data-role="assistant"][data-status="sent"]').first().waitFor();
    await customer.getByRole("button", { name: "Talk to a person" }).click();
    const form = customer.getByRole("form", { name: "Talk to a person" });
    await form.getByRole("textbox").fill("Billing dispute");
    await form.getByRole("button", { name: "Ask for a person" }).click();
    await customer.getByRole("status").filter({ hasText: "A person will reply here." }).waitFor();

    const staff = [];
    for (const [user, name] of [["dana", "Dana Reyes"], ["sam", "Sam Support"]]) {
      const context = await parts.browser.newContext({ viewport: { width: 1200, height: 800 } });
      staff.push({ name, context, ...(await openInbox(context, parts.server, await mintToken(user, tenant, { staffName: name }), { timeout: TIMEOUT })) });
    }
    for (const { page } of staff) {
      const entry = page.getByRole("list", { name: "Waiting conversations" }).getByRole("button").filter({ hasText: "Billing dispute" });
      await entry.waitFor();
      assert.deepEqual(await entry.locator(".inbox-context-pair").allTextContents(),
        Object.entries(CONTEXT).map(([key, value]) => `${key} ${value}`));
      assert.equal(await entry.locator("b").count(), 0, "the value is text, never markup");
      await entry.click();
      const details = page.locator(".inbox-conversation dl");
      await details.waitFor();
      const pairs = await details.locator("div").evaluateAll((rows) => rows.map((row) =>
        [row.querySelector("dt").textContent, row.querySelector("dd").textContent]));
      assert.deepEqual(pairs, Object.entries(CONTEXT));
      await page.getByRole("button", { name: "Take conversation" }).waitFor();
    }

    // The same moment: both clicks are sent before either answer is read.
    await Promise.all(staff.map(({ page }) => page.getByRole("button", { name: "Take conversation" }).click()));
    const sessionId = await customer.evaluate(() => localStorage.getItem("ai-chat:session:customer_support"));
    // A click resolves once dispatched; the take's answer comes later.
    const history = await eventually("someone took the session", async () => {
      const read = await api(parts.server, token, "GET", `/sessions/${sessionId}/history`);
      return read.body.metadata.taken_by_name ? read : null;
    });
    const taker = history.body.metadata.taken_by_name;
    assert.ok(["Dana Reyes", "Sam Support"].includes(taker), JSON.stringify(history.body.metadata));
    const joined = history.body.messages.filter((m) => m.handoff === "joined");
    assert.equal(joined.length, 1, "one taker, one joined marker");

    const winner = staff.find((s) => s.name === taker);
    const loser = staff.find((s) => s.name !== taker);
    await winner.page.getByText(`${taker} has this conversation`).waitFor();
    await winner.page.getByRole("log", { name: "Conversation" }).getByText(`${taker} joined the conversation.`).waitFor();
    assert.equal(await winner.page.getByRole("alert").count(), 0);
    const refusal = loser.page.getByRole("alert");
    await refusal.waitFor();
    assert.match(await refusal.innerText(), new RegExp(`^${taker} has already taken this conversation`));
    await loser.page.getByText(`${taker} has this conversation`).waitFor();
    for (const { page } of staff) {
      assert.equal(await page.getByRole("button", { name: "Take conversation" }).count(), 0, "Take is not offered again");
      await page.getByRole("list", { name: "Waiting conversations" }).getByRole("button")
        .filter({ hasText: `taken by ${taker}` }).waitFor();
    }

    // The customer sees who took it, before anyone wrote a word.
    await customer.locator(".handoff-marker").filter({ hasText: `${taker} joined the conversation.` }).waitFor();
    await customer.getByRole("status").filter({ hasText: `${taker} is answering.` }).waitFor();
    assert.deepEqual(customerErrors, []);
    for (const { errors } of staff) assert.deepEqual(errors, []);
    await Promise.all([customerContext.close(), ...staff.map(({ context }) => context.close())]);
  });
});
