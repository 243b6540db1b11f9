// The package as `npm pack` makes it (what an app installs: it is not on a registry): the files it holds, the
// client directive on the widget's entry, and an app that installs the tarball and type-checks against it, under
// strict tsc, with none of this checkout's sources. Needs `npm run build` first (make widget-e2e does it).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { before, describe, it } from "node:test";
import { promisify } from "node:util";
import { ARTIFACTS, WIDGET } from "./harness.mjs";

const run = promisify(execFile);
const TSC = join(WIDGET, "node_modules", "typescript", "bin", "tsc");
const manifest = JSON.parse(await readFile(join(WIDGET, "package.json"), "utf8"));

/** `npm <args>` in `cwd`; its stdout, or the test fails with npm's own words. */
async function npm(args, cwd) {
  const { stdout } = await run("npm", args, { cwd, maxBuffer: 16 * 1024 * 1024 })
    .catch((error) => assert.fail(`npm ${args.join(" ")}: ${error.stderr}${error.stdout}`));
  return stdout;
}

/** Every file an `exports` entry names (types and import), as paths inside the package. */
function exportedFiles() {
  return Object.values(manifest.exports).flatMap((target) => Object.values(target)).map((file) => file.replace(/^\.\//, ""));
}

describe("the package (npm pack)", () => {
  /** The paths `npm pack --dry-run` would put in the tarball. */
  let packed = [];

  before(async () => {
    const [report] = JSON.parse(await npm(["pack", "--dry-run", "--json"], WIDGET));
    packed = report.files.map((file) => file.path);
  });

  it("holds the README, the LICENSE, the CHANGELOG, each entry's code and types, and the testing entry", () => {
    for (const file of [
      "package.json", "README.md", "LICENSE", "CHANGELOG.md",
      "dist/ai-chat-widget.js", "dist/index.d.ts",
      "dist/ai-sdk.js", "dist/ai-sdk/index.d.ts",
      "dist/testing.js", "dist/testing/index.d.ts",
    ]) {
      assert.ok(packed.includes(file), `${file} is packed (packed: ${packed.join(", ")})`);
    }
  });

  it("holds every file package.json's exports, main, module and types name", () => {
    for (const file of [...exportedFiles(), manifest.main, manifest.module, manifest.types].map((f) => f.replace(/^\.\//, ""))) {
      assert.ok(packed.includes(file), `${file} is packed`);
    }
    assert.deepEqual(Object.keys(manifest.exports), [".", "./ai-sdk", "./testing"]);
  });

  it("holds nothing from src/, e2e/, scripts/, the demo or the tests", () => {
    const stray = packed.filter((file) => /^(src|e2e|scripts|test-artifacts|node_modules|dist\/demo)\//.test(file) ||
      /\.test\.(ts|tsx|js)$/.test(file) || /^dist\/.*\.spec\./.test(file));
    assert.deepEqual(stray, []);
    // The declarations of the package's own tests and demo are not emitted.
    assert.deepEqual(packed.filter((file) => /(^|\/)(demo|[^/]+\.test)\.d\.ts$/.test(file)), []);
  });

  it("marks the widget's entry a client module (\"use client\" first), and only it: the adapter and the fakes have no React",
    async () => {
      const first = async (file) => (await readFile(join(WIDGET, "dist", file), "utf8")).split("\n", 1)[0];
      assert.equal(await first("ai-chat-widget.js"), '"use client";');
      assert.notEqual(await first("ai-sdk.js"), '"use client";');
      assert.notEqual(await first("testing.js"), '"use client";');
      const adapter = await readFile(join(WIDGET, "dist", "ai-sdk.js"), "utf8");
      assert.doesNotMatch(adapter, /from "react/, "the adapter imports no React");
    });
});

// The useChat e2e app (e2e/apps/ai6: docs/streaming.md's install line) as an example app: its package.json and lock,
// the tarball installed over them, and use-chat-page.tsx (the docs' snippet) type-checked under strict tsc against
// the installed package's declarations, not the sources; with it a page of a host that uses the widget, the inbox,
// their callbacks and the testing entry (package-consumer.tsx). Under test-artifacts/, so that React's types are
// the widget's own (@types/react, as an app has them); the app's own ai and @ai-sdk/react.
describe("an app that installs the packed tarball", () => {
  const app = join(ARTIFACTS, "example-app");

  before(async () => {
    await rm(app, { recursive: true, force: true });
    await mkdir(app, { recursive: true });
    const [packedTo] = JSON.parse(await npm(["pack", "--json", "--pack-destination", app], WIDGET));
    for (const file of ["package.json", "package-lock.json"]) {
      await copyFile(join(WIDGET, "e2e", "apps", "ai6", file), join(app, file));
    }
    await npm(["install", "--no-save", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts",
      `./${packedTo.filename}`], app);
    for (const page of ["use-chat-page.tsx", "package-consumer.tsx"]) {
      await copyFile(join(WIDGET, "e2e", page), join(app, page));
    }
    await writeFile(join(app, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        target: "ES2022", lib: ["ES2022", "DOM", "DOM.Iterable"], module: "ESNext", moduleResolution: "bundler",
        jsx: "react-jsx", strict: true, noEmit: true, isolatedModules: true, verbatimModuleSyntax: true,
        // ai's declarations name node:http; the package's own are checked too (no skipLibCheck).
        types: ["node"],
      },
      files: ["use-chat-page.tsx", "package-consumer.tsx"],
    }, null, 2));
  });

  it("type-checks the docs' useChat page and a host's page against the installed package, under strict tsc",
    { timeout: 180_000 }, async () => {
      const { stdout } = await run(process.execPath, [TSC, "-p", join(app, "tsconfig.json"), "--listFiles"], { cwd: app })
        .catch((error) => assert.fail(`tsc: ${error.stdout}${error.stderr}`));
      const read = stdout.split("\n").filter(Boolean).map((file) => relative(app, file).split(sep).join("/"));
      for (const types of ["ai-sdk/index.d.ts", "index.d.ts", "testing/index.d.ts"]) {
        assert.ok(read.includes(`node_modules/@ai-chat/widget/dist/${types}`), `the installed package's ${types}`);
      }
      // Outside the app only TypeScript's libs and React's and Node's types (the widget's node_modules).
      assert.deepEqual(read.filter((file) => file.startsWith("../") && !file.includes("/node_modules/")), [],
        "no source of this checkout");
      assert.ok(read.includes("node_modules/ai/dist/index.d.ts"), "the app's own ai");
    });
});
