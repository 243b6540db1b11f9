// Delete conversation, in Chromium against the real local server: chat once, ask to delete (Escape cancels, nothing
// sent), delete, and the widget is empty with nothing stored; the server has no such session any more, and the next
// message starts a new one.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  api, launchBrowser, localServer, mintToken, offlineReply, openDemo, openPanel, screenshot, suiteParts,
} from "./harness.mjs";

const TIMEOUT = 20_000;
const SESSION_KEY = "ai-chat:session:customer_support";

async function send(page, text) {
  const box = page.getByRole("textbox", { name: "Message" });
  await box.fill(text);
  await box.press("Enter");
}

/** Whether `locator`'s element has the focus (in the widget's shadow root). */
const focused = (locator) => locator.evaluate((el) => el.getRootNode().activeElement === el);

const stored = (page) => page.evaluate((key) => localStorage.getItem(key), SESSION_KEY);

describe("Delete conversation", () => {
  const parts = suiteParts({ server: () => localServer("plain"), browser: launchBrowser });

  it("asks in the panel, deletes the session on the server, and the next message starts a new one", { timeout: 90_000 }, async () => {
    const token = await mintToken("dora", "delete");
    const context = await parts.browser.newContext({ viewport: { width: 1100, height: 760 } });
    try {
      const { page, errors } = await openDemo(context, parts.server, token, TIMEOUT);
      await openPanel(page);
      await send(page, "Please forget this");
      await page.locator('.msg[data-role="assistant"][data-status="sent"]').waitFor();
      const old = await stored(page);
      assert.ok(old, "the session is stored");

      const button = page.getByRole("button", { name: "Delete conversation" });
      await button.click();
      const dialog = page.getByRole("alertdialog", { name: "Delete this conversation?" });
      await dialog.waitFor();
      assert.ok(await focused(dialog.getByRole("button", { name: "Cancel" })), "focus is on Cancel");
      await page.keyboard.press("Escape");
      await dialog.waitFor({ state: "detached" });
      assert.ok(await focused(button), "focus is back on the button");
      assert.equal(await page.getByRole("log", { name: "Conversation" }).isVisible(), true, "Escape did not minimise");
      assert.equal((await api(parts.server, token, "GET", `/sessions/${old}/history`)).status, 200);

      await button.click();
      await dialog.waitFor();
      await screenshot(page, "delete-confirm");
      await dialog.getByRole("button", { name: "Delete" }).click();
      await page.getByRole("status").filter({ hasText: "The conversation was deleted." }).waitFor();
      assert.equal(await page.locator(".msg").count(), 0);
      assert.equal(await stored(page), null, "the stored id is forgotten");
      assert.equal(await button.count(), 0, "nothing left to delete");
      assert.ok(await focused(page.getByRole("textbox", { name: "Message" })));

      const gone = await api(parts.server, token, "GET", `/sessions/${old}/history`);
      assert.equal(gone.status, 404);
      assert.equal(gone.body.code, "session_not_found");
      const listed = await api(parts.server, token, "GET", "/sessions/my");
      assert.deepEqual(listed.body.map((s) => s.id), []);

      await send(page, "A fresh start");
      const reply = page.locator('.msg[data-role="assistant"][data-status="sent"]');
      await reply.waitFor();
      // The offline model counts the user's earlier messages in the session: none, so it is a new one.
      assert.equal((await reply.locator(".bubble").innerText()).trim(), offlineReply("A fresh start", 0));
      const fresh = await stored(page);
      assert.ok(fresh && fresh !== old, "a new session");
      const history = await api(parts.server, token, "GET", `/sessions/${fresh}/history`);
      assert.deepEqual(history.body.messages.filter((m) => m.role === "user").map((m) => m.content), ["A fresh start"]);
      assert.deepEqual((await api(parts.server, token, "GET", "/sessions/my")).body.map((s) => s.id), [fresh]);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
});
