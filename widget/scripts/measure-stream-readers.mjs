// What reading the UI message stream costs a browser bundle: the AI SDK's own reader (parseJsonEventStream with
// uiMessageChunkSchema, from the `ai` package the widget pins) against the widget's parser (src/ui-message-stream.ts),
// each bundled alone by vite, minified, and gzipped. Prints one line per reader.
//
//   node scripts/measure-stream-readers.mjs
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "vite";

const WIDGET = join(dirname(fileURLToPath(import.meta.url)), "..");
const ENTRIES = {
  "the AI SDK's reader (ai)": `import { parseJsonEventStream, uiMessageChunkSchema } from "ai";
export const read = (stream) => parseJsonEventStream({ stream, schema: uiMessageChunkSchema });`,
  "the widget's parser": `export { readUiMessageStream } from ${JSON.stringify(join(WIDGET, "src", "ui-message-stream.ts"))};`,
};

// Inside the widget, so `ai` resolves from its node_modules.
const work = await mkdtemp(join(WIDGET, "node_modules", ".measure-"));
try {
  const { version } = JSON.parse(await readFile(join(WIDGET, "node_modules", "ai", "package.json"), "utf8"));
  for (const [name, source] of Object.entries(ENTRIES)) {
    const entry = join(work, "entry.mjs");
    await writeFile(entry, source);
    await build({
      configFile: false, root: WIDGET, logLevel: "silent",
      build: { outDir: join(work, "out"), emptyOutDir: true, minify: true, target: "es2022",
        lib: { entry, formats: ["es"], fileName: () => "bundle.js" } },
    });
    const bytes = await readFile(join(work, "out", "bundle.js"));
    const kb = (n) => `${(n / 1000).toFixed(1)} kB`;
    console.log(`${name}${name.includes("(ai)") ? ` ${version}` : ""}: ${kb(bytes.length)} minified, ${kb(gzipSync(bytes).length)} gzipped`);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
