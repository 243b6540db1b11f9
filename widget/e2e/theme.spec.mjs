// A host's brand, in Chromium against the real local server: the page sets the widget's custom properties
// (--ai-chat-accent, --ai-chat-accent-text, --ai-chat-radius, --ai-chat-font) on an element around the widget, and
// they reach through the shadow root to the launcher, the customer's bubbles and the panel; axe's colour contrast
// stays clean with them. The launcher moves to the bottom left with position="bottom-left". The inbox takes the same
// properties.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { scanner } from "./axe-scan.mjs";
import { launchBrowser, localServer, mintToken, openDemo, openPanel, suiteParts, watchPageErrors } from "./harness.mjs";

const TIMEOUT = 20_000;
const DESKTOP = { width: 1100, height: 760 };
const BRAND = { accent: "#6a1b9a", accentText: "#ffffff", radius: "4px", font: "Georgia, serif" };
const BRAND_RGB = "rgb(106, 27, 154)";
// The host's own stylesheet: on <body>, an ancestor of the widget's shadow host and of the inbox.
const HOST_CSS = `body { --ai-chat-accent: ${BRAND.accent}; --ai-chat-accent-text: ${BRAND.accentText};
  --ai-chat-radius: ${BRAND.radius}; --ai-chat-font: ${BRAND.font}; }`;

/** The computed `property` of the element `selector` finds inside the widget's shadow root. */
function inWidget(page, selector, property) {
  return page.evaluate(({ selector, property }) => {
    const element = document.querySelector("[data-ai-chat-widget]").shadowRoot.querySelector(selector);
    return getComputedStyle(element)[property];
  }, { selector, property });
}

describe("the host's brand and the launcher's corner", () => {
  const parts = suiteParts({ server: () => localServer("plain"), browser: launchBrowser });

  it("the host's accent, text colour, radius and font reach the widget, and axe's contrast stays clean", { timeout: 90_000 }, async () => {
    const context = await parts.browser.newContext({ viewport: DESKTOP });
    try {
      const { page, errors } = await openDemo(context, parts.server, await mintToken("hana", "theme"), TIMEOUT);
      const defaults = { launcher: await inWidget(page, ".launcher", "backgroundColor") };
      assert.equal(defaults.launcher, "rgb(11, 92, 173)", "the widget's own accent before the host sets one");
      await page.addStyleTag({ content: HOST_CSS });
      assert.equal(await inWidget(page, ".launcher", "backgroundColor"), BRAND_RGB);
      assert.equal(await inWidget(page, ".launcher", "color"), "rgb(255, 255, 255)");

      const axe = scanner(page, "the widget with the host's brand", "[data-ai-chat-widget]", [
        { name: "light", viewport: DESKTOP, colorScheme: "light" },
        { name: "dark", viewport: DESKTOP, colorScheme: "dark" },
      ]);
      await axe.scan("closed");
      await openPanel(page);
      await page.getByRole("textbox", { name: "Message" }).fill("Hello there");
      await page.getByRole("textbox", { name: "Message" }).press("Enter");
      await page.locator('.msg[data-role="assistant"][data-status="sent"]').waitFor();
      assert.equal(await inWidget(page, ".msg-user .bubble", "backgroundColor"), BRAND_RGB);
      assert.equal(await inWidget(page, ".msg-user .bubble", "color"), "rgb(255, 255, 255)");
      assert.equal(await inWidget(page, ".panel", "borderTopLeftRadius"), BRAND.radius);
      assert.equal(await inWidget(page, ".msg-assistant .bubble", "borderTopLeftRadius"), BRAND.radius);
      assert.match(await inWidget(page, ".panel", "fontFamily"), /^Georgia, serif$/);
      await page.getByRole("textbox", { name: "Message" }).fill("A draft, so Send is enabled");
      assert.equal(await inWidget(page, ".send", "backgroundColor"), BRAND_RGB);
      // Accented text (a link, "Talk to a person") is the brand on the light background, the dark theme's own blue on
      // the dark one: a brand picked for a light page is rarely readable as text on a dark one.
      await page.emulateMedia({ colorScheme: "light" });
      assert.equal(await inWidget(page, ".link-button", "color"), BRAND_RGB);
      await page.emulateMedia({ colorScheme: "dark" });
      assert.equal(await inWidget(page, ".link-button", "color"), "rgb(68, 147, 248)");
      assert.equal(await inWidget(page, ".launcher", "backgroundColor"), BRAND_RGB, "the fill stays the brand's");
      await axe.scan("open, a reply shown, a draft");
      axe.assertClean();
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("position=\"bottom-left\" puts the launcher and the panel in the bottom-left corner", { timeout: 60_000 }, async () => {
    const context = await parts.browser.newContext({ viewport: DESKTOP });
    await context.addInitScript(() => {
      window.AIChatDemo = { position: "bottom-left" };
    });
    try {
      const { page, errors } = await openDemo(context, parts.server, await mintToken("hana", "theme"), TIMEOUT);
      const launcher = await page.locator(".launcher").boundingBox();
      assert.equal(launcher.x, 16, JSON.stringify(launcher));
      assert.equal(launcher.y + launcher.height, DESKTOP.height - 16);
      await openPanel(page);
      const panel = await page.locator(".panel").boundingBox();
      assert.equal(panel.x, 16, JSON.stringify(panel));
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("the inbox takes the same properties: its Send button and corners, contrast clean", { timeout: 60_000 }, async () => {
    const tenant = "theme-inbox";
    const customer = await mintToken("carol", tenant);
    const chat = await fetch(`${parts.server.url}/api/v1/ai/chat`, {
      method: "POST", headers: { Authorization: `Bearer ${customer}`, "Content-Type": "application/json" },
      body: JSON.stringify({ message: "My bill doubled", session_id: null }),
    }).then((r) => r.json());
    await fetch(`${parts.server.url}/api/v1/ai/sessions/${chat.session_id}/escalate`, {
      method: "POST", headers: { Authorization: `Bearer ${customer}`, "Content-Type": "application/json" },
      body: JSON.stringify({ reason: "Billing dispute" }),
    });
    const context = await parts.browser.newContext({ viewport: DESKTOP });
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(TIMEOUT);
      const errors = watchPageErrors(page);
      await page.goto(`${parts.server.url}/#view=staff&token=${await mintToken("dana", tenant, { staffName: "Dana Reyes" })}`);
      await page.addStyleTag({ content: HOST_CSS });
      await page.getByRole("list", { name: "Waiting conversations" }).getByRole("button").filter({ hasText: "Billing dispute" }).click();
      await page.getByRole("textbox", { name: "Your reply" }).fill("Hello");
      const send = page.locator(".inbox-reply button[type=submit]");
      assert.equal(await send.evaluate((b) => getComputedStyle(b).backgroundColor), BRAND_RGB);
      const inbox = page.locator(".aichat-inbox");
      assert.equal(await inbox.evaluate((e) => getComputedStyle(e).borderTopLeftRadius), BRAND.radius);
      assert.equal(await inbox.evaluate((e) => getComputedStyle(e).fontFamily), BRAND.font);
      const axe = scanner(page, "the inbox with the host's brand", ".aichat-inbox", [{ name: "wide", viewport: DESKTOP }]);
      await axe.scan("a conversation open, a draft");
      axe.assertClean();
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
});
