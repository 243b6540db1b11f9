// The widget streaming replies in Chromium on the local server's demo page (GET /), against the real API and the
// offline model paused per word (OFFLINE_STREAM_PAUSE_SECONDS), so a reply visibly grows. Nothing is mocked.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  api, eventually, launchBrowser, localServer, mintToken, offlineReply, openDemo, openPanel, screenshot, sleep, suiteParts,
} from "./harness.mjs";

const SESSION_KEY = "ai-chat:session:customer_support";
const TIMEOUT = 15_000;
const TEST = { timeout: 45_000 };
const REPLYING = "The assistant is replying…";

/**
 * Open the demo page with a token and the panel, and record, with a MutationObserver on the widget's shadow root,
 * every text the newest reply's bubble showed (with its status and whether its tool list was there) and every text
 * the live region was given.
 */
async function openWidget(context, server, token) {
  const opened = await openDemo(context, server, token, TIMEOUT);
  await openPanel(opened.page);
  await recordWidget(opened.page);
  return opened;
}

/** Start recording what the widget's newest reply and its live region show, from what they show now. */
async function recordWidget(page) {
  await page.evaluate(() => {
    const root = document.querySelector("[data-ai-chat-widget]").shadowRoot;
    window.__shown = [];
    window.__announced = [];
    window.__bubbles = [];
    const record = () => {
      const replies = root.querySelectorAll('.msg[data-role="assistant"]');
      const reply = replies[replies.length - 1];
      const bubble = reply?.querySelector(".bubble");
      if (bubble) {
        if (!window.__bubbles.includes(bubble)) window.__bubbles.push(bubble);
        const seen = {
          n: replies.length, text: bubble.querySelector(".dot") ? "" : bubble.textContent, status: reply.dataset.status,
          calls: reply.querySelectorAll(".call").length,
        };
        const last = window.__shown.at(-1);
        if (!last || JSON.stringify(last) !== JSON.stringify(seen)) window.__shown.push(seen);
      }
      const announced = root.querySelector("[data-announcer]")?.textContent ?? "";
      if (announced !== (window.__announced.at(-1) ?? "")) window.__announced.push(announced);
    };
    new MutationObserver(record).observe(root, { subtree: true, childList: true, characterData: true, attributes: true });
    record();
  });
}

async function send(page, text) {
  await page.getByRole("textbox", { name: "Message" }).fill(text);
  await page.getByRole("textbox", { name: "Message" }).press("Enter");
}

/** Wait for reply number `n` to be whole (stored: it has the API's id) and return its bubble's text. */
async function finished(page, n) {
  const message = page.locator('.msg[data-role="assistant"][data-status="sent"]').nth(n - 1);
  await message.waitFor();
  return message.locator(".bubble").textContent();
}

const recorded = (page, name) => page.evaluate((key) => window[key], name);

async function storedMessages(server, token, page) {
  const id = await page.evaluate((key) => localStorage.getItem(key), SESSION_KEY);
  const answer = await api(server, token, "GET", `/sessions/${id}/history`);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body.messages;
}

describe("the chat widget streaming replies on the local server's demo page", () => {
  const parts = suiteParts({
    server: () => localServer("fast"), slow: () => localServer("slow"), browser: launchBrowser,
  });

  it("shows the reply growing in one bubble: at least two partial lengths, each the start of the whole reply", TEST, async () => {
    const token = await mintToken("gina");
    const context = await parts.browser.newContext({ viewport: { width: 1100, height: 760 } });
    try {
      const { page, errors } = await openWidget(context, parts.server, token);
      await send(page, "Hello stream");
      const full = offlineReply("Hello stream", 0);
      assert.equal(await finished(page, 1), full);

      const shown = (await recorded(page, "__shown")).filter((s) => s.n === 1);
      const partial = [...new Set(shown.filter((s) => s.text && s.text !== full).map((s) => s.text.length))];
      assert.ok(partial.length >= 2, `at least two partial lengths before the whole reply: ${JSON.stringify(shown)}`);
      for (const { text } of shown) assert.ok(full.startsWith(text), `each text shown is the start of the reply: ${text}`);
      assert.ok(shown.some((s) => s.status === "streaming" && s.text), "text showed while the reply was streaming");
      assert.equal((await recorded(page, "__bubbles")).length, 1, "one bubble from the typing dots to the whole reply");
      await screenshot(page, "stream-01-reply");

      const [asked, stored] = await storedMessages(parts.server, token, page);
      assert.equal(asked.content, "Hello stream");
      assert.equal(stored.content, full, "what the widget showed is what the server stored");
      // The stored reply's id came with the stream's metadata: the reply can be rated.
      await page.getByRole("button", { name: "Helpful", exact: true }).click();
      await eventually("the reply's rating is saved", async () =>
        (await storedMessages(parts.server, token, page)).at(-1).feedback === "up");
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("Stop keeps the partial reply, marked Stopped, takes messages again, and the history shows it after a reload", TEST, async () => {
    const token = await mintToken("hank");
    const context = await parts.browser.newContext({ viewport: { width: 1100, height: 760 } });
    try {
      const { page, errors } = await openWidget(context, parts.slow, token);
      const message = "Tell me a long story";
      const full = offlineReply(message, 0);
      await send(page, message);
      const bubble = page.locator('.msg[data-role="assistant"] .bubble').first();
      await eventually("the reply has shown a few words", async () =>
        (await bubble.textContent()).trim().split(/\s+/).length >= 5);
      await screenshot(page, "stream-02-streaming");
      await page.getByRole("button", { name: "Stop", exact: true }).click();

      const assistant = page.locator('.msg[data-role="assistant"][data-stopped="stopped"][data-status="sent"]');
      await assistant.waitFor();
      const stopped = await assistant.locator(".bubble").textContent();
      await sleep(1_500); // longer than the server's stop check (1 s) and several words' pauses
      assert.equal(await assistant.locator(".bubble").textContent(), stopped, "the text stopped growing");
      assert.ok(stopped.length < full.length && full.startsWith(stopped), `a start of the reply: ${stopped}`);
      assert.equal(await assistant.getByText("Stopped", { exact: true }).count(), 1);
      assert.equal(await page.getByRole("button", { name: /^Stop/ }).count(), 0, "no Stop once the reply has ended");
      await page.getByRole("textbox", { name: "Message" }).fill("Next question");
      assert.equal(await page.getByRole("button", { name: "Send", exact: true }).isDisabled(), false);
      await screenshot(page, "stream-03-stopped");

      const [, stored] = await storedMessages(parts.slow, token, page);
      assert.equal(stored.stopped, "stopped");
      assert.equal(stored.estimated, true);
      assert.equal(stored.content.trim(), stopped, "the server kept what the widget showed");

      await page.reload();
      await page.getByRole("button", { name: "Open AI assistant" }).click();
      const reloaded = page.locator('.msg[data-role="assistant"]').first();
      await reloaded.waitFor();
      assert.equal(await reloaded.locator(".bubble").textContent(), stopped);
      assert.equal(await reloaded.getAttribute("data-stopped"), "stopped");
      assert.equal(await reloaded.getByText("Stopped", { exact: true }).count(), 1);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("a page reloaded while the reply streams shows the reply in progress, then the whole stored reply, with no other reload", TEST, async () => {
    const token = await mintToken("kate");
    const context = await parts.browser.newContext({ viewport: { width: 1100, height: 760 } });
    try {
      const { page, errors } = await openWidget(context, parts.slow, token);
      const message = "Tell me while I reload";
      const full = offlineReply(message, 0);
      await send(page, message);
      const bubble = page.locator('.msg[data-role="assistant"] .bubble').first();
      await eventually("the reply has shown a few words", async () =>
        (await bubble.textContent()).trim().split(/\s+/).length >= 3);

      await page.reload();
      await page.getByRole("button", { name: "Open AI assistant" }).click();
      await page.getByRole("log", { name: "Conversation" }).waitFor();
      await recordWidget(page);
      // The server is still writing the reply: its message is pending, and the widget shows the reply in progress.
      const [asked] = await storedMessages(parts.slow, token, page);
      assert.equal(asked.content, message);
      assert.equal(asked.status, "pending", "the reload came while the turn was still being answered");
      await page.locator('.msg[data-role="user"]', { hasText: message }).waitFor();
      await page.locator(".msg.typing").waitFor();
      await page.getByRole("textbox", { name: "Message" }).fill("Meanwhile");
      assert.equal(await page.getByRole("button", { name: "Send", exact: true }).isDisabled(), true, "Send waits for the reply");
      assert.equal(await page.getByRole("log", { name: "Conversation" }).getAttribute("aria-busy"), "true");
      await screenshot(page, "stream-05-reloaded-pending");

      const shown = await finished(page, 1);
      const [settled, stored] = await storedMessages(parts.slow, token, page);
      assert.equal(settled.status, "ok");
      assert.equal(stored.role, "assistant");
      assert.equal(stored.content, full);
      assert.equal(shown, stored.content, "the widget shows the stored reply, whole");
      assert.equal(await page.locator(".msg.typing").count(), 0);
      assert.equal(await page.getByRole("button", { name: "Send", exact: true }).isDisabled(), false);
      await page.getByRole("button", { name: "Helpful", exact: true }).waitFor(); // the stored reply's id
      const announced = await eventually("the reply's end announced", async () => {
        const texts = await recorded(page, "__announced");
        return texts.length >= 2 && texts;
      });
      assert.deepEqual(announced, [REPLYING, `The assistant replied: ${full}`]);
      await sleep(1_000);
      assert.deepEqual(await recorded(page, "__announced"), announced, "announced once");
      await screenshot(page, "stream-06-reloaded-reply");
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("shows the create_ticket call as it happens, above the answer that then streams", TEST, async () => {
    const token = await mintToken("ivy");
    const context = await parts.browser.newContext({ viewport: { width: 1100, height: 760 } });
    try {
      const { page, errors } = await openWidget(context, parts.server, token);
      await send(page, "create a ticket: Router keeps rebooting");
      const text = await finished(page, 1);
      const actions = page.getByRole("list", { name: "Actions taken" });
      assert.deepEqual(await actions.getByRole("listitem").allInnerTexts(), ["Ticket created: Router keeps rebooting (normal)"]);
      const [, stored] = await storedMessages(parts.server, token, page);
      const [call] = stored.function_calls;
      assert.equal(text, `Ticket created: Router keeps rebooting (normal), id ${call.result.id}.`);
      const shown = (await recorded(page, "__shown")).filter((s) => s.n === 1);
      assert.ok(shown.some((s) => s.status === "streaming" && s.calls === 1 && s.text !== text),
        `the call showed while the reply was still being written: ${JSON.stringify(shown)}`);
      assert.equal(await page.locator(".call").getAttribute("data-status"), "ok");
      await screenshot(page, "stream-04-tool");
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("announces each reply exactly twice in the live region: when it starts, and what it said when it ends", TEST, async () => {
    const token = await mintToken("jack");
    const context = await parts.browser.newContext({ viewport: { width: 1100, height: 760 } });
    try {
      const { page, errors } = await openWidget(context, parts.server, token);
      assert.equal(await page.getByRole("log", { name: "Conversation" }).getAttribute("aria-live"), "off");
      await send(page, "First question");
      await finished(page, 1);
      await send(page, "Second question");
      await finished(page, 2);
      const announced = await eventually("both replies announced", async () => {
        const texts = await recorded(page, "__announced");
        return texts.length >= 4 && texts;
      });
      assert.deepEqual(announced, [
        REPLYING, `The assistant replied: ${offlineReply("First question", 0)}`,
        REPLYING, `The assistant replied: ${offlineReply("Second question", 1)}`,
      ]);
      // However many words arrived, nothing more was said.
      assert.ok((await recorded(page, "__shown")).length > 10, "many renders of the growing replies");
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
});
