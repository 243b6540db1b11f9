import { resolve } from "node:path";
import { defineConfig } from "vitest/config";

const src = (file: string): string => resolve(import.meta.dirname, "src", file);

// Two builds from one config: the package (React left to the host app) and, with --mode demo, a single
// browser-ready file with React inside that the local server's demo page loads.
export default defineConfig(({ mode }) => {
  const demo = mode === "demo";
  return {
    oxc: { jsx: { runtime: "automatic" } },
    // Library mode leaves process.env.NODE_ENV for the app's bundler; the demo has no bundler after this one.
    define: demo ? { "process.env.NODE_ENV": JSON.stringify("production") } : {},
    build: {
      outDir: demo ? "dist/demo" : "dist",
      emptyOutDir: true,
      target: "es2022",
      sourcemap: true,
      minify: demo,
      lib: demo
        ? { entry: src("demo.tsx"), formats: ["es"], fileName: () => "ai-chat-demo.js" }
        : {
            // The widget, the AI SDK adapter (@ai-chat/widget/ai-sdk: no React) and the test fakes
            // (@ai-chat/widget/testing), sharing chunks of what they have in common (one ChatApiError class).
            entry: {
              "ai-chat-widget": src("index.ts"),
              "ai-sdk": src("ai-sdk/index.ts"),
              testing: src("testing/index.ts"),
            },
            formats: ["es"],
            fileName: (_format: string, name: string) => `${name}.js`,
          },
      rolldownOptions: {
        // The host app's React and AI SDK: one copy of each in its bundle.
        external: demo ? [] : (id: string) => /^(react(-dom)?|ai|@ai-sdk\/react)($|\/)/.test(id),
        // The widget's entry is a client module for React Server Components (a Next.js App Router page imports it
        // with no wrapper of its own). A library build drops the sources' module-level directives, so it is written
        // here, on that entry only: the AI SDK adapter and the fakes have no React.
        output: demo ? {} : { banner: (chunk) => (chunk.isEntry && chunk.name === "ai-chat-widget" ? '"use client";' : "") },
      },
    },
    test: {
      environment: "jsdom",
      include: ["src/**/*.test.{ts,tsx}"],
      restoreMocks: true,
    },
  };
});
