// The real local server (python -m localdev, offline model, in-memory DynamoDB Local) and Debian's Chromium driven by
// playwright-core, for the browser tests. Nothing here is mocked: the widget talks HTTP to the same handlers as AWS.
import { spawn, execFile } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const WIDGET = resolve(here, "..");
export const REPO = resolve(WIDGET, "..");
export const ARTIFACTS = join(WIDGET, "test-artifacts");
const PYTHON = process.env.AICHAT_PYTHON ?? join(REPO, ".venv", "bin", "python");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const READY = /AI chat is running at (http:\/\/\S+?)\/?\s/;
// As localdev/process.py: the server must not pick up a developer's keys, endpoint or port.
const NOT_INHERITED = ["PORT", "DYNAMODB_ENDPOINT_URL", "TABLE_NAME", "LLM_", "OPENAI_", "ANTHROPIC_", "AWS_"];

/** The offline model's whole reply to `message`, after `earlier` earlier messages of the user's. */
export function offlineReply(message, earlier) {
  return `(offline model) You said: \u201c${message}\u201d. I can see ${earlier} earlier message${earlier === 1 ? "" : "s"} `
    + "in this conversation. Set OPENAI_API_KEY or ANTHROPIC_API_KEY for real answers.";
}

/** Poll `probe` until it returns a truthy value, or fail with `what` and the last value seen. */
export async function eventually(what, probe, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last;
    await sleep(50);
  }
  throw new Error(`${what} (last value: ${JSON.stringify(last)})`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** `python -m localdev --port 0 --in-memory` with `env` added; resolves once it prints its URL. */
export async function startServer(env = {}) {
  check(existsSync(PYTHON), `${PYTHON} is missing: run \`make install\` in ${REPO} first`);
  check(existsSync(join(WIDGET, "dist", "demo", "ai-chat-demo.js")), "the demo bundle is missing: run `npm run build` first");
  const environ = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !NOT_INHERITED.some((prefix) => name.startsWith(prefix))),
  );
  const child = spawn(PYTHON, ["-m", "localdev", "--port", "0", "--in-memory", "--quiet"], {
    cwd: REPO,
    env: { ...environ, PYTHONUNBUFFERED: "1", LLM_PROVIDER: "offline", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const url = await new Promise((resolveUrl, reject) => {
    // Four start at once when the specs run together: on a busy two-core machine that has taken a minute.
    const timer = setTimeout(() => reject(new Error(`the local server was not ready in 120 s:\n${output}`)), 120_000);
    const read = (chunk) => {
      output += chunk;
      const match = READY.exec(output);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    };
    child.stdout.setEncoding("utf8").on("data", read);
    child.stderr.setEncoding("utf8").on("data", read);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the local server exited with ${code}:\n${output}`));
    });
  });
  return {
    url,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((done) => child.once("exit", done));
      child.kill("SIGTERM"); // the server stops DynamoDB Local on SIGTERM
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

// The local servers the specs run against, by name: the environment each is started with. When the specs run together
// (e2e/run.mjs, `npm run test:e2e`) each is started once and shared by every spec file; each test keeps to tenants
// and users of its own, so what one test stores is never what another reads.
export const SERVERS = {
  plain: {},
  // Refuses a session's second chat (a chat stores 2 messages).
  limited: { MAX_MESSAGES_PER_SESSION: "2" },
  // Seconds per word: the offline model's ~30-word reply grows over ~1.5 s.
  fast: { OFFLINE_STREAM_PAUSE_SECONDS: "0.05" },
  // ~9 s a reply: time to see it streaming, scan it, and press Stop half-way.
  slow: { OFFLINE_STREAM_PAUSE_SECONDS: "0.3" },
};
// {name: url} of the shared servers, set by e2e/run.mjs for the spec files it runs.
const SHARED = "AICHAT_E2E_SERVERS";

/**
 * Every server of SERVERS, started at once, for e2e/run.mjs: `servers` by name, and `env`, the environment that hands
 * them to the spec files it runs.
 */
export async function startSharedServers() {
  const { parts: servers, failure } = await startEach(
    Object.fromEntries(Object.entries(SERVERS).map(([name, env]) => [name, () => startServer(env)])));
  if (failure) {
    await stopEach(servers);
    throw failure;
  }
  const urls = Object.fromEntries(Object.entries(servers).map(([name, server]) => [name, server.url]));
  return { servers, env: { [SHARED]: JSON.stringify(urls) } };
}

/**
 * The local server `name` (of SERVERS): the shared one when e2e/run.mjs started it (and is to stop it), else one
 * started for the caller alone (a spec file run by itself).
 */
export async function localServer(name) {
  check(name in SERVERS, `no local server named ${name}: ${Object.keys(SERVERS).join(", ")}`);
  const url = JSON.parse(process.env[SHARED] ?? "{}")[name];
  if (url) return { url, output: () => "", stop: async () => {} };
  return startServer(SERVERS[name]);
}

/**
 * The parts a suite runs against, named: `starters` maps each name to a function that starts one (a local server, the
 * browser, an app's page server, or makes what they serve) and resolves with it. Registers the suite's `before`, which
 * starts them all at once, and its `after`, which stops whatever did start, even when another part failed to start or
 * to stop. The returned object holds each part under its name once `before` has run.
 */
export function suiteParts(starters) {
  const parts = {};
  before(async () => {
    const { parts: started, failure } = await startEach(starters);
    Object.assign(parts, started); // kept when another part failed, for `after` to stop
    if (failure) throw failure;
  });
  after(() => stopEach(parts));
  return parts;
}

/** Start every part of `starters` at once: those that started, by name, and the first failure if any did not. */
async function startEach(starters) {
  const names = Object.keys(starters);
  const outcomes = await Promise.allSettled(names.map(async (name) => starters[name]()));
  const parts = Object.fromEntries(outcomes.flatMap((outcome, i) =>
    (outcome.status === "fulfilled" ? [[names[i], outcome.value]] : [])));
  return { parts, failure: outcomes.find((outcome) => outcome.status === "rejected")?.reason };
}

/** Stop every part at once (its stop() or close(); what was made, not run, has neither); throw the first failure. */
export async function stopEach(parts) {
  const outcomes = await Promise.allSettled(Object.values(parts).map(async (part) =>
    (part.stop ? part.stop() : part.close?.())));
  const failed = outcomes.find((outcome) => outcome.status === "rejected");
  if (failed) throw failed.reason;
}

/**
 * A dev token from the repository's own minting command, as README tells a developer to get one; with `staffName`
 * a support person's (role support, that display name); with `admin`, an admin's (GET /usage).
 */
export async function mintToken(user, tenant = "acme", { staffName, admin = false } = {}) {
  const staff = staffName ? ["--role", "support", "--name", staffName] : [];
  const { stdout } = await promisify(execFile)(PYTHON, ["-m", "localdev.token", "--user", user, "--tenant", tenant,
    ...staff, ...(admin ? ["--admin"] : [])], { cwd: REPO });
  return stdout.trim();
}

/** Call the API directly, to check what the widget did from the server's side. */
export async function api(server, token, method, path, body) {
  const response = await fetch(`${server.url}/api/v1/ai${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: await response.json() };
}

export async function launchBrowser() {
  check(existsSync(CHROMIUM), `${CHROMIUM} is missing: install it with \`apt-get install -y chromium\``);
  // launch() gives every browser a fresh temporary profile (Playwright's own --user-data-dir) and runs headless.
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Save a screenshot under widget/test-artifacts/. */
export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Fail the test on any error the page logs or throws, with the messages. */
export function watchPageErrors(page) {
  const errors = [];
  page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    // A refused request (the limit test's 400) is logged by the browser itself; that is expected, not a bug.
    if (message.type() === "error" && !/Failed to load resource/.test(message.text())) {
      errors.push(`console: ${message.text()}`);
    }
  });
  return errors;
}

/**
 * Open the local server's demo page with a token, as README tells a developer to, each wait at most `timeout` ms:
 * the page and the list of its errors, once the widget's launcher shows.
 */
export async function openDemo(context, server, token, timeout = 15_000) {
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  const errors = watchPageErrors(page);
  await page.goto(`${server.url}/#token=${token}`);
  await page.getByRole("button", { name: "Open AI assistant" }).waitFor();
  return { page, errors };
}

/** The staff view of the demo page (the agent inbox) with a staff token; in `theme` where one is given (the demo
 * page merges window.AIChatDemo into its own settings). */
export async function openInbox(context, server, token, { theme, timeout = 20_000 } = {}) {
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  const errors = watchPageErrors(page);
  if (theme) {
    await page.addInitScript((chosen) => {
      window.AIChatDemo = { theme: chosen };
    }, theme);
  }
  await page.goto(`${server.url}/#view=staff&token=${token}`);
  await page.locator(".aichat-inbox").waitFor();
  return { page, errors };
}

/** Open the widget's panel from its launcher, and wait for its conversation log. */
export async function openPanel(page) {
  await page.getByRole("button", { name: "Open AI assistant" }).click();
  await page.getByRole("log", { name: "Conversation" }).waitFor();
}
