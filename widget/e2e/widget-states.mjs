// The states of the customer's widget that the accessibility spec walks, in English and in German, on the local
// server's demo page: closed, open, streaming, stopped, a tool call, rated, the escalate form, waiting for a person,
// a person's reply, handed back; and, on a server that refuses a session's second chat, refused. Controls are found
// by their names in `labels` (the widget's, English or another locale's), so the same walk serves any locale.
import assert from "node:assert/strict";
import { api, eventually, mintToken, watchPageErrors } from "./harness.mjs";

export const SESSION_KEY = "ai-chat:session:customer_support";

/**
 * The demo page with `config` merged into its settings (window.AIChatDemo), its launcher (named in `labels`) shown,
 * each wait at most `timeout` ms: the page and the list of its errors.
 */
export async function openDemoWith(context, server, token, config, labels, timeout) {
  await context.addInitScript((chosen) => {
    window.AIChatDemo = chosen;
  }, config);
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  const errors = watchPageErrors(page);
  await page.goto(`${server.url}/#token=${token}`);
  await page.getByRole("button", { name: labels.openLauncher(labels.title) }).waitFor();
  return { page, errors };
}

/** Type `text` into the message box and press Enter. */
export async function send(page, labels, text) {
  await page.getByRole("textbox", { name: labels.messageBox }).fill(text);
  await page.getByRole("textbox", { name: labels.messageBox }).press("Enter");
}

/** Open the panel from the launcher, and wait for its conversation log. */
export async function openPanelIn(page, labels) {
  await page.getByRole("button", { name: labels.openLauncher(labels.title) }).click();
  await page.getByRole("log", { name: labels.conversation }).waitFor();
}

/**
 * Walk the widget on `page` (the demo page, its launcher shown; the server's replies streaming a word every 0.3 s)
 * from closed to handed back, calling `visit(state)` in each state; `staffToken` is a person of the support team of
 * the same tenant, who answers and hands back over the API.
 */
export async function walkWidgetStates({ page, server, staffToken, labels, visit }) {
  await visit("closed");

  await openPanelIn(page, labels);
  await visit("open");

  // The reply echoes it: ~40 words, 12 s, still streaming when visited (and stopped) on a busy machine.
  await send(page, labels, "Tell me a long story, one about a lighthouse keeper, her cat, and the winter the lamp went out");
  const streaming = page.locator('.msg[data-role="assistant"][data-status="streaming"]');
  await eventually("the reply has shown a few words", async () =>
    (await streaming.count()) === 1 && (await streaming.locator(".bubble").textContent()).trim().split(/\s+/).length >= 3);
  await visit("streaming");
  assert.equal(await streaming.count(), 1, "the reply was still streaming when visited");

  await page.getByRole("button", { name: labels.stop, exact: true }).click();
  await page.locator('.msg[data-role="assistant"][data-stopped="stopped"][data-status="sent"]').waitFor();
  await visit("stopped");

  await send(page, labels, "Please create a ticket: Printer keeps jamming");
  await page.locator('.msg[data-role="assistant"][data-status="sent"]').nth(1)
    .getByRole("list", { name: labels.actionsTaken }).waitFor();
  await visit("a tool call shown");

  const rating = page.getByRole("group", { name: labels.rateConversation });
  await rating.getByRole("button", { name: labels.stars(4) }).click();
  await eventually("the rating is saved", async () =>
    (await rating.getByRole("button", { name: labels.stars(4) }).getAttribute("aria-pressed")) === "true");
  await visit("rated 4 of 5");

  await page.getByRole("button", { name: labels.talkToPerson }).click();
  const form = page.getByRole("form", { name: labels.talkToPerson });
  await form.waitFor();
  await visit("the escalate form open");

  await form.getByRole("textbox").fill("The printer is still jamming");
  await form.getByRole("button", { name: labels.askForPerson }).click();
  await page.getByRole("status").filter({ hasText: labels.personWillReply }).waitFor();
  await visit("waiting for a person");

  const id = await page.evaluate((key) => localStorage.getItem(key), SESSION_KEY);
  const answered = await api(server, staffToken, "POST", `/agent/sessions/${id}/messages`,
    { content: "Hello, Dana here. Is it the **second** tray?" });
  assert.equal(answered.status, 201, JSON.stringify(answered.body));
  await page.locator('.msg[data-role="agent"]').filter({ hasText: "Is it the second tray?" }).waitFor();
  await visit("a person's reply shown");

  const released = await api(server, staffToken, "POST", `/agent/sessions/${id}/release`, { to: "ai" });
  assert.equal(released.status, 200, JSON.stringify(released.body));
  await page.locator('.handoff-marker[data-handoff="left"]').waitFor();
  await visit("handed back");
}

/** On a server that takes one chat per session: the second message refused, its alert shown; then `visit`. */
export async function walkRefused({ page, labels, visit }) {
  await openPanelIn(page, labels);
  await send(page, labels, "first");
  await page.locator('.msg[data-role="assistant"][data-status="sent"]').waitFor();
  await send(page, labels, "second");
  await page.getByRole("alert").waitFor();
  await visit("refused (an error shown)");
}

/** A token of `user` in `tenant`, and one of Dana Reyes of its support team. */
export async function customerAndStaff(user, tenant) {
  return { token: await mintToken(user, tenant), staff: await mintToken("dana", tenant, { staffName: "Dana Reyes" }) };
}
