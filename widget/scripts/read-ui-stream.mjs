// What the AI SDK (the `ai` package this widget pins, 6.x) makes of a captured UI message stream body: read with the
// SDK's own code, nothing re-implemented, and printed as one JSON object on stdout.
//
//   node scripts/read-ui-stream.mjs [--status 200] [--content-type text/event-stream] [FILE | -]
//
// FILE (or stdin) is the response body exactly as the server sent it. Three readers see it:
// - `chunks` / `invalid`: parseJsonEventStream with uiMessageChunkSchema, as DefaultChatTransport parses a response:
//   every event the schema accepts, in order, and every one it refuses (data that is not strict JSON, or not a chunk);
// - `chat`: an AbstractChat with a DefaultChatTransport whose fetch answers with the body (and --status), sent one
//   message, as `useChat` would: its status and error at the end, its assistant message (parts, metadata), and in
//   order what its callbacks heard (`events`: transient data parts, the error, the finish flags). The chat stops
//   reading at the first `error` chunk: whatever came after it is missing here;
// - `reader`: readUIMessageStream over the accepted chunks, which reads past errors: its last message and the errors;
// - `widget`: the widget's own parser (src/ui-message-stream.ts, compiled here with the widget's TypeScript), every
//   part it reads, so a test can hold it to the SDK's reading of the same body.
//
// Exit status: 0 when the body was read (whatever the SDK thought of it); 2 when the SDK cannot be loaded (run
// `npm ci` in widget/) or the input cannot be read. tests/sdk_reader.py runs it from pytest.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const WIDGET = join(dirname(fileURLToPath(import.meta.url)), "..");
const STREAM_URL = "http://captured.invalid/api/v1/ai/chat/stream";

function fail(message) {
  process.stderr.write(`read-ui-stream: ${message}\n`);
  process.exit(2);
}

/** The SDK, or a clear failure: a missing install must never look like a stream the SDK accepted. */
async function loadSdk() {
  try {
    const sdk = await import("ai");
    const { version } = JSON.parse(await readFile(join(WIDGET, "node_modules", "ai", "package.json"), "utf8"));
    return { sdk, version };
  } catch (error) {
    fail(`the AI SDK (npm package "ai") cannot be loaded from ${join(WIDGET, "node_modules")}: run \`npm ci\` in ` +
      `widget/ (or \`make install\`). ${error.code ?? ""} ${error.message}`);
  }
}

function parseArgs(argv) {
  const options = { status: 200, contentType: "text/event-stream; charset=utf-8", file: "-" };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === "--status") options.status = Number(argv[++i]);
    else if (arg === "--content-type") options.contentType = argv[++i];
    else if (arg.startsWith("--")) fail(`unknown option ${arg}`);
    else options.file = arg;
  }
  if (!Number.isInteger(options.status) || options.status < 200 || options.status > 599) fail("--status must be 200-599");
  return options;
}

async function readInput(file) {
  try {
    if (file !== "-") return new Uint8Array(await readFile(file));
    const pieces = [];
    for await (const piece of process.stdin) pieces.push(piece);
    return new Uint8Array(Buffer.concat(pieces));
  } catch (error) {
    fail(`cannot read ${file === "-" ? "stdin" : file}: ${error.message}`);
  }
}

function bodyStream(bytes) {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

const errorText = (error) => (error instanceof Error ? error.message : String(error));

/** parseJsonEventStream with uiMessageChunkSchema: DefaultChatTransport's own parse, every result kept. */
async function parseChunks(sdk, bytes) {
  const chunks = [];
  const invalid = [];
  const parsed = sdk.parseJsonEventStream({ stream: bodyStream(bytes), schema: sdk.uiMessageChunkSchema });
  for await (const result of parsed) {
    if (result.success) chunks.push(result.value);
    else {
      // Data that is not JSON keeps its text on the error; JSON the schema refused is the parsed value.
      const text = result.rawValue === undefined ? result.error?.text ?? null : JSON.stringify(result.rawValue);
      invalid.push({ error: errorText(result.error), text });
    }
  }
  return { chunks, invalid };
}

/** The ChatState a UI framework would keep (React's keeps the same fields), as plain data. */
class PlainState {
  status = "ready";
  error = undefined;
  messages = [];
  pushMessage = (message) => { this.messages = [...this.messages, message]; };
  popMessage = () => { this.messages = this.messages.slice(0, -1); };
  replaceMessage = (index, message) => { this.messages = this.messages.map((m, i) => (i === index ? message : m)); };
  snapshot = (value) => structuredClone(value);
}

/** One message sent through AbstractChat + DefaultChatTransport, the response being the captured body. */
async function chatOver(sdk, bytes, { status, contentType }) {
  const events = [];
  class CapturedChat extends sdk.AbstractChat {
    constructor() {
      super({
        state: new PlainState(),
        transport: new sdk.DefaultChatTransport({
          api: STREAM_URL,
          fetch: async () => new Response(bodyStream(bytes), { status, headers: { "content-type": contentType } }),
        }),
        onData: (part) => events.push({ on: "data", part }),
        onError: (error) => events.push({ on: "error", message: errorText(error) }),
        onFinish: ({ isAbort, isDisconnect, isError, finishReason }) =>
          events.push({ on: "finish", isAbort, isDisconnect, isError, finishReason: finishReason ?? null }),
      });
    }
  }
  const chat = new CapturedChat();
  await chat.sendMessage({ text: "captured" });
  const message = chat.messages.findLast((m) => m.role === "assistant") ?? null;
  return { status: chat.status, error: chat.error ? errorText(chat.error) : null, message, events };
}

/** readUIMessageStream over the accepted chunks: it goes on past an `error` chunk, so it shows what useChat drops. */
async function readAll(sdk, chunks) {
  const errors = [];
  const stream = new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  let message = null;
  for await (const snapshot of sdk.readUIMessageStream({ stream, onError: (error) => errors.push(errorText(error)) })) {
    message = snapshot;
  }
  return { message, errors };
}

/**
 * The widget's readUiMessageStream: its TypeScript source (it imports nothing) compiled with the widget's
 * TypeScript, once per version of the source (loading the compiler takes a second or two; a test reads dozens of
 * bodies), cached under node_modules/.cache.
 */
async function loadWidgetParser() {
  try {
    const source = await readFile(join(WIDGET, "src", "ui-message-stream.ts"), "utf8");
    const digest = createHash("sha256").update(source).digest("hex").slice(0, 16);
    const compiled = join(WIDGET, "node_modules", ".cache", "read-ui-stream", `ui-message-stream-${digest}.mjs`);
    if (!existsSync(compiled)) {
      const { default: ts } = await import("typescript");
      const { outputText } = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      });
      await mkdir(dirname(compiled), { recursive: true });
      const partial = `${compiled}.${process.pid}`; // written whole, then renamed: parallel readers never see half
      await writeFile(partial, outputText);
      await rename(partial, compiled);
    }
    return await import(pathToFileURL(compiled).href);
  } catch (error) {
    fail(`the widget's parser (src/ui-message-stream.ts) cannot be loaded: ${error.message}`);
  }
}

/** Every part the widget's parser reads from the body, in order (the `done` of `[DONE]` left out). */
async function widgetParts(parser, bytes) {
  const parts = [];
  for await (const part of parser.readUiMessageStream(bodyStream(bytes))) {
    if (part.type !== "done") parts.push(part);
  }
  return { parts };
}

const options = parseArgs(process.argv.slice(2));
const { sdk, version } = await loadSdk();
const bytes = await readInput(options.file);
const { chunks, invalid } = await parseChunks(sdk, bytes);
const chat = await chatOver(sdk, bytes, options);
const reader = await readAll(sdk, chunks);
const widget = await widgetParts(await loadWidgetParser(), bytes);
process.stdout.write(`${JSON.stringify({ sdk: { ai: version }, chunks, invalid, chat, reader, widget })}\n`);
