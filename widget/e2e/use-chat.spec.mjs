// Any AI SDK app can use the streaming endpoint: the real useChat with the package's adapter
// (@ai-chat/widget/ai-sdk), set up as docs/streaming.md shows (the example app, examples/use-chat), in Chromium
// against the real local server and the offline model, from a page on another origin. Nothing is mocked; a dropped
// connection is caused by the browser's own request routing. The whole suite runs once per app (use-chat-app.mjs),
// each an install line of the docs with its lock (the example: ai 6 with @ai-sdk/react 3; e2e/apps/ai7: ai 7 with
// @ai-sdk/react 4), the example's page bundled and type-checked with that app's node_modules.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import {
  api, eventually, launchBrowser, localServer, mintToken, offlineReply, REPO, screenshot, sleep, suiteParts, WIDGET,
  watchPageErrors,
} from "./harness.mjs";
import { bundlePage, serveApp, useChatApps } from "./use-chat-app.mjs";

const TIMEOUT = 15_000;
const TEST = { timeout: 30_000 };
const run = promisify(execFile);
const TSC = join(WIDGET, "node_modules", "typescript", "bin", "tsc");

/** The versions of ai that `npm ls ai --all --json` shows in `dir`: one, when @ai-sdk/react's own ai is the app's. */
async function aiCopies(dir) {
  const { stdout } = await run("npm", ["ls", "ai", "--all", "--json"], { cwd: dir })
    .catch((error) => assert.fail(`npm ls ai in ${dir}: ${error.stderr}${error.stdout}`));
  const versions = new Set();
  const walk = (tree) => {
    for (const [name, dep] of Object.entries(tree.dependencies ?? {})) {
      if (name === "ai") versions.add(dep.version);
      walk(dep);
    }
  };
  walk(JSON.parse(stdout));
  return [...versions];
}

const apps = await useChatApps();
// The apps at once, one test at a time in each: each has its page bundled and served on its own, its own browser, and
// sessions and tenants of its own on the shared servers.
describe("the AI SDK's useChat in each app", { concurrency: true }, () => {
  for (const app of apps) useChatSuite(app);
});

function useChatSuite(app) {
  const { versions } = app;
  const title = `ai ${versions.ai}, @ai-sdk/react ${versions["@ai-sdk/react"]}, zod ${versions.zod}`;
  const shot = (page, name) => screenshot(page, `use-chat-${app.name}-${name}`);

  describe(`the AI SDK's useChat (${title}: ${app.path}) on POST /api/v1/ai/chat/stream`, { concurrency: false }, () => {
    let token;

    before(() => {
      assert.equal(app.missing, null, app.missing);
    });

    // The page is bundled while the servers start: serveApp serves the bundle only when it is asked for it.
    const parts = suiteParts({
      bundled: () => bundlePage(app),
      server: () => localServer("fast"),
      slow: () => localServer("slow"),
      served: () => serveApp(app),
      browser: launchBrowser,
    });

    before(async () => {
      token = await mintToken("carol");
    });

    /** Open the app on `target` (a local server) with `bearer`; it records the stream requests and responses. */
    async function openApp(context, target, bearer = token) {
      const page = await context.newPage();
      await page.addInitScript(() => {
        window.__keys = [];
      });
      page.setDefaultTimeout(TIMEOUT);
      const errors = watchPageErrors(page);
      const requests = [];
      const keys = [];
      const responses = [];
      const isStream = (request) => request.method() === "POST" && request.url().endsWith("/api/v1/ai/chat/stream");
      page.on("request", (request) => {
        if (!isStream(request)) return;
        requests.push(request.postDataJSON());
        keys.push(request.headers()["idempotency-key"]);
      });
      page.on("response", (response) => isStream(response.request())
        && responses.push({ status: response.status(), headers: response.headers() }));
      await page.goto(`${parts.served.url}/#server=${encodeURIComponent(target.url)}&token=${encodeURIComponent(bearer)}`);
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
      return { page, errors, requests, responses, keys };
    }

    /** A customer of a tenant of their own (so the tenant's day counters are theirs alone), and its admin's token. */
    async function ownTenant(name) {
      const tenant = `${name}-${Math.random().toString(36).slice(2, 10)}`;
      return { tenant, customer: await mintToken("carol", tenant), admin: await mintToken("boss", tenant, { admin: true }) };
    }

    /** Every reply the page shows: id, author and text. */
    function shownMessages(page) {
      return page.locator(".message").evaluateAll((items) => items.map((item) => ({
        id: item.dataset.id, role: item.dataset.role, author: item.dataset.author,
        text: [...item.querySelectorAll(".text")].map((p) => p.textContent).join(""),
      })));
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

    async function history(target, sessionId, bearer = token) {
      const answer = await api(target, bearer, "GET", `/sessions/${sessionId}/history`);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      return answer.body;
    }

    it(`type-checks the docs' set-up against the app's own ai and @ai-sdk/react (${relative(WIDGET, app.tsconfig)})`,
      TEST, async () => {
        const { stdout } = await run(process.execPath, [TSC, "-p", app.tsconfig, "--listFiles"], { cwd: WIDGET })
          .catch((error) => assert.fail(`tsc: ${error.stdout}${error.stderr}`));
        const read = stdout.split("\n").map((file) => relative(WIDGET, file).split(sep).join("/"));
        for (const pkg of ["ai", "@ai-sdk/react"]) {
          const types = `${app.path}/node_modules/${pkg}/dist/index.d.ts`;
          assert.ok(read.includes(types), `the app's ${pkg} types: ${types}`);
        }
        assert.deepEqual(read.filter((file) => /^node_modules\/(ai|@ai-sdk)\//.test(file)), [],
          "none of the widget's own ai or @ai-sdk packages");
      });

    it("bundles the page with the app's own ai, @ai-sdk/react and React (the adapter's import of ai too)", TEST, () => {
      const own = `${app.path}/node_modules/`;
      assert.deepEqual(parts.bundled.packages.filter((pkg) => !pkg.startsWith(own)), [], "all bundled packages: the app's");
      for (const pkg of ["ai", "@ai-sdk/react", "react", "react-dom"]) {
        assert.ok(parts.bundled.packages.includes(own + pkg), `${pkg} is bundled from ${own}: ${parts.bundled.packages}`);
      }
    });

    it("pins every dependency exactly, its lock made from them, and React as the widget pins it", TEST, async () => {
      const { dependencies: manifest, devDependencies: tools = {} } =
        JSON.parse(await readFile(join(app.dir, "package.json"), "utf8"));
      const lock = JSON.parse(await readFile(join(app.dir, "package-lock.json"), "utf8")).packages;
      assert.deepEqual(lock[""].dependencies, manifest, "the lock is made from the app's package.json");
      assert.deepEqual(lock[""].devDependencies ?? {}, tools, "its devDependencies too");
      for (const [pkg, version] of Object.entries({ ...manifest, ...tools })) {
        assert.match(version, /^\d+\.\d+\.\d+$/, `${pkg} is pinned exactly`);
        assert.equal(lock[`node_modules/${pkg}`]?.version, version, `the lock installs ${pkg}@${version}`);
      }
      const widget = JSON.parse(await readFile(join(WIDGET, "package.json"), "utf8")).devDependencies;
      assert.equal(manifest.react, widget.react);
      assert.equal(manifest["react-dom"], widget["react-dom"]);
    });

    it("installs as the docs say: their line for this ai is the app's package.json and lock, and makes one copy of ai",
      TEST, async () => {
        const docs = await readFile(join(REPO, "docs", "streaming.md"), "utf8");
        const section = docs.split("## Any `useChat` app", 2)[1].split("\n## ", 1)[0];
        const lines = [...section.matchAll(/`npm install (ai@\S+ @ai-sdk\/react@\S+ zod@\S+)`/g)].map((line) =>
          Object.fromEntries(line[1].split(" ").map((spec) => {
            const at = spec.lastIndexOf("@");
            return [spec.slice(0, at), spec.slice(at + 1)];
          })));
        const manifest = JSON.parse(await readFile(join(app.dir, "package.json"), "utf8")).dependencies;
        const named = lines.filter((line) => line.ai.split(".")[0] === manifest.ai.split(".")[0]);
        assert.deepEqual(lines.map((line) => line.ai).sort(), apps.map((each) => each.versions.ai).sort(),
          "one install line per app, each an app's");
        assert.equal(named.length, 1, `docs/streaming.md gives one install line for ai ${manifest.ai.split(".")[0]}`);
        assert.deepEqual(Object.keys(manifest).sort(), [...Object.keys(named[0]), "react", "react-dom"].sort(),
          "the app depends on what the line installs, and React");
        const lock = JSON.parse(await readFile(join(app.dir, "package-lock.json"), "utf8")).packages;
        for (const [pkg, version] of Object.entries(named[0])) {
          assert.equal(manifest[pkg], version, `package.json pins ${pkg}@${version}`);
          assert.equal(lock[`node_modules/${pkg}`]?.version, version, `the lock installs ${pkg}@${version}`);
        }
        assert.deepEqual(await aiCopies(app.dir), [named[0].ai], "@ai-sdk/react's own ai is the same copy");
      });

    describe("one conversation, two messages", () => {
      let context;
      let page;
      let errors;
      let requests;
      let responses;
      let sessionId;

      before(async () => {
        context = await parts.browser.newContext({ viewport: { width: 900, height: 700 } });
        ({ page, errors, requests, responses } = await openApp(context, parts.server));
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
        assert.equal(reply.id, metadata.message_id, "useChat's message has the stored reply's id, from `start`");
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
        await shot(page, "01-reply");
      });

      it("sends the next message with the first reply's session_id: the session holds all four messages", TEST, async () => {
        await send(page, "Second question");
        const reply = await finished(page, 2);
        assert.equal(reply.text, offlineReply("Second question", 1), "the model saw the earlier message");
        assert.equal(reply.metadata.session_id, sessionId);
        assert.deepEqual(requests[1], { message: "Second question", session_id: sessionId });

        const stored = await history(parts.server, sessionId);
        assert.deepEqual(stored.messages.map((m) => m.role), ["user", "assistant", "user", "assistant"]);
        assert.deepEqual(stored.messages.map((m) => m.content),
          ["Hello useChat", offlineReply("Hello useChat", 0), "Second question", offlineReply("Second question", 1)]);
        assert.equal(stored.messages[3].id, reply.metadata.message_id);
        assert.deepEqual(errors, []);
      });

      it("brings the conversation back after a reload, under the history's ids, and goes on in the same session", TEST, async () => {
        const stored = await history(parts.server, sessionId);
        await page.reload();
        const back = await eventually("the conversation is back", async () => {
          const shownNow = await shownMessages(page);
          return shownNow.length === 4 && shownNow;
        });
        assert.deepEqual(back.map((m) => m.id), stored.messages.map((m) => m.id));
        assert.deepEqual(back.map((m) => m.text), stored.messages.map((m) => m.content));
        await send(page, "Third question");
        const reply = await finished(page, 3);
        assert.equal(reply.metadata.session_id, sessionId, "the session id was kept across the reload");
      });
    });

    it("shows the create_ticket call as a dynamic-tool part with the ticket's id, then the answer", TEST, async () => {
      const context = await parts.browser.newContext({ viewport: { width: 900, height: 700 } });
      try {
        const { page, errors } = await openApp(context, parts.server);
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
        await shot(page, "02-tool");

        const stored = await history(parts.server, reply.metadata.session_id);
        const [call] = stored.messages.at(-1).function_calls;
        assert.equal(call.name, "create_ticket");
        assert.equal(call.result.id, tool.output.id);
        assert.deepEqual(errors, []);
      } finally {
        await context.close();
      }
    });

    it("Stop ends the reply half-way: the text stops growing and the server keeps the partial reply", TEST, async () => {
      const context = await parts.browser.newContext({ viewport: { width: 900, height: 700 } });
      try {
        const { page, errors } = await openApp(context, parts.slow);
        // The reply echoes it: ~40 words, 12 s, still streaming when Stop arrives on a busy machine.
        const message = "Tell me a long story, one about a lighthouse keeper, her cat, and the winter the lamp went out";
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
        await shot(page, "03-stopped");

        const answer = await eventually("the stop route answered", () => page.evaluate(() => window.__stopAnswer));
        assert.equal(answer.session_id, sessionId);
        assert.match(answer.message_id, /\S/);
        assert.equal(answer.ended, false, "the turn was still running");

        const stored = await eventually("the partial reply is stored", async () => {
          const { messages } = await history(parts.slow, sessionId);
          const last = messages.at(-1);
          return messages.length === 2 && last.role === "assistant" && last.status !== "pending" && messages;
        });
        const [asked, partial] = stored;
        assert.equal(asked.content, message);
        assert.ok(partial.content.length < full.length && full.startsWith(partial.content),
          `the stored reply is a start of the whole reply: ${partial.content}`);
        assert.equal(partial.content, stopped, "the stored reply is exactly what the person saw");
        assert.equal(answer.message_id, asked.id, "the stop route names the user message whose turn it stopped");
        assert.equal(growing.metadata.user_message_id, asked.id, "the start part's user_message_id");
        assert.equal(partial.stopped, "stopped");
        await page.reload();
        const back = await eventually("the conversation is back after a reload", async () => {
          const shownNow = await shownMessages(page);
          return shownNow.length === 2 && shownNow;
        });
        assert.deepEqual(back.map((m) => m.text), [message, stopped], "after a reload: what was seen, no more");
        assert.deepEqual(errors, []);
      } finally {
        await context.close();
      }
    });

    it("Stop pressed before the reply's start is sent once start arrives: nothing shown, nothing more stored", TEST, async () => {
      const context = await parts.browser.newContext({ viewport: { width: 900, height: 700 } });
      try {
        const { page, errors } = await openApp(context, parts.slow);
        // Hold the request a moment in the browser, so Stop is pressed before any part of the answer arrived.
        await page.route("**/api/v1/ai/chat/stream", async (route) => {
          await sleep(700);
          await route.continue();
        });
        await send(page, "Tell me a long story");
        await page.getByRole("button", { name: "Stop" }).click();
        const answer = await eventually("the stop route answered", () => page.evaluate(() => window.__stopAnswer));
        assert.equal(answer.ended, false);
        await eventually("useChat is ready after Stop", async () => (await status(page)) === "ready");
        const stored = await eventually("the stopped reply is stored", async () => {
          const { messages } = await history(parts.slow, answer.session_id);
          return messages.length === 2 && messages[1].status !== "pending" && messages;
        });
        assert.equal(stored[1].stopped, "stopped");
        assert.equal(stored[1].content, "", "nothing was shown, so nothing is kept");
        await page.reload();
        const back = await eventually("the conversation is back", async () => {
          const shownNow = await shownMessages(page);
          return shownNow.length === 2 && shownNow;
        });
        assert.deepEqual(back.map((m) => m.text), ["Tell me a long story", ""]);
        assert.deepEqual(errors, []);
      } finally {
        await context.close();
      }
    });

    it("Retry after a dropped connection gets the stored reply under the same key, charged once", TEST, async () => {
      const context = await parts.browser.newContext({ viewport: { width: 900, height: 700 } });
      try {
        const { tenant, customer, admin } = await ownTenant("retry");
        const { page, keys } = await openApp(context, parts.server, customer);
        // The first answer reaches the server and is stored whole, but the browser loses the connection.
        let dropped = false;
        await page.route("**/api/v1/ai/chat/stream", async (route) => {
          if (dropped) return route.continue();
          dropped = true;
          await route.fetch(); // the server answers and stores the reply
          await route.abort("connectionreset");
        });
        await send(page, "Hello once");
        await page.getByRole("button", { name: "Retry" }).click();
        await eventually("the retry began", async () => (await status(page)) !== "error");
        const reply = await finished(page, 1);
        assert.equal(reply.text, offlineReply("Hello once", 0));
        assert.equal(keys.length, 2);
        assert.equal(keys[0], keys[1], "the retry sent the same Idempotency-Key");

        const stored = await history(parts.server, reply.metadata.session_id, customer);
        assert.deepEqual(stored.messages.map((m) => m.role), ["user", "assistant"], "one turn stored");
        assert.equal(stored.messages[1].id, reply.id);
        const usage = await api(parts.server, admin, "GET", "/usage");
        assert.equal(usage.status, 200, JSON.stringify(usage.body));
        assert.equal(usage.body.tenant_id, tenant);
        assert.equal(usage.body.total_messages, 2, "the tenant's day counters hold one turn");
        assert.equal(usage.body.total_cost_cents, reply.metadata.cost_cents, "charged once");
      } finally {
        await context.close();
      }
    });

    it("shows a person's reply during a hand-over, as a message by that person", TEST, async () => {
      const context = await parts.browser.newContext({ viewport: { width: 900, height: 700 } });
      try {
        const { tenant, customer } = await ownTenant("handoff");
        const { page, errors } = await openApp(context, parts.server, customer);
        await send(page, "I want to talk to a person please");
        const reply = await finished(page, 1);
        assert.equal(reply.metadata.stopped, "escalated");
        await eventually("the app follows the hand-over", async () =>
          (await page.locator("[data-escalated]").getAttribute("data-escalated")) === "true");
        const dana = await mintToken("dana", tenant, { staffName: "Dana Reyes" });
        const sent = await api(parts.server, dana, "POST", `/agent/sessions/${reply.metadata.session_id}/messages`,
          { content: "Dana here, I have this." });
        assert.equal(sent.status, 201, JSON.stringify(sent.body));
        const people = await eventually("the person's reply shows", async () => {
          const byPeople = (await shownMessages(page)).filter((m) => m.author === "person");
          return byPeople.some((m) => m.text === "Dana here, I have this.") && byPeople;
        }, 15_000);
        assert.deepEqual(people.map((m) => m.text), ["Dana Reyes joined the conversation.", "Dana here, I have this."]);
        assert.equal(new Set((await shownMessages(page)).map((m) => m.id)).size, (await shownMessages(page)).length,
          "no message twice");
        await shot(page, "04-person");
        assert.deepEqual(errors, []);
      } finally {
        await context.close();
      }
    });

    it("a refusal before the stream starts reaches useChat's error as the API's {detail, code}", TEST, async () => {
      const context = await parts.browser.newContext();
      try {
        const { page, requests, responses } = await openApp(context, parts.server);
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
}
