// Accessibility, phones, language and direction, in Chromium against the real local server (the demo page and its
// staff view, the offline model): axe-core scans the chat widget and the agent inbox in every state they reach, light
// and dark, at a desktop's width and at a phone's (390 px); then the layout a phone gets: the inbox one column at a
// time with a way back to the list, the widget's panel the whole screen with no keyboard hint on a touch screen, and
// no empty block in a bubble. In German, the widget walks the same states (widget-states.mjs) and shows not one of the
// English labels' sentences, the server's included (an error by its code, the person's joined and left lines by their
// kind), its `lang` "de"; right to left, a pseudo-locale (English words, `dir="rtl"`) mirrors the composer and the
// bubbles, measured. Nothing is mocked.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { de, en } from "../dist/ai-chat-widget.js";
import { scanner } from "./axe-scan.mjs";
import { ENGLISH, SERVER_ENGLISH, shows, widgetText } from "./locale-text.mjs";
import {
  customerAndStaff, openDemoWith, openPanelIn, send, walkRefused, walkWidgetStates,
} from "./widget-states.mjs";
import {
  api, eventually, launchBrowser, localServer, mintToken, openDemo, openInbox, openPanel, screenshot, suiteParts,
} from "./harness.mjs";

const TIMEOUT = 20_000; // the widget and the inbox each look every 4 s
const TEST = { timeout: 120_000 };
const DESKTOP = { width: 1100, height: 760 };
const PHONE = { width: 390, height: 844 };
const WIDGET = "[data-ai-chat-widget]"; // the shadow host: axe reads the open shadow root under it
const INBOX = ".aichat-inbox";
// A reply of the offline model that echoes this has a paragraph, a list and a paragraph: blocks with margins.
const MARKDOWN_MESSAGE = "My bill doubled this month:\n\n- on the 3rd\n- on the 5th";

/** A customer's session asked for a person (`reason`), with their first message answered and `later` ones for the person. */
async function escalatedSession(server, tenant, user, first, reason, ...later) {
  const token = await mintToken(user, tenant);
  const chat = await api(server, token, "POST", "/chat", { message: first, session_id: null });
  assert.equal(chat.status, 200, JSON.stringify(chat.body));
  const id = chat.body.session_id;
  const escalated = await api(server, token, "POST", `/sessions/${id}/escalate`, { reason });
  assert.equal(escalated.status, 200, JSON.stringify(escalated.body));
  for (const message of later) {
    const kept = await api(server, token, "POST", "/chat", { message, session_id: id });
    assert.equal(kept.status, 200, JSON.stringify(kept.body));
  }
  return id;
}

/** The first and last element of each of the blocks' content, with their outer margins, for those not 0px. */
function outerMargins(page, selector) {
  return page.locator(selector).evaluateAll((blocks) => blocks.flatMap((block) => {
    const first = block.firstElementChild;
    const last = block.lastElementChild;
    if (!first || !last) return [];
    const top = getComputedStyle(first).marginTop;
    const bottom = getComputedStyle(last).marginBottom;
    return top === "0px" && bottom === "0px" ? [] : [{ block: block.className, first: first.tagName, top, last: last.tagName, bottom }];
  }));
}

/** Every visible control in `scope` whose box is not inside the viewport (scrolled to it) and inside `scope`'s box. */
async function controlsOutside(page, scope) {
  const controls = page.locator(scope).locator("button, textarea, input, select, a[href]");
  const outside = [];
  const viewport = page.viewportSize();
  let checked = 0;
  for (const control of await controls.all()) {
    if (!(await control.isVisible())) continue;
    checked += 1;
    await control.scrollIntoViewIfNeeded();
    const box = await control.boundingBox();
    const within = await page.locator(scope).boundingBox();
    const inside = (outer, b) => b.x >= outer.x - 0.5 && b.y >= outer.y - 0.5 && b.x + b.width <= outer.x + outer.width + 0.5 &&
      b.y + b.height <= outer.y + outer.height + 0.5;
    if (!inside({ x: 0, y: 0, ...viewport }, box) || !inside(within, box)) {
      outside.push({ control: (await control.getAttribute("aria-label")) ?? (await control.innerText()), box, within });
    }
  }
  assert.ok(checked > 0, `no visible control in ${scope}`);
  return outside;
}

// The three parts run at once, one test at a time in each: their waits overlap (a reply streaming a word every 0.3 s,
// the widget and the inbox looking every 4 s), and each has its own tenants and browser contexts.
const ONE_AT_A_TIME = { concurrency: false };

describe("accessibility (axe), phones, language and direction, on the local server's demo page", { concurrency: true }, () => {
  // On the slow server a reply can be seen (and scanned) streaming and stopped half-way; the limited one refuses a
  // session's second chat, to show a refusal.
  const parts = suiteParts({
    server: () => localServer("slow"), limited: () => localServer("limited"), browser: launchBrowser,
  });

  describe("axe finds nothing", ONE_AT_A_TIME, () => {
    // The demo's widget is theme="auto": each state is scanned with the system light and dark, wide and 390 px.
    const WIDGET_VARIANTS = [
      { name: "light", viewport: DESKTOP, colorScheme: "light" },
      { name: "dark", viewport: DESKTOP, colorScheme: "dark" },
      { name: "390px light", viewport: PHONE, colorScheme: "light" },
      { name: "390px dark", viewport: PHONE, colorScheme: "dark" },
    ];

    it("in the widget, from closed to a person's reply and handed back to the assistant", TEST, async () => {
      const { token, staff } = await customerAndStaff("ada", "a11y-widget");
      const context = await parts.browser.newContext({ viewport: DESKTOP });
      try {
        const { page, errors } = await openDemo(context, parts.server, token, TIMEOUT);
        const axe = scanner(page, "the widget", WIDGET, WIDGET_VARIANTS);
        await walkWidgetStates({
          page, server: parts.server, staffToken: staff, labels: en, visit: (state) => axe.scan(state),
        });
        axe.assertClean();
        assert.deepEqual(errors, []);
      } finally {
        await context.close();
      }
    });

    it("in the widget, when the API refuses a message", TEST, async () => {
      const context = await parts.browser.newContext({ viewport: DESKTOP });
      try {
        const { page, errors } = await openDemo(context, parts.limited, await mintToken("bea", "a11y-widget"), TIMEOUT);
        const axe = scanner(page, "the widget", WIDGET, WIDGET_VARIANTS);
        await walkRefused({ page, labels: en, visit: (state) => axe.scan(state) });
        axe.assertClean();
        assert.deepEqual(errors, []);
      } finally {
        await context.close();
      }
    });

    for (const theme of ["light", "dark"]) {
      it(`in the agent inbox (${theme}), from empty to a conversation handed back`, TEST, async () => {
        const tenant = `a11y-inbox-${theme}`;
        const dana = await mintToken("dana", tenant, { staffName: "Dana Reyes" });
        const context = await parts.browser.newContext({ viewport: DESKTOP });
        try {
          const { page, errors } = await openInbox(context, parts.server, dana, { theme, timeout: TIMEOUT });
          const axe = scanner(page, `the agent inbox (${theme})`, INBOX, [
            { name: "wide", viewport: DESKTOP }, { name: "390px", viewport: PHONE },
          ]);
          await page.getByText("Nobody is waiting.").waitFor();
          await axe.scan("empty");

          await escalatedSession(parts.server, tenant, "carol", MARKDOWN_MESSAGE, "Billing dispute",
            "Hello? I was charged twice.");
          await escalatedSession(parts.server, tenant, "dave", "My router keeps rebooting", "Router broken");
          await page.reload();
          const list = page.getByRole("list", { name: "Waiting conversations" });
          await eventually("both are listed", async () => (await list.getByRole("button").count()) === 2);
          await axe.scan("listing");

          await list.getByRole("button").filter({ hasText: "Billing dispute" }).click();
          const log = page.getByRole("log", { name: "Conversation" });
          await log.getByText("Hello? I was charged twice.", { exact: true }).waitFor();
          await axe.scan("a conversation open");

          const reply = page.getByRole("textbox", { name: "Your reply" });
          await reply.fill("Hi, Dana here. I can see both charges; refunding one now.");
          await reply.press("Enter");
          await page.getByText("Dana Reyes has this conversation").waitFor();
          await reply.fill("Anything else I can do?");
          await axe.scan("replying");

          await page.getByRole("button", { name: "Hand back to AI" }).click();
          await page.getByText("Handed back to the assistant").waitFor();
          // (Counted in the DOM: at 390 px the list is hidden behind the open conversation.)
          await eventually("it leaves the list", async () => (await page.locator(".inbox-entry").count()) === 1);
          await axe.scan("released");

          axe.assertClean();
          assert.deepEqual(errors, []);
        } finally {
          await context.close();
        }
      });
    }
  });

  describe("on a phone", ONE_AT_A_TIME, () => {
    const TOUCH = { viewport: PHONE, hasTouch: true, isMobile: true };
    const focused = (page) => page.evaluate(() => document.activeElement?.textContent ?? null);

    it("the inbox shows one column at a time, the list or the conversation with a way back, every control on the screen", TEST, async () => {
      const tenant = "a11y-phone";
      await escalatedSession(parts.server, tenant, "carol", MARKDOWN_MESSAGE, "Billing dispute",
        "Hello? I was charged twice.");
      const dana = await mintToken("dana", tenant, { staffName: "Dana Reyes" });
      const context = await parts.browser.newContext(TOUCH);
      try {
        const { page, errors } = await openInbox(context, parts.server, dana, { theme: "light", timeout: TIMEOUT });
        const entry = page.getByRole("list", { name: "Waiting conversations" }).getByRole("button")
          .filter({ hasText: "Billing dispute" });
        await entry.waitFor();
        assert.match(await entry.innerText(), /customer carol · waiting/, "the entry says who the customer is");
        assert.equal(await page.locator(".inbox-conversation").isVisible(), false, "the list alone");
        assert.equal(await page.locator(INBOX).evaluate((inbox) => inbox.getBoundingClientRect().width <= 390), true);
        assert.deepEqual(await controlsOutside(page, INBOX), []);
        await screenshot(page, "a11y-inbox-phone-list");

        await entry.click();
        const back = page.getByRole("button", { name: "Back to the list" });
        await back.waitFor();
        const log = page.getByRole("log", { name: "Conversation" });
        await log.getByText("Hello? I was charged twice.", { exact: true }).waitFor();
        assert.equal(await page.locator(".inbox-list").isVisible(), false, "the conversation alone");
        assert.equal(await page.getByRole("heading", { name: "Customer carol" }).isVisible(), true);
        assert.equal(await focused(page), "Back to the list", "focus went with the view, to its first control");
        await page.getByRole("button", { name: "Close conversation" }).waitFor();
        assert.equal(await page.getByText("Enter sends, Shift+Enter adds a line").isVisible(), false,
          "no keyboard hint on a touch screen");
        assert.deepEqual(await controlsOutside(page, INBOX), []);
        // The assistant's reply (a paragraph, a list, a paragraph) has no empty block above or below its text.
        assert.equal(await log.locator(".inbox-md ul").count(), 1);
        assert.deepEqual(await outerMargins(page, ".inbox-md"), []);
        await log.scrollIntoViewIfNeeded();
        await screenshot(page, "a11y-inbox-phone-conversation");

        await back.click();
        await entry.waitFor();
        assert.equal(await page.locator(".inbox-conversation").isVisible(), false, "the list again");
        assert.match(await focused(page), /^Billing dispute/, "focus is on the conversation it came from");
        assert.equal(await entry.getAttribute("aria-current"), "true", "which is still open");
        assert.deepEqual(errors, []);
      } finally {
        await context.close();
      }
    });

    it("the inbox keeps its two columns at a desktop's width, and its auto theme follows the system", TEST, async () => {
      const tenant = "a11y-desktop";
      await escalatedSession(parts.server, tenant, "carol", MARKDOWN_MESSAGE, "Billing dispute",
        "Hello? I was charged twice.");
      const dana = await mintToken("dana", tenant, { staffName: "Dana Reyes" });
      const context = await parts.browser.newContext({ viewport: DESKTOP });
      try {
        const { page, errors } = await openInbox(context, parts.server, dana, { theme: "light", timeout: TIMEOUT });
        await page.getByRole("list", { name: "Waiting conversations" }).getByRole("button")
          .filter({ hasText: "Billing dispute" }).click();
        await page.getByRole("log", { name: "Conversation" }).getByText("Hello? I was charged twice.", { exact: true }).waitFor();
        const list = await page.locator(".inbox-list").boundingBox();
        const conversation = await page.locator(".inbox-conversation").boundingBox();
        assert.ok(list.x + list.width <= conversation.x + 0.5 && Math.abs(list.y - conversation.y) < 0.5,
          `side by side: ${JSON.stringify({ list, conversation })}`);
        assert.equal(await page.getByRole("button", { name: "Back to the list" }).count(), 0, "no way back: both are there");
        assert.equal(await page.getByText("Enter sends, Shift+Enter adds a line").isVisible(), true, "the hint, with a keyboard");
        assert.equal(await page.getByRole("heading", { name: "Customer carol" }).isVisible(), true);
        assert.deepEqual(await outerMargins(page, ".inbox-md"), []);

        // The demo's staff view gives the inbox light or dark only; the attribute theme="auto" renders, set here, to
        // see its palette follow the system in a real browser.
        const inbox = page.locator(INBOX);
        await inbox.evaluate((element) => element.setAttribute("data-theme", "auto"));
        const background = () => inbox.evaluate((element) => getComputedStyle(element).backgroundColor);
        await page.emulateMedia({ colorScheme: "dark" });
        assert.equal(await background(), "rgb(28, 33, 40)");
        await page.emulateMedia({ colorScheme: "light" });
        assert.equal(await background(), "rgb(255, 255, 255)");
        assert.deepEqual(errors, []);
      } finally {
        await context.close();
      }
    });

    it("the widget's open panel is the whole screen, with no Shift+Enter hint on a touch screen", TEST, async () => {
      // The server without the pause: the reply comes at once (one chat is all this session needs).
      const token = await mintToken("cleo", "a11y-phone");
      const context = await parts.browser.newContext(TOUCH);
      try {
        const { page, errors } = await openDemo(context, parts.limited, token, TIMEOUT);
        await openPanel(page);
        const panel = await page.locator(".panel").boundingBox();
        assert.deepEqual([panel.x, panel.y, panel.width, panel.height], [0, 0, PHONE.width, PHONE.height],
          `the panel fills the screen: ${JSON.stringify(panel)}`);
        assert.equal(await page.locator(".panel").evaluate((element) => getComputedStyle(element).borderRadius), "0px");
        assert.equal(await page.locator(".launcher").isVisible(), false, "no launcher drawn over the panel");
        assert.equal(await page.getByText("Shift+Enter for a new line").isVisible(), false, "no keyboard hint on a touch screen");
        // The panel hides the page, so Tab and Shift+Tab go round its own controls, never to the page behind it.
        const inPanel = () => page.evaluate(() => {
          const active = document.activeElement?.shadowRoot?.activeElement;
          return Boolean(active?.closest(".panel"));
        });
        for (const key of [...Array(12).fill("Tab"), ...Array(12).fill("Shift+Tab")]) {
          await page.keyboard.press(key);
          assert.equal(await inPanel(), true, `focus stays in the panel after ${key}`);
        }

        await send(page, en, MARKDOWN_MESSAGE);
        const reply = page.locator('.msg[data-role="assistant"][data-status="sent"]');
        await reply.waitFor();
        assert.equal(await reply.locator(".bubble > ul").count(), 1);
        assert.deepEqual(await outerMargins(page, '.msg[data-role="assistant"] .bubble'), []);
        await screenshot(page, "a11y-widget-phone-open");

        await page.getByRole("button", { name: "Minimise chat" }).click();
        const launcher = page.getByRole("button", { name: "Open AI assistant" });
        await launcher.waitFor();
        await eventually("the launcher has focus", () =>
          page.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.getAttribute("aria-label") === "Open AI assistant"));
        assert.deepEqual(errors, []);
      } finally {
        await context.close();
      }
    });

    it("the widget at a desktop's width stays the floating card, with the hint", TEST, async () => {
      const context = await parts.browser.newContext({ viewport: DESKTOP });
      try {
        const { page, errors } = await openDemo(context, parts.limited, await mintToken("dora", "a11y-phone"), TIMEOUT);
        await openPanel(page);
        const panel = await page.locator(".panel").boundingBox();
        assert.equal(panel.width, 380);
        assert.ok(panel.height <= 600 && panel.y > 0, JSON.stringify(panel));
        assert.equal(await page.locator(".launcher").isVisible(), true);
        assert.equal(await page.getByText("Shift+Enter for a new line").isVisible(), true);
        assert.deepEqual(errors, []);
      } finally {
        await context.close();
      }
    });
  });

  describe("the widget's language and direction", ONE_AT_A_TIME, () => {
    it("in German, no English sentence of its own or of the server's in any state, and axe finds nothing", TEST, async () => {
      assert.ok(ENGLISH.length > 80, `the English sentences looked for: ${ENGLISH.length}`);
      const { token, staff } = await customerAndStaff("greta", "locale-de");
      const contexts = [
        await parts.browser.newContext({ viewport: DESKTOP }), await parts.browser.newContext({ viewport: DESKTOP }),
      ];
      try {
        const found = [];
        const seen = [];
        const scanners = [];
        // The words are what changes with the language (the names axe checks, the root's lang): one variant is enough.
        const visit = (page) => {
          const axe = scanner(page, "the widget in German", WIDGET, [{ name: "light", viewport: DESKTOP, colorScheme: "light" }]);
          scanners.push(axe);
          return async (state) => {
            const { text, lang } = await widgetText(page);
            assert.equal(lang, "de", state);
            seen.push(state);
            for (const sentence of [...ENGLISH, ...SERVER_ENGLISH]) if (shows(text, sentence)) found.push(`${state}: "${sentence}"`);
            await axe.scan(state);
          };
        };
        const walk = await openDemoWith(contexts[0], parts.server, token, { locale: "de" }, de, TIMEOUT);
        await walkWidgetStates({
          page: walk.page, server: parts.server, staffToken: staff, labels: de, visit: visit(walk.page),
        });
        // The German lines of a person, in place of the server's English.
        const markers = await walk.page.locator(".handoff-marker").allTextContents();
        assert.deepEqual(markers, ["Dana Reyes ist dem Gespräch beigetreten.", "Dana Reyes hat das Gespräch verlassen."]);
        await screenshot(walk.page, "locale-de-handed-back");

        const gerd = await mintToken("gerd", "locale-de");
        const refused = await openDemoWith(contexts[1], parts.limited, gerd, { locale: "de" }, de, TIMEOUT);
        await walkRefused({ page: refused.page, labels: de, visit: visit(refused.page) });
        assert.match(await refused.page.getByRole("alert").innerText(), /Höchstzahl an Nachrichten/);

        console.log(`German, ${ENGLISH.length + SERVER_ENGLISH.length} English sentences looked for in: ${seen.join(", ")}`);
        assert.equal(seen.length, 11);
        assert.deepEqual(found, []);
        for (const axe of scanners) axe.assertClean();
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
        const context = await parts.browser.newContext({ viewport: DESKTOP });
        try {
          const { page, errors } = await openDemoWith(context, parts.limited, token, { labels }, en, TIMEOUT);
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
});
