import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// In this repository, until the packed package is installed here, the adapter comes from the widget's source; its
// `import "ai"` must then find this app's ai (and React), not the widget's own devDependencies: hence `dedupe`.
const installed = existsSync(new URL("./node_modules/@ai-chat/widget/package.json", import.meta.url));
const source = fileURLToPath(new URL("../../widget/src/ai-sdk/index.ts", import.meta.url));

export default defineConfig({
  oxc: { jsx: { runtime: "automatic" } },
  resolve: {
    alias: installed ? {} : { "@ai-chat/widget/ai-sdk": source },
    dedupe: ["ai", "@ai-sdk/react", "react", "react-dom"],
  },
  build: {
    rolldownOptions: {
      // swr's "use client" is for React Server Components' bundlers; a browser bundle has no use for it.
      onLog: (level, log, handler) => log.code === "MODULE_LEVEL_DIRECTIVE" || handler(level, log),
    },
  },
  server: { host: "127.0.0.1", port: 5173, strictPort: true },
});
