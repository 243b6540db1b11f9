// The widget in Chromium on the local server's demo page (GET /), against the real API with the offline model.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  api, eventually, launchBrowser, localServer, mintToken, openDemo, openPanel, screenshot, suiteParts,
} from "./harness.mjs";

const SESSION_KEY = "ai-chat:session:customer_support";
const TIMEOUT = 15_000;

async function send(page, text) {
  const before = await page.locator('.msg[data-role="assistant"]').count();
  await page.getByRole("textbox", { name: "Message" }).fill(text);
  await page.getByRole("textbox", { name: "Message" }).press("Enter");
  return before;
}

/** Wait for the assistant's reply number `n` (1-based) to be whole (it streams) and return its text. */
async function reply(page, n) {
  const message = page.locator('.msg[data-role="assistant"][data-status="sent"]').nth(n - 1);
  await message.waitFor();
  return message.locator(".bubble").innerText();
}

/** The computed styles of the demo page's own elements, to compare with and without the widget. */
function hostPageStyles(page) {
  return page.evaluate(() => {
    const properties = ["font-family", "font-size", "line-height", "color", "background-color", "margin", "padding",
      "box-sizing", "display"];
    const elements = ["html", "body", "main", "h1", "h2", "p", "pre", "code", "a", "ul", "li"];
    return Object.fromEntries(elements.map((selector) => {
      const element = document.querySelector(selector);
      const style = element ? getComputedStyle(element) : null;
      return [selector, style ? properties.map((p) => style.getPropertyValue(p)).join(" | ") : null];
    }));
  });
}

describe("the chat widget on the local server's demo page", () => {
  // The limited server refuses the second chat of a session (a chat stores 2 messages), to show a limit error.
  const parts = suiteParts({
    server: () => localServer("plain"), limited: () => localServer("limited"), browser: launchBrowser,
  });
  let token;

  before(async () => {
    token = await mintToken("alice");
  });

  describe("one person's conversation, from first message to a person taking over", () => {
    let context;
    let page;
    let errors;
    let sessionId;

    before(async () => {
      context = await parts.browser.newContext({ viewport: { width: 1100, height: 760 }, colorScheme: "light" });
      ({ page, errors } = await openDemo(context, parts.server, token));
    });

    after(async () => {
      await context?.close();
    });

    it("opens from the launcher and shows the reply as markdown, never as HTML", async () => {
      await screenshot(page, "01-launcher");
      await openPanel(page);
      const log = page.getByRole("log", { name: "Conversation" });
      // Not live itself (a streaming reply would be read word by word): one polite region announces replies.
      assert.equal(await log.getAttribute("aria-live"), "off");
      assert.equal(await page.locator("[data-announcer]").getAttribute("aria-live"), "polite");
      assert.equal(await page.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.getAttribute("aria-label")), "Message");
      await screenshot(page, "02-open");

      await send(page, 'Hello **widget** <img src=x onerror="window.__xss = 1"> `code`');
      const text = await reply(page, 1);
      assert.match(text, /\(offline model\) You said: .Hello widget <img src=x onerror="window.__xss = 1"> code/);
      const assistant = page.locator('.msg[data-role="assistant"]').first();
      assert.equal(await assistant.locator("strong").innerText(), "widget");
      assert.equal(await assistant.locator("code").innerText(), "code");
      assert.equal(await page.locator("img").count(), 0, "the reply's <img> is text, not an element");
      assert.equal(await page.evaluate(() => window.__xss), undefined);
      assert.equal(await log.getAttribute("aria-busy"), "false");
      await screenshot(page, "03-reply");

      sessionId = await page.evaluate((key) => localStorage.getItem(key), SESSION_KEY);
      assert.ok(sessionId, "the session id is kept in localStorage under a key naming the session type");
      const history = await api(parts.server, token, "GET", `/sessions/${sessionId}/history`);
      assert.equal(history.status, 200);
      assert.deepEqual(history.body.messages.map((m) => m.role), ["user", "assistant"]);
    });

    it("after a reload, resumes the same session and shows its history", async () => {
      await page.reload();
      await page.getByRole("button", { name: "Open AI assistant" }).waitFor();
      await openPanel(page);
      assert.match(await reply(page, 1), /You said: .Hello widget/);
      assert.equal(await page.locator('.msg[data-role="user"]').count(), 1);
      await screenshot(page, "04-history-after-reload");

      await send(page, "Second question");
      // The offline model counts the earlier messages it was given: the same session continued.
      assert.match(await reply(page, 2), /I can see 1 earlier message in this conversation/);
      assert.equal(await page.evaluate((key) => localStorage.getItem(key), SESSION_KEY), sessionId);
    });

    it("rates the conversation 1-5 with a comment and a reply up, and the server has both", async () => {
      const rating = page.getByRole("group", { name: "Rate this conversation" });
      await rating.getByRole("button", { name: "4 out of 5" }).click();
      await eventually("the 4-star rating is saved", async () =>
        (await rating.getByRole("button", { name: "4 out of 5" }).getAttribute("aria-pressed")) === "true");
      await rating.getByRole("textbox", { name: "Anything to add? (optional)" }).fill("Clear answers");
      await rating.getByRole("button", { name: "Send" }).click();
      await page.getByText("Thanks for telling us more.").waitFor();
      const helpful = page.getByRole("button", { name: "Helpful", exact: true }).first();
      await helpful.click();
      await eventually("the reply's rating is saved", async () => (await helpful.getAttribute("aria-pressed")) === "true");
      await screenshot(page, "05-feedback");

      const history = await api(parts.server, token, "GET", `/sessions/${sessionId}/history`);
      assert.equal(history.body.metadata.user_rating, 4);
      assert.equal(history.body.metadata.feedback, "Clear answers");
      assert.equal(history.body.metadata.status, "active", "feedback leaves the session open");
      assert.equal(history.body.messages.find((m) => m.role === "assistant").feedback, "up");
    });

    it("escalates to a person: says a person will reply and keeps taking messages, for them, also after a reload", async () => {
      await page.getByRole("button", { name: "Talk to a person" }).click();
      const form = page.getByRole("form", { name: "Talk to a person" });
      await form.getByRole("textbox").fill("I was charged twice");
      await form.getByRole("button", { name: "Ask for a person" }).click();
      await page.getByRole("status").filter({ hasText: "A person will reply here." }).waitFor();
      assert.equal(await page.getByRole("textbox", { name: "Message" }).isDisabled(), false);
      await page.getByRole("button", { name: "Cancel request" }).waitFor();
      await screenshot(page, "06-escalated");

      const history = await api(parts.server, token, "GET", `/sessions/${sessionId}/history`);
      assert.equal(history.body.metadata.status, "escalated");
      assert.equal(history.body.metadata.escalation_reason, "I was charged twice");

      await page.reload();
      await openPanel(page);
      await page.getByRole("status").filter({ hasText: "A person will reply here." }).waitFor();
      const replies = await page.locator('.msg[data-role="assistant"]').count();
      await send(page, "It was on the 3rd and the 5th");
      await page.locator('.msg[data-role="user"][data-status="sent"]').filter({ hasText: "the 3rd and the 5th" }).waitFor();
      const kept = await api(parts.server, token, "GET", `/sessions/${sessionId}/history`);
      assert.equal(kept.body.messages.at(-1).content, "It was on the 3rd and the 5th");
      assert.equal(await page.locator('.msg[data-role="assistant"]').count(), replies, "no assistant reply to it");
    });

    it("shows a support person's reply under their name, with their joining as a line, as they send it", async () => {
      const dana = await mintToken("dana", "acme", { staffName: "Dana Reyes" });
      const answered = await api(parts.server, dana, "POST", `/agent/sessions/${sessionId}/messages`,
        { content: "Hello, I can see **two** charges on the 3rd and the 5th." });
      assert.equal(answered.status, 201, JSON.stringify(answered.body));
      // The widget looks every few seconds (handoffPollMs, 4 s by default).
      const bubble = page.locator('.msg[data-role="agent"]').filter({ hasText: "I can see two charges" });
      await bubble.waitFor();
      assert.equal(await bubble.locator(".agent-name").innerText(), "Dana Reyes (support team)");
      await page.locator(".handoff-marker").filter({ hasText: "Dana Reyes joined the conversation." }).waitFor();
      await page.getByRole("status").filter({ hasText: "Dana Reyes is answering." }).waitFor();
      assert.equal(await page.getByRole("button", { name: "Cancel request" }).count(), 0);
      await eventually("the reply is announced", async () =>
        (await page.locator("[data-announcer]").innerText()).includes("Dana Reyes replied: Hello, I can see two charges"));
      await screenshot(page, "06b-person-replied");
    });

    it("minimises on Escape, returning focus to the launcher, with no error logged on the page", async () => {
      await page.getByRole("log", { name: "Conversation" }).press("Escape");
      const launcher = page.getByRole("button", { name: "Open AI assistant" });
      await launcher.waitFor();
      assert.equal(await page.getByRole("log").count(), 0);
      await eventually("the launcher has focus", () =>
        page.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.getAttribute("aria-label") === "Open AI assistant"));
      assert.deepEqual(errors, []);
    });
  });

  it("shows the API's own sentence when a limit is reached, without offering to retry", async () => {
    const bob = await mintToken("bob");
    const context = await parts.browser.newContext({ viewport: { width: 1100, height: 760 } });
    try {
      const { page } = await openDemo(context, parts.limited, bob);
      await openPanel(page);
      await send(page, "first");
      await reply(page, 1);
      await send(page, "second");
      const alert = page.getByRole("alert");
      await alert.waitFor();
      assert.equal(await alert.getAttribute("data-code"), "session_message_limit_exceeded");
      // The very sentence the API gives for this limit, asked for directly with the same session.
      const id = await page.evaluate((key) => localStorage.getItem(key), SESSION_KEY);
      const refused = await api(parts.limited, bob, "POST", "/chat", { message: "third", session_id: id });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.code, "session_message_limit_exceeded");
      assert.ok((await alert.innerText()).includes(refused.body.detail), `the alert shows: ${refused.body.detail}`);
      assert.equal(await alert.getByRole("button", { name: "Try again" }).count(), 0);
      assert.equal(await alert.getByRole("button", { name: "Start a new conversation" }).count(), 1);
      await page.getByText("Not sent.", { exact: true }).waitFor();
      await screenshot(page, "07-limit-error");
    } finally {
      await context.close();
    }
  });

  it("shows the ticket the offline model created, as an action above its reply, also after a reload", async () => {
    const erin = await mintToken("erin");
    const context = await parts.browser.newContext({ viewport: { width: 1100, height: 760 }, colorScheme: "light" });
    try {
      const { page, errors } = await openDemo(context, parts.server, erin);
      await openPanel(page);
      await send(page, "Please create a ticket: Router keeps rebooting, urgent");
      await reply(page, 1); // the whole reply: its call has its outcome
      const assistant = page.locator('.msg[data-role="assistant"]').first();
      const actions = assistant.getByRole("list", { name: "Actions taken" });
      await actions.waitFor();
      assert.deepEqual(await actions.getByRole("listitem").allInnerTexts(),
        ["Ticket created: Router keeps rebooting, urgent (urgent)"]);
      // Above the reply's own text, inside the panel.
      const list = await actions.boundingBox();
      const bubble = await assistant.locator(".bubble").boundingBox();
      assert.ok(list.y + list.height <= bubble.y, `the actions come before the text: ${JSON.stringify({ list, bubble })}`);
      assert.equal(await page.getByRole("textbox", { name: "Message" }).isDisabled(), false, "a ticket leaves the chat open");
      await screenshot(page, "09-ticket-created");

      // What the widget showed is what the server stored with the reply.
      const id = await page.evaluate((key) => localStorage.getItem(key), SESSION_KEY);
      const history = await api(parts.server, erin, "GET", `/sessions/${id}/history`);
      const stored = history.body.messages.find((m) => m.role === "assistant").function_calls;
      assert.deepEqual(stored.map((c) => [c.name, c.status, c.result.title, c.result.priority]),
        [["create_ticket", "ok", "Router keeps rebooting, urgent", "urgent"]]);
      assert.equal(history.body.metadata.status, "active");

      await page.reload();
      await openPanel(page);
      const reloaded = page.getByRole("list", { name: "Actions taken" });
      await reloaded.waitFor();
      assert.deepEqual(await reloaded.getByRole("listitem").allInnerTexts(),
        ["Ticket created: Router keeps rebooting, urgent (urgent)"]);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("switches to the escalated state when the offline model hands the conversation to a person", async () => {
    const frank = await mintToken("frank");
    const context = await parts.browser.newContext({ viewport: { width: 1100, height: 760 }, colorScheme: "dark" });
    try {
      const { page, errors } = await openDemo(context, parts.server, frank);
      await openPanel(page);
      await send(page, "I want to talk to a person");
      // The same state as after "Talk to a person": the notice, the subtitle, the input open, no second request.
      await page.getByRole("status").filter({ hasText: "A person will reply here." }).waitFor();
      await page.getByText("Handed to our support team").waitFor();
      assert.equal(await page.getByRole("textbox", { name: "Message" }).isDisabled(), false);
      assert.equal(await page.getByRole("button", { name: "Talk to a person" }).isDisabled(), true);
      const actions = page.getByRole("list", { name: "Actions taken" });
      assert.deepEqual(await actions.getByRole("listitem").allInnerTexts(),
        ["Handed over to a person: I want to talk to a person"]);
      await screenshot(page, "10-model-escalated");

      const id = await page.evaluate((key) => localStorage.getItem(key), SESSION_KEY);
      const history = await api(parts.server, frank, "GET", `/sessions/${id}/history`);
      assert.equal(history.body.metadata.status, "escalated");

      await page.reload();
      await openPanel(page);
      await page.getByRole("status").filter({ hasText: "A person will reply here." }).waitFor();
      // Taken back before anyone took it: the assistant answers again.
      await page.getByRole("button", { name: "Cancel request" }).click();
      await eventually("the notice goes", async () => (await page.getByRole("status").count()) === 0);
      const withdrawn = await api(parts.server, frank, "GET", `/sessions/${id}/history`);
      assert.equal(withdrawn.body.metadata.status, "active");
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("sends a multi-line message: Shift+Enter adds a line, Enter sends", async () => {
    const context = await parts.browser.newContext();
    try {
      const { page } = await openDemo(context, parts.server, await mintToken("carol"));
      await openPanel(page);
      const input = page.getByRole("textbox", { name: "Message" });
      await input.pressSequentially("line one");
      await input.press("Shift+Enter");
      await input.pressSequentially("line two");
      assert.equal(await input.inputValue(), "line one\nline two");
      assert.equal(await page.locator('.msg[data-role="user"]').count(), 0);
      await input.press("Enter");
      await reply(page, 1);
      assert.equal(await page.locator('.msg[data-role="user"] .bubble').innerText(), "line one\nline two");
    } finally {
      await context.close();
    }
  });

  it("in auto, follows the system's light or dark preference as it changes", async () => {
    const context = await parts.browser.newContext({ viewport: { width: 1100, height: 760 }, colorScheme: "dark" });
    try {
      const { page, errors } = await openDemo(context, parts.server, token);
      await openPanel(page);
      assert.equal(await page.locator(".root").getAttribute("data-theme"), "auto", "the demo page leaves the theme to auto");
      const colours = () => page.locator(".panel").evaluate((panel) => {
        const style = getComputedStyle(panel);
        return `${style.backgroundColor} on ${style.color}`;
      });
      // The two palettes' --bg and --fg (widget-styles.ts): #1c2128 on #e6edf3, and #ffffff on #1b1f24.
      const DARK = "rgb(28, 33, 40) on rgb(230, 237, 243)";
      const LIGHT = "rgb(255, 255, 255) on rgb(27, 31, 36)";
      assert.equal(await colours(), DARK, "a dark system: the dark palette");
      await page.emulateMedia({ colorScheme: "light" });
      assert.equal(await colours(), LIGHT, "the system turned light: so did the panel, with no reload");
      await page.emulateMedia({ colorScheme: "dark" });
      assert.equal(await colours(), DARK, "and dark again");
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("shows a reply's table and nested list on a phone's screen in the dark, inside the panel and inert", async () => {
    const context = await parts.browser.newContext({ viewport: { width: 390, height: 740 }, colorScheme: "dark" });
    try {
      const { page, errors } = await openDemo(context, parts.server, await mintToken("dana"));
      await openPanel(page);
      await send(page, [
        "Plans:",
        "",
        "| plan | seats | monthly price |",
        "|:--|:-:|--:|",
        "| **Pro** <img src=x onerror=window.__xss=3> | 5 | $10 |",
        "",
        "- top",
        "  - nested [x](javascript:window.__xss=4)",
      ].join("\n"));
      await reply(page, 1);
      const assistant = page.locator('.msg[data-role="assistant"]').first();
      assert.deepEqual(await assistant.locator("th").allInnerTexts(), ["plan", "seats", "monthly price"]);
      assert.deepEqual(await assistant.locator("td").allInnerTexts(), ["Pro <img src=x onerror=window.__xss=3>", "5", "$10"]);
      assert.equal(await assistant.locator("td strong").innerText(), "Pro");
      assert.equal(await assistant.locator("td").nth(2).evaluate((td) => getComputedStyle(td).textAlign), "right");
      assert.match(await assistant.locator("li > ul > li").innerText(), /^nested x/);
      assert.equal(await assistant.locator("a").count(), 0, "the javascript: link is refused");
      assert.equal(await page.locator("img").count(), 0, "the cell's <img> is text, not an element");
      assert.equal(await page.evaluate(() => window.__xss), undefined);

      const panel = await page.locator(".panel").boundingBox();
      assert.ok(panel.x >= 0 && panel.y >= 0 && panel.x + panel.width <= 390 && panel.y + panel.height <= 740, JSON.stringify(panel));
      const bubble = await assistant.locator(".bubble").boundingBox();
      assert.ok(bubble.x >= panel.x && bubble.x + bubble.width <= panel.x + panel.width,
        `the bubble with the table stays inside the panel: ${JSON.stringify({ bubble, panel })}`);
      const background = await page.locator(".panel").evaluate((element) => getComputedStyle(element).backgroundColor);
      assert.equal(background, "rgb(28, 33, 40)", "the panel is dark");
      assert.deepEqual(errors, []);
      await screenshot(page, "08-dark-phone");
    } finally {
      await context.close();
    }
  });

  it("is served by the local server from widget/dist/demo by bare name only", async () => {
    const bundle = await fetch(`${parts.server.url}/widget/ai-chat-demo.js`);
    assert.equal(bundle.status, 200);
    assert.match(bundle.headers.get("content-type"), /^text\/javascript/);
    assert.ok((await bundle.text()).length > 100_000, "the bundle with React inside");
    for (const name of ["..%2F..%2Ftemplate.yaml", "..%2Fai-chat-widget.js", "missing.js", ".hidden.js"]) {
      const refused = await fetch(`${parts.server.url}/widget/${name}`);
      assert.equal(refused.status, 404, name);
      assert.equal((await refused.json()).code, "asset_not_found");
    }
  });

  it("leaves the host page's own styles exactly as they were", async () => {
    const context = await parts.browser.newContext();
    try {
      const page = await context.newPage();
      await page.route("**/widget/**", (route) => route.abort());
      await page.goto(`${parts.server.url}/#token=${token}`);
      const without = await hostPageStyles(page);
      const sheetsWithout = await page.evaluate(() => document.styleSheets.length);
      await page.unroute("**/widget/**");
      await page.reload();
      await openPanel(page);
      assert.deepEqual(await hostPageStyles(page), without);
      assert.equal(await page.evaluate(() => document.styleSheets.length), sheetsWithout, "no stylesheet added to the page");
    } finally {
      await context.close();
    }
  });
});
