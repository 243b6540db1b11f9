// The useChat test app: use-chat-page.tsx bundled with React by vite's build() into test-artifacts/use-chat/, and
// served by a small static server of its own, so the page's origin is not the API's (as an app's would be).
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { build } from "vite";
import { ARTIFACTS, WIDGET } from "./harness.mjs";

const OUT = join(ARTIFACTS, "use-chat");
const BUNDLE = "use-chat-page.js";
const HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>useChat app</title></head>
<body><div id="root"></div><script type="module" src="/${BUNDLE}"></script></body>
</html>
`;

/** Bundle the page (React, @ai-sdk/react and ai inside) into test-artifacts/use-chat/use-chat-page.js. */
export async function bundlePage() {
  await build({
    configFile: false,
    root: WIDGET,
    logLevel: "warn",
    oxc: { jsx: { runtime: "automatic" } },
    define: { "process.env.NODE_ENV": JSON.stringify("production") },
    // The package's adapter as an app imports it, from this checkout's source.
    resolve: { alias: { "@ai-chat/widget/ai-sdk": join(WIDGET, "src", "ai-sdk", "index.ts") } },
    build: {
      outDir: OUT,
      emptyOutDir: true,
      target: "es2022",
      minify: false,
      sourcemap: false,
      rolldownOptions: {
        // swr's "use client" is for React Server Components' bundlers; a browser bundle has no use for it.
        onLog: (level, log, handler) => log.code === "MODULE_LEVEL_DIRECTIVE" || handler(level, log),
      },
      lib: { entry: join(WIDGET, "e2e", "use-chat-page.tsx"), formats: ["es"], fileName: () => BUNDLE },
    },
  });
  return join(OUT, BUNDLE);
}

/** Serve the page at / and its bundle on 127.0.0.1 (a port of its own); resolves with {url, close}. */
export async function serveApp() {
  const server = createServer(async (request, response) => {
    const path = new URL(request.url ?? "/", "http://app").pathname;
    try {
      if (path === "/") {
        response.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(HTML);
      } else if (path === `/${BUNDLE}`) {
        response.writeHead(200, { "Content-Type": "text/javascript; charset=utf-8" }).end(await readFile(join(OUT, BUNDLE)));
      } else {
        response.writeHead(404).end();
      }
    } catch (error) {
      response.writeHead(500).end(String(error));
    }
  });
  await new Promise((listening) => server.listen(0, "127.0.0.1", listening));
  const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((closed) => server.close(closed)),
  };
}
