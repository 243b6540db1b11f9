// Resume across browsers, in Chromium against the real local server: the same user (one token) in two browser
// contexts, each with its own storage. The first chats; the second, with `resume` and nothing stored, opens on the
// first one's conversation and goes on in it; then, escalated in one, the other resumes it with the person.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { api, launchBrowser, localServer, mintToken, openDemo, openPanel, suiteParts } from "./harness.mjs";

const TIMEOUT = 20_000;
const SESSION_KEY = "ai-chat:session:customer_support";

/** A browser context of its own (its own localStorage) on the demo page, the widget with `resume`. */
async function resumingBrowser(browser, server, token) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  await context.addInitScript(() => {
    window.AIChatDemo = { resume: true };
  });
  return { context, ...(await openDemo(context, server, token, TIMEOUT)) };
}

async function send(page, text) {
  const box = page.getByRole("textbox", { name: "Message" });
  await box.fill(text);
  await box.press("Enter");
}

describe("resume, the same user in two browsers", () => {
  const parts = suiteParts({ server: () => localServer("plain"), browser: launchBrowser });

  it("the second browser opens on the first one's conversation, and both go on in one session", { timeout: 90_000 }, async () => {
    const token = await mintToken("rosa", "resume");
    // An older conversation, closed, and one of another type: neither is the one to go on with.
    const old = await api(parts.server, token, "POST", "/chat", { message: "An old question", session_id: null });
    await api(parts.server, token, "POST", "/chat", { message: "Numbers please", session_id: null, session_type: "analytics" });
    const first = await resumingBrowser(parts.browser, parts.server, token);
    const second = await resumingBrowser(parts.browser, parts.server, token);
    try {
      // The first browser has nothing stored either: it resumes the latest open one, the old conversation.
      await openPanel(first.page);
      await first.page.locator(".msg").filter({ hasText: "An old question" }).first().waitFor();
      assert.equal(await first.page.evaluate((key) => localStorage.getItem(key), SESSION_KEY), old.body.session_id);
      await first.page.getByRole("button", { name: "Start a new conversation" }).click();
      await send(first.page, "My parcel never arrived");
      await first.page.locator('.msg[data-role="assistant"][data-status="sent"]').waitFor();
      const id = await first.page.evaluate((key) => localStorage.getItem(key), SESSION_KEY);
      assert.notEqual(id, old.body.session_id);

      assert.equal(await second.page.evaluate((key) => localStorage.getItem(key), SESSION_KEY), null, "nothing stored");
      await openPanel(second.page);
      await second.page.locator(".msg").filter({ hasText: "My parcel never arrived" }).first().waitFor();
      assert.equal(await second.page.evaluate((key) => localStorage.getItem(key), SESSION_KEY), id, "kept as if stored");
      assert.equal(await second.page.locator(".msg").filter({ hasText: "An old question" }).count(), 0);
      await send(second.page, "It was due on Monday");
      await second.page.locator('.msg[data-role="assistant"][data-status="sent"]').nth(1).waitFor();
      const history = await api(parts.server, token, "GET", `/sessions/${id}/history`);
      assert.deepEqual(history.body.messages.filter((m) => m.role === "user").map((m) => m.content),
        ["My parcel never arrived", "It was due on Monday"]);

      // Escalated in the second browser, a third one resumes it with the request for a person standing.
      await second.page.getByRole("button", { name: "Talk to a person" }).click();
      const form = second.page.getByRole("form", { name: "Talk to a person" });
      await form.getByRole("button", { name: "Ask for a person" }).click();
      await second.page.getByRole("status").filter({ hasText: "A person will reply here." }).waitFor();
      const third = await resumingBrowser(parts.browser, parts.server, token);
      try {
        await openPanel(third.page);
        await third.page.getByRole("status").filter({ hasText: "A person will reply here." }).waitFor();
        await third.page.locator(".msg").filter({ hasText: "It was due on Monday" }).first().waitFor();
        assert.deepEqual(third.errors, []);
      } finally {
        await third.context.close();
      }
      assert.deepEqual(first.errors, []);
      assert.deepEqual(second.errors, []);
    } finally {
      await Promise.all([first.context.close(), second.context.close()]);
    }
  });
});
