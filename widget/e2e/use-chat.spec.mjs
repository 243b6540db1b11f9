// Any AI SDK app can use the streaming endpoint: the real useChat (@ai-sdk/react 3 with ai 6, UI message stream
// protocol v1), set up as README shows (use-chat-page.tsx), in Chromium against the real local server and the
// offline model, from a page on another origin. Nothing is mocked.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import {
  api, eventually, launchBrowser, mintToken, offlineReply, screenshot, sleep, startServer, WIDGET, watchPageErrors,
} from "./harness.mjs";
import { bundlePage, serveApp } from "./use-chat-app.mjs";

const TIMEOUT = 15_000;
const TEST = { timeout: 30_000 };
const FAST = "0.05"; // seconds per word: the ~30-word reply takes ~1.5 s
const SLOW = "0.3"; // ~9 s: time to press Stop half-way

describe("the AI SDK's useChat (ai 6, @ai-sdk/react 3) on POST /api/v1/ai/chat/stream", () => {
  let server;
  let slow;
  let app;
  let browser;
  let token;

  before(async () => {
    await bundlePage();
    [server, slow, app, browser] = await Promise.all([
      startServer({ OFFLINE_STREAM_PAUSE_SECONDS: FAST }),
      startServer({ OFFLINE_STREAM_PAUSE_SECONDS: SLOW }),
      serveApp(),
      launchBrowser(),
    ]);
    token = await mintToken("carol");
  });

  after(async () => {
    await browser?.close();
    await Promise.all([server?.stop(), slow?.stop(), app?.close()]);
  });

  /** Open the app on `target` (a local server) with `bearer`; it records the stream requests and responses. */
  async function openApp(context, target, bearer = token) {
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    const errors = watchPageErrors(page);
    const requests = [];
    const responses = [];
    const isStream = (request) => request.method() === "POST" && request.url().endsWith("/api/v1/ai/chat/stream");
    page.on("request", (request) => isStream(request) && requests.push(request.postDataJSON()));
    page.on("response", (response) => isStream(response.request())
      && responses.push({ status: response.status(), headers: response.headers() }));
    await page.goto(`${app.url}/#server=${encodeURIComponent(target.url)}&token=${encodeURIComponent(bearer)}`);
    await page.getByRole("textbox", { name: "Message" }).waitFor();
    // Every text the newest reply showed, in order: a MutationObserver sees each render, however quick.
    await page.evaluate(() => {
      window.__shown = [];
      const record = () => {
        const reply = [...document.querySelectorAll('.message[data-role="assistant"]')].at(-1);
        if (!reply) return;
        const text = [...reply.querySelectorAll(".text")].map((p) => p.textContent).join("");
        const last = window.__shown.at(-1);
        if (!last || last.id !== reply.dataset.id || last.text !== text) window.__shown.push({ id: reply.dataset.id, text });
      };
      new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    return { page, errors, requests, responses };
  }

  /** The newest reply as the page renders it: its id, text, metadata and tool parts. */
  function lastReply(page) {
    return page.evaluate(() => {
      const replies = document.querySelectorAll('.message[data-role="assistant"]');
      const reply = replies[replies.length - 1];
      if (!reply) return null;
      const json = (value) => (value === undefined ? undefined : JSON.parse(value));
      return {
        count: replies.length,
        id: reply.dataset.id,
        text: [...reply.querySelectorAll(".text")].map((p) => p.textContent).join(""),
        metadata: json(reply.querySelector(".metadata")?.dataset.metadata) ?? null,
        tools: [...reply.querySelectorAll(".tool")].map((tool) => ({
          name: tool.dataset.tool, state: tool.dataset.state, input: json(tool.dataset.input),
          output: json(tool.dataset.output),
        })),
      };
    });
  }

  const status = (page) => page.locator("[data-status]").getAttribute("data-status");
  const shown = (page, id) => page.evaluate((reply) => window.__shown.filter((s) => s.id === reply).map((s) => s.text), id);

  /** Fail at once, with the message, if useChat shows an error (instead of waiting for a reply that won't come). */
  async function noError(page) {
    const alert = page.getByRole("alert");
    if (await alert.count()) assert.fail(`useChat's error: ${await alert.innerText()}`);
  }

  async function send(page, text) {
    await page.getByRole("textbox", { name: "Message" }).fill(text);
    await page.getByRole("button", { name: "Send" }).click();
  }

  /** Wait for reply number `n` to be complete: useChat is ready again and the usage metadata has arrived. */
  async function finished(page, n) {
    return eventually(`reply ${n} completes with its metadata`, async () => {
      await noError(page);
      const reply = await lastReply(page);
      return reply?.count === n && reply.metadata?.message_id && (await status(page)) === "ready" && reply;
    });
  }

  async function history(target, sessionId) {
    const answer = await api(target, token, "GET", `/sessions/${sessionId}/history`);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body;
  }

  it("type-checks the README's set-up against ai 6's and @ai-sdk/react 3's own types", TEST, async () => {
    await promisify(execFile)(process.execPath, [join(WIDGET, "node_modules", "typescript", "bin", "tsc"), "-p",
      join(WIDGET, "e2e", "use-chat.tsconfig.json")], { cwd: WIDGET });
  });

  describe("one conversation, two messages", () => {
    let context;
    let page;
    let errors;
    let requests;
    let responses;
    let sessionId;

    before(async () => {
      context = await browser.newContext({ viewport: { width: 900, height: 700 } });
      ({ page, errors, requests, responses } = await openApp(context, server));
    });

    after(async () => {
      await context?.close();
    });

    it("streams the reply as it grows, then merges the usage metadata into message.metadata", TEST, async () => {
      await send(page, "Hello useChat");
      const reply = await finished(page, 1);
      const full = offlineReply("Hello useChat", 0);
      assert.equal(reply.text, full);

      const texts = await shown(page, reply.id);
      const partial = [...new Set(texts.filter((t) => t && t !== full).map((t) => t.length))];
      assert.ok(partial.length >= 2, `the reply showed at least two partial lengths before it was whole: ${texts}`);
      for (const text of texts) assert.ok(full.startsWith(text), `each partial text is the start of the reply: ${text}`);

      const { metadata } = reply;
      assert.match(metadata.session_id, /\S/);
      assert.match(metadata.message_id, /\S/);
      assert.ok(metadata.cost_cents > 0, `cost_cents > 0: ${metadata.cost_cents}`);
      assert.equal(metadata.provider, "offline");
      assert.ok(metadata.tokens > 0 && metadata.input_tokens > 0 && metadata.output_tokens > 0);
      assert.equal(metadata.truncated, false);
      assert.equal(metadata.stopped ?? null, null);
      sessionId = metadata.session_id;

      assert.deepEqual(requests, [{ message: "Hello useChat", session_id: null }], "the first request starts a session");
      assert.equal(responses[0].status, 200);
      assert.match(responses[0].headers["content-type"], /^text\/event-stream/);
      assert.equal(responses[0].headers["x-vercel-ai-ui-message-stream"], "v1");
      await screenshot(page, "use-chat-01-reply");
    });

    it("sends the next message with the first reply's session_id: the session holds all four messages", TEST, async () => {
      await send(page, "Second question");
      const reply = await finished(page, 2);
      assert.equal(reply.text, offlineReply("Second question", 1), "the model saw the earlier message");
      assert.equal(reply.metadata.session_id, sessionId);
      assert.deepEqual(requests[1], { message: "Second question", session_id: sessionId });

      const stored = await history(server, sessionId);
      assert.deepEqual(stored.messages.map((m) => m.role), ["user", "assistant", "user", "assistant"]);
      assert.deepEqual(stored.messages.map((m) => m.content),
        ["Hello useChat", offlineReply("Hello useChat", 0), "Second question", offlineReply("Second question", 1)]);
      assert.equal(stored.messages[3].id, reply.metadata.message_id);
      assert.deepEqual(errors, []);
    });
  });

  it("shows the create_ticket call as a dynamic-tool part with the ticket's id, then the answer", TEST, async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
    try {
      const { page, errors } = await openApp(context, server);
      await send(page, "please create a ticket: router broken");
      const reply = await finished(page, 1);
      assert.equal(reply.tools.length, 1, JSON.stringify(reply.tools));
      const [tool] = reply.tools;
      assert.equal(tool.name, "create_ticket");
      assert.equal(tool.state, "output-available");
      assert.equal(tool.input.title, "router broken");
      assert.equal(tool.input.priority, "normal");
      assert.match(String(tool.output.id), /\S/);
      assert.equal(reply.text, `Ticket created: router broken (normal), id ${tool.output.id}.`);
      // The tool part comes before the answer's text, as the stream sent them.
      const order = await page.locator('.message[data-role="assistant"] :is(.tool, .text)').evaluateAll(
        (parts) => parts.map((part) => part.className));
      assert.deepEqual(order, ["tool", "text"]);
      await screenshot(page, "use-chat-02-tool");

      const stored = await history(server, reply.metadata.session_id);
      const [call] = stored.messages.at(-1).function_calls;
      assert.equal(call.name, "create_ticket");
      assert.equal(call.result.id, tool.output.id);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("Stop ends the reply half-way: the text stops growing and the server keeps the partial reply", TEST, async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
    try {
      const { page, errors } = await openApp(context, slow);
      const message = "Tell me a long story";
      const full = offlineReply(message, 0);
      await send(page, message);
      const growing = await eventually("the reply has shown a few words", async () => {
        await noError(page);
        const reply = await lastReply(page);
        return reply && reply.text.trim().split(/\s+/).length >= 5 && reply;
      });
      const sessionId = growing.metadata?.session_id;
      assert.match(sessionId, /\S/, "the start part's session_id is in message.metadata while the reply streams");
      await page.getByRole("button", { name: "Stop" }).click();
      await eventually("useChat is ready after Stop", async () => (await status(page)) === "ready");

      const stopped = (await lastReply(page)).text;
      await sleep(2_000); // longer than the server's stop check (1 s) and several words' pauses
      const later = await lastReply(page);
      assert.equal(later.text, stopped, "the text stopped growing");
      assert.ok(stopped.length < full.length && full.startsWith(stopped), `a start of the reply: ${stopped}`);
      await screenshot(page, "use-chat-03-stopped");

      const answer = await eventually("the stop route answered", () => page.evaluate(() => window.__stopAnswer));
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.session_id, sessionId);
      assert.match(answer.body.message_id, /\S/);

      const stored = await eventually("the partial reply is stored", async () => {
        const { messages } = await history(slow, sessionId);
        const last = messages.at(-1);
        return messages.length === 2 && last.role === "assistant" && last.status !== "pending" && messages;
      });
      const [asked, partial] = stored;
      assert.equal(asked.content, message);
      assert.ok(partial.content.length < full.length && full.startsWith(partial.content),
        `the stored reply is a start of the whole reply: ${partial.content}`);
      assert.ok(partial.content.startsWith(stopped), `what the person saw is kept: ${partial.content}`);
      assert.equal(answer.body.message_id, asked.id, "the stop route names the user message whose turn it stopped");
      assert.equal(growing.metadata.user_message_id, asked.id, "the start part's user_message_id");
      assert.equal(partial.stopped, "stopped");
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("a refusal before the stream starts reaches useChat's error as the API's {detail, code}", TEST, async () => {
    const context = await browser.newContext();
    try {
      const { page, requests, responses } = await openApp(context, server);
      await send(page, "x".repeat(10_001)); // one character over the API's limit
      const body = JSON.parse(await page.getByRole("alert").innerText());
      assert.equal(body.code, "invalid_input");
      assert.equal(body.field, "message");
      assert.match(body.detail, /at most 10000 characters/);
      assert.equal(responses[0].status, 422);
      assert.equal(requests.length, 1);
      assert.equal(await status(page), "error");
    } finally {
      await context.close();
    }
  });
});
