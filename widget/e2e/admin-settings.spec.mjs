// The demo's Tenant settings panel, in Chromium against the real local server: an admin opens its page, changes
// the messages per conversation and saves; GET /admin/config over HTTP then answers the new value and version. A change
// saved over HTTP meanwhile makes the next Save a 412: the panel says so and shows the values now in force. A support
// person without the admin role is told the settings are for administrators.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { eventually, launchBrowser, localServer, mintToken, screenshot, suiteParts, watchPageErrors } from "./harness.mjs";

const TIMEOUT = 20_000;

async function readConfig(server, token) {
  const response = await fetch(`${server.url}/api/v1/ai/admin/config`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200);
  return { config: await response.json(), etag: response.headers.get("etag") };
}

async function openStaffView(browser, server, token) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const errors = watchPageErrors(page);
  await page.goto(`${server.url}/#view=settings&token=${token}`);
  const panel = page.getByRole("region", { name: "Tenant settings" });
  await panel.waitFor();
  return { context, page, panel, errors };
}

describe("the demo's tenant settings panel, against the local server", () => {
  const parts = suiteParts({ server: () => localServer("plain"), browser: launchBrowser });

  it("an admin changes the messages per conversation; GET answers the new value; a change made meanwhile is a 412 that reloads", { timeout: 90_000 }, async () => {
    const tenant = "admin-settings";
    const token = await mintToken("boss", tenant, { admin: true });
    const before = await readConfig(parts.server, token);
    const { context, page, panel, errors } = await openStaffView(parts.browser, parts.server, token);
    const messages = panel.getByRole("spinbutton", { name: "Messages per conversation" });
    await panel.getByTestId("settings-etag").filter({ hasText: before.etag }).waitFor();
    assert.equal(await messages.inputValue(), String(before.config.max_messages_per_session));

    const wanted = before.config.max_messages_per_session === 40 ? 41 : 40;
    await messages.fill(String(wanted));
    await panel.getByRole("button", { name: "Save" }).click();
    await panel.getByRole("status").filter({ hasText: "Saved." }).waitFor();
    const after = await readConfig(parts.server, token);
    assert.equal(after.config.max_messages_per_session, wanted);
    assert.notEqual(after.etag, before.etag);
    const { max_messages_per_session: _changed, ...rest } = after.config;
    const { max_messages_per_session: _was, ...restBefore } = before.config;
    assert.deepEqual(rest, restBefore, "only the field changed was sent");
    assert.equal(await panel.getByTestId("settings-etag").innerText(), after.etag);

    // Another admin saves over HTTP; this page still holds the version it saved.
    const elsewhere = await fetch(`${parts.server.url}/api/v1/ai/admin/config`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/merge-patch+json", "If-Match": after.etag },
      body: JSON.stringify({ retention_days: 30 }),
    });
    assert.equal(elsewhere.status, 200);
    await messages.fill("25");
    await panel.getByRole("button", { name: "Save" }).click();
    const alert = panel.getByRole("alert");
    await alert.waitFor();
    assert.match(await alert.innerText(), /^Someone else changed the settings since you loaded them/);
    const retention = panel.getByRole("spinbutton", { name: "Keep conversations for (days)" });
    await eventually("the panel reloaded the values in force", async () => (await retention.inputValue()) === "30", TIMEOUT);
    assert.equal(await messages.inputValue(), String(wanted));
    assert.equal((await readConfig(parts.server, token)).config.max_messages_per_session, wanted, "the stale save was refused");
    await screenshot(page, "admin-settings-conflict");
    assert.deepEqual(errors, []);
    await context.close();
  });

  it("a support person without the admin role is told the settings are for administrators", { timeout: 60_000 }, async () => {
    const token = await mintToken("dana", "admin-settings-support", { staffName: "Dana Reyes" });
    const { context, page, panel, errors } = await openStaffView(parts.browser, parts.server, token);
    // Not an alert: the inbox's alerts stay the only ones on a support person's page.
    await panel.getByText(/^Tenant settings are for administrators/).waitFor();
    assert.equal(await page.getByRole("alert").count(), 0);
    assert.equal(await panel.getByRole("button", { name: "Save" }).count(), 0);
    assert.deepEqual(errors, []);
    await context.close();
  });
});
