// The package as `npm pack` makes it (what an app installs: it is not on a registry): the files it holds, the
// client directive on the widget's entry, and an app that installs the tarball and type-checks against it, under
// strict tsc, with none of this checkout's sources. Needs `npm run build` first (make widget-e2e does it).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFile, cp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { before, describe, it } from "node:test";
import { promisify } from "node:util";
import { ARTIFACTS, REPO, WIDGET } from "./harness.mjs";

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

// The example app (examples/use-chat: docs/streaming.md's install line for ai 6) as an app outside this repository
// has it: its package.json and lock, the tarball installed over them, its page and the docs' hook type-checked under
// strict tsc against the installed package's declarations, not the sources, then built by its own `vite build` (its
// vite.config.ts uses the installed package once there is one); with it a page of a host that uses the widget, the
// inbox, their callbacks and the testing entry (package-consumer.tsx). Under test-artifacts/, so that Node's types
// are the widget's own (@types/node); React's and ai's are the app's.
describe("the example app, with the packed tarball installed", () => {
  const app = join(ARTIFACTS, "example-app");
  const example = join(REPO, "examples", "use-chat");

  before(async () => {
    await rm(app, { recursive: true, force: true });
    await mkdir(app, { recursive: true });
    const [packedTo] = JSON.parse(await npm(["pack", "--json", "--pack-destination", app], WIDGET));
    await cp(example, app, { recursive: true, filter: (from) => !/[/\\](node_modules|dist)$/.test(from) });
    await npm(["install", "--no-save", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts",
      `./${packedTo.filename}`], app);
    await copyFile(join(WIDGET, "e2e", "package-consumer.tsx"), join(app, "src", "package-consumer.tsx"));
    // The example's own tsconfig points at this checkout's source (for `make example`); a host has none of it.
    await writeFile(join(app, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        target: "ES2022", lib: ["ES2022", "DOM", "DOM.Iterable"], module: "ESNext", moduleResolution: "bundler",
        jsx: "react-jsx", strict: true, noEmit: true, isolatedModules: true, verbatimModuleSyntax: true,
        // ai's declarations name node:http; the package's own are checked too (no skipLibCheck).
        types: ["node"],
      },
      include: ["src"],
    }, null, 2));
  });

  it("type-checks the example's page, the docs' hook and a host's page against the installed package, under strict tsc",
    { timeout: 180_000 }, async () => {
      const { stdout } = await run(process.execPath, [TSC, "-p", join(app, "tsconfig.json"), "--listFiles"], { cwd: app })
        .catch((error) => assert.fail(`tsc: ${error.stdout}${error.stderr}`));
      const read = stdout.split("\n").filter(Boolean).map((file) => relative(app, file).split(sep).join("/"));
      for (const types of ["ai-sdk/index.d.ts", "index.d.ts", "testing/index.d.ts"]) {
        assert.ok(read.includes(`node_modules/@ai-chat/widget/dist/${types}`), `the installed package's ${types}`);
      }
      for (const page of ["src/main.tsx", "src/use-backend-chat.ts", "src/package-consumer.tsx"]) {
        assert.ok(read.includes(page), `${page} is checked`);
      }
      // Outside the app only TypeScript's libs and Node's types (the widget's node_modules).
      assert.deepEqual(read.filter((file) => file.startsWith("../") && !file.includes("/node_modules/")), [],
        "no source of this checkout");
      assert.ok(read.includes("node_modules/ai/dist/index.d.ts"), "the app's own ai");
      assert.ok(read.includes("node_modules/@types/react/index.d.ts"), "the app's own React types");
    });

  it("builds with its own vite and config, the adapter from the installed package", { timeout: 180_000 }, async () => {
    const modules = join(app, "modules.json");
    // A one-off config over the example's: the same settings, plus the list of every module the build read.
    await writeFile(join(app, "vite.listing.config.ts"), `import { writeFileSync } from "node:fs";
import { mergeConfig } from "vite";
import example from "./vite.config";
export default mergeConfig(example, { plugins: [{ name: "listing", buildEnd() {
  writeFileSync(${JSON.stringify(modules)}, JSON.stringify([...this.getModuleIds()]));
} }] });
`);
    await run(process.execPath, [join(app, "node_modules", "vite", "bin", "vite.js"), "build", "--config",
      "vite.listing.config.ts", "--logLevel", "warn"], { cwd: app })
      .catch((error) => assert.fail(`vite build: ${error.stdout}${error.stderr}`));
    const read = JSON.parse(await readFile(modules, "utf8")).filter((id) => !id.startsWith("\0")) // vite's own
      .map((file) => relative(app, file).split(sep).join("/"));
    assert.ok(read.includes("node_modules/@ai-chat/widget/dist/ai-sdk.js"), "the installed adapter is bundled");
    assert.deepEqual(read.filter((file) => file.startsWith("../")), [], "nothing from this checkout's sources");
    assert.match(await readFile(join(app, "dist", "index.html"), "utf8"), /<script type="module"/);
  });
});
