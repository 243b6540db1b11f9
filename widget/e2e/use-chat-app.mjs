// The useChat test apps: the example app's page (examples/use-chat/src) bundled by vite's build() into
// test-artifacts/use-chat-<app>/, and served by a small static server of its own, so the page's origin is not the
// API's (as an app's would be). The apps: examples/use-chat itself (ai 6, docs/streaming.md's install line), then
// each directory under e2e/apps/ (ai7: ai 7 and @ai-sdk/react 4), each with its own package.json and
// package-lock.json; `make widget-e2e` runs `npm ci` in each. The page is bundled with THAT app's ai, @ai-sdk/react
// and React, the adapter's own `import ... from "ai"` (widget/src/ai-sdk) included: none of the widget's own
// devDependencies.
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { join, relative, sep } from "node:path";
import { build } from "vite";
import { ARTIFACTS, REPO, WIDGET } from "./harness.mjs";

export const EXAMPLE = join(REPO, "examples", "use-chat");
const APPS = join(WIDGET, "e2e", "apps");
const BUNDLE = "use-chat-page.js";
const HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>useChat app</title></head>
<body><div id="root"></div><script type="module" src="/${BUNDLE}"></script></body>
</html>
`;
// Resolved from the app's directory whoever imports them (the page, the adapter in widget/src, @ai-sdk/react).
const APP_PACKAGES = ["ai", "@ai-sdk/react", "react", "react-dom"];

/**
 * The example app, then the apps under e2e/apps/ in name order: {name, dir, path (relative to widget/), tsconfig,
 * versions} with the versions its lock installs (ai, @ai-sdk/react, zod, react), and `missing` when its
 * node_modules is not there (`make widget-e2e` installs it).
 */
export async function useChatApps() {
  const names = (await readdir(APPS, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const dirs = [EXAMPLE, ...names.map((name) => join(APPS, name))];
  return Promise.all(dirs.map(async (dir) => {
    const name = dir === EXAMPLE ? "example" : relative(APPS, dir);
    const lock = JSON.parse(await readFile(join(dir, "package-lock.json"), "utf8"));
    const versions = Object.fromEntries(["ai", "@ai-sdk/react", "zod", "react"]
      .map((pkg) => [pkg, lock.packages[`node_modules/${pkg}`]?.version]));
    const missing = existsSync(join(dir, "node_modules", ".package-lock.json"))
      ? null : `${relative(REPO, dir)}/node_modules is missing: run \`npm ci\` there (make widget-e2e does)`;
    const path = relative(WIDGET, dir).split(sep).join("/");
    return { name, dir, path, tsconfig: join(dir, "tsconfig.json"), versions, missing };
  }));
}

const outDir = (app) => join(ARTIFACTS, `use-chat-${app.name}`);

/**
 * Bundle the page (React, @ai-sdk/react and ai inside) into test-artifacts/use-chat-<app>/use-chat-page.js; resolves
 * with {path, packages}: every package the bundle holds, as its directory relative to widget/ (sorted).
 */
export async function bundlePage(app) {
  const modules = [];
  await build({
    configFile: false,
    root: app.dir,
    logLevel: "warn",
    oxc: { jsx: { runtime: "automatic" } },
    define: { "process.env.NODE_ENV": JSON.stringify("production") },
    resolve: {
      // The package's adapter as an app imports it, from this checkout's source.
      alias: { "@ai-chat/widget/ai-sdk": join(WIDGET, "src", "ai-sdk", "index.ts") },
      dedupe: APP_PACKAGES,
    },
    plugins: [{
      name: "bundled-packages",
      buildEnd() {
        modules.push(...this.getModuleIds());
      },
    }],
    build: {
      outDir: outDir(app),
      emptyOutDir: true,
      target: "es2022",
      minify: false,
      sourcemap: false,
      rolldownOptions: {
        // swr's "use client" is for React Server Components' bundlers; a browser bundle has no use for it.
        onLog: (level, log, handler) => log.code === "MODULE_LEVEL_DIRECTIVE" || handler(level, log),
      },
      lib: { entry: join(EXAMPLE, "src", "main.tsx"), formats: ["es"], fileName: () => BUNDLE },
    },
  });
  const marker = `${sep}node_modules${sep}`;
  const packages = new Set();
  for (const id of modules) {
    const at = id.lastIndexOf(marker);
    if (at < 0 || id.startsWith("\0")) continue;
    const rest = id.slice(at + marker.length).split(sep);
    const name = rest[0].startsWith("@") ? rest.slice(0, 2).join("/") : rest[0];
    packages.add(relative(WIDGET, id.slice(0, at + marker.length) + name).split(sep).join("/"));
  }
  return { path: join(outDir(app), BUNDLE), packages: [...packages].sort() };
}

/** Serve the app's page at / and its bundle on 127.0.0.1 (a port of its own); resolves with {url, close}. */
export async function serveApp(app) {
  const server = createServer(async (request, response) => {
    const path = new URL(request.url ?? "/", "http://app").pathname;
    try {
      if (path === "/") {
        response.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(HTML);
      } else if (path === `/${BUNDLE}`) {
        response.writeHead(200, { "Content-Type": "text/javascript; charset=utf-8" })
          .end(await readFile(join(outDir(app), BUNDLE)));
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
