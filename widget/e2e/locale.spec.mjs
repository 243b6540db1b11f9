// The widget in German and right to left, in Chromium against the real local server. German: every state the
// accessibility spec walks (widget-states.mjs: closed, open, streaming, stopped, a tool call, rated, the escalate
// form, waiting for a person, a person's reply, handed back, refused) shows not one of the English labels' sentences,
// the server's included (an error by its code, the person's joined and left lines by their kind); `lang` is "de".
// Right to left: a pseudo-locale (English words, `dir="rtl"`) mirrors the composer and the bubbles, measured.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { de, en } from "../dist/ai-chat-widget.js";
import { launchBrowser, mintToken, screenshot, startServer, watchPageErrors } from "./harness.mjs";
import { customerAndStaff, openPanelIn, send, walkRefused, walkWidgetStates } from "./widget-states.mjs";

const TIMEOUT = 20_000;
const TEST = { timeout: 120_000 };
const DESKTOP = { width: 1100, height: 760 };

/**
 * The English labels' sentences a German widget must not show: each string, and each function's sentence around
 * placeholders (split at them), long enough to mean something, and not the same in German (a name, "E-Mail").
 */
function englishSentences() {
  const out = new Set();
  const add = (value) => {
    if (typeof value === "string") out.add(value);
    else if (typeof value === "function") for (const part of String(value("\u0000", "\u0000", "\u0000")).split("\u0000")) add(part);
    else if (value && typeof value === "object") Object.values(value).forEach(add);
  };
  for (const [key, value] of Object.entries(en)) if (key !== "lang" && key !== "dir") add(value);
  const german = new Set(Object.values(de).filter((v) => typeof v === "string"));
  return [...out].map((s) => s.trim()).filter((s) => s.length >= 4 && !german.has(s));
}
const ENGLISH = englishSentences();
// The server's English for what the German labels have words for: the hand-over, and a person's lines.
const SERVER_ENGLISH = ["joined the conversation", "handed the conversation back", "I've passed this conversation",
  "This session reached"];

/**
 * The widget's own text as a person and a screen reader meet it: its root's text and its elements' names and hints,
 * less what people and the model wrote (the bubbles, and the live region that reads them out: the offline model
 * answers in English whatever the widget's language).
 */
function widgetText(page) {
  return page.evaluate(() => {
    const root = document.querySelector("[data-ai-chat-widget]").shadowRoot.querySelector(".root").cloneNode(true);
    for (const written of root.querySelectorAll(".bubble, [data-announcer]")) written.remove();
    const parts = [root.textContent];
    for (const element of root.querySelectorAll("[aria-label], [placeholder], [title]")) {
      for (const name of ["aria-label", "placeholder", "title"]) parts.push(element.getAttribute(name) ?? "");
    }
    return { text: parts.join("\n"), lang: root.getAttribute("lang"), dir: root.getAttribute("dir") };
  });
}

/** Words whole: "Send" is not in "Senden". */
function shows(text, sentence) {
  const escaped = sentence.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[^\\p{L}])${escaped}($|[^\\p{L}])`, "u").test(text);
}

/** The demo page with `config` merged into its settings, its launcher (named in `labels`) shown. */
async function openWith(context, server, token, config, labels) {
  await context.addInitScript((chosen) => {
    window.AIChatDemo = chosen;
  }, config);
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const errors = watchPageErrors(page);
  await page.goto(`${server.url}/#token=${token}`);
  await page.getByRole("button", { name: labels.openLauncher(labels.title) }).waitFor();
  return { page, errors };
}

describe("the widget's language and direction, on the local server's demo page", () => {
  let server;
  let limited;
  let browser;

  before(async () => {
    const started = await Promise.allSettled([
      startServer({ OFFLINE_STREAM_PAUSE_SECONDS: "0.4" }),
      startServer({ MAX_MESSAGES_PER_SESSION: "2" }),
      launchBrowser(),
    ]);
    [server, limited, browser] = started.map((outcome) => outcome.value);
    const failed = started.find((outcome) => outcome.status === "rejected");
    if (failed) throw failed.reason;
  });

  after(async () => {
    await browser?.close();
    await Promise.all([server?.stop(), limited?.stop()]);
  });

  it("in German, no English sentence of its own or of the server's in any state", TEST, async () => {
    assert.ok(ENGLISH.length > 80, `the English sentences looked for: ${ENGLISH.length}`);
    const { token, staff } = await customerAndStaff("greta", "locale-de");
    const contexts = [await browser.newContext({ viewport: DESKTOP }), await browser.newContext({ viewport: DESKTOP })];
    try {
      const found = [];
      const seen = [];
      const visit = (page) => async (state) => {
        const { text, lang } = await widgetText(page);
        assert.equal(lang, "de", state);
        seen.push(state);
        for (const sentence of [...ENGLISH, ...SERVER_ENGLISH]) if (shows(text, sentence)) found.push(`${state}: "${sentence}"`);
      };
      const walk = await openWith(contexts[0], server, token, { locale: "de" }, de);
      await walkWidgetStates({ page: walk.page, server, staffToken: staff, labels: de, visit: visit(walk.page) });
      // The German lines of a person, in place of the server's English.
      const markers = await walk.page.locator(".handoff-marker").allTextContents();
      assert.deepEqual(markers, ["Dana Reyes ist dem Gespräch beigetreten.", "Dana Reyes hat das Gespräch verlassen."]);
      await screenshot(walk.page, "locale-de-handed-back");

      const refused = await openWith(contexts[1], limited, await mintToken("gerd", "locale-de"), { locale: "de" }, de);
      await walkRefused({ page: refused.page, labels: de, visit: visit(refused.page) });
      assert.match(await refused.page.getByRole("alert").innerText(), /Höchstzahl an Nachrichten/);

      console.log(`German, ${ENGLISH.length + SERVER_ENGLISH.length} English sentences looked for in: ${seen.join(", ")}`);
      assert.equal(seen.length, 11);
      assert.deepEqual(found, []);
      assert.deepEqual([...walk.errors, ...refused.errors], []);
    } finally {
      await Promise.all(contexts.map((c) => c.close()));
    }
  });

  it("right to left (a pseudo-locale), the composer and the bubbles are mirrored", TEST, async () => {
    const token = await mintToken("rami", "locale-rtl");
    // The same words, mirrored: what a right-to-left language's layout is, without needing to read it.
    const pseudo = { dir: "rtl", lang: "en-XB", send: "dneS" };
    const layouts = {};
    for (const [name, labels] of [["ltr", {}], ["rtl", pseudo]]) {
      const context = await browser.newContext({ viewport: DESKTOP });
      try {
        const { page, errors } = await openWith(context, limited, token, { labels }, en);
        await openPanelIn(page, en);
        await send(page, en, `Hello from ${name}`);
        await page.locator('.msg[data-role="assistant"][data-status="sent"]').waitFor();
        const box = (selector) => page.locator(selector).first().boundingBox();
        layouts[name] = {
          dir: (await widgetText(page)).dir,
          log: await box(".log"), input: await box(".composer textarea"), send: await box(".send"),
          user: await box('.msg[data-role="user"] .bubble'), reply: await box('.msg[data-role="assistant"] .bubble'),
          sendText: await page.locator(".send").innerText(),
        };
        await screenshot(page, `locale-${name}`);
        assert.deepEqual(errors, []);
      } finally {
        await context.close();
      }
    }
    const { ltr, rtl } = layouts;
    assert.deepEqual([ltr.dir, rtl.dir], ["ltr", "rtl"]);
    assert.equal(rtl.sendText, "dneS");
    const right = (b) => b.x + b.width;
    // Left to right: the message box then Send; the customer's bubble at the right, the reply at the left.
    assert.ok(ltr.send.x >= right(ltr.input), JSON.stringify(ltr));
    assert.ok(Math.abs(right(ltr.user) - right(ltr.log)) < 30 && Math.abs(ltr.reply.x - ltr.log.x) < 30, JSON.stringify(ltr));
    // Right to left: Send then the message box; the customer's bubble at the left, the reply at the right.
    assert.ok(right(rtl.send) <= rtl.input.x, JSON.stringify(rtl));
    assert.ok(Math.abs(rtl.user.x - rtl.log.x) < 30 && Math.abs(right(rtl.reply) - right(rtl.log)) < 30, JSON.stringify(rtl));
    // The launcher stays in its corner of the page (the position prop's), the panel above it.
    assert.ok(Math.abs(right(rtl.log) - right(ltr.log)) < 1, "the panel is where it was");
  });
});
