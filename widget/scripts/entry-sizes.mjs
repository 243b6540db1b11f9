#!/usr/bin/env node
// The size of each entry of the package as an app downloads it: every file of dist/ an entry loads (the entry and
// the shared chunks it imports, followed import by import), gzipped at level 9 as built (not minified: the package
// leaves that to the app's bundler) and minified first (rolldown's minifier, as vite's build of an app does), with
// each entry's total. Run after `npm run build`:  node scripts/entry-sizes.mjs  (--json for the figures as JSON).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { minifySync } from "rolldown/experimental";

const DIST = resolve(dirname(fileURLToPath(import.meta.url)), "..", "dist");
const ENTRIES = [
  ["@ai-chat/widget", "ai-chat-widget.js"],
  ["@ai-chat/widget/ai-sdk", "ai-sdk.js"],
  ["@ai-chat/widget/testing", "testing.js"],
];

/** The files of dist/ a built file imports (`import … from "./x.js"`, `export … from "./x.js"`), not the packages. */
function importsOf(file) {
  const code = readFileSync(join(DIST, file), "utf8");
  const found = new Set();
  for (const match of code.matchAll(/(?:^|[\s;])(?:import|export)\s[^;]*?from\s*["'](\.\/[^"']+)["']|import\s*["'](\.\/[^"']+)["']/gm)) {
    found.add((match[1] ?? match[2]).slice(2));
  }
  return [...found];
}

/** The entry and every chunk it loads, the entry first. */
function filesOf(entry) {
  const seen = [];
  const visit = (file) => {
    if (seen.includes(file)) return;
    seen.push(file);
    for (const next of importsOf(file)) visit(next);
  };
  visit(entry);
  return seen;
}

function sizeOf(file) {
  const code = readFileSync(join(DIST, file), "utf8");
  const gzip = (text) => gzipSync(Buffer.from(text), { level: 9 }).length;
  const minified = minifySync(file, code, { module: true, compress: true, mangle: true }).code;
  return { file, raw: Buffer.byteLength(code), gzip: gzip(code), minified: Buffer.byteLength(minified), minifiedGzip: gzip(minified) };
}

const sum = (files, key) => files.reduce((total, f) => total + f[key], 0);

const kB = (n) => `${(n / 1000).toFixed(2)} kB`;

for (const [, file] of ENTRIES) {
  if (!existsSync(join(DIST, file))) {
    console.error(`dist/${file} is missing: run \`npm run build\` first`);
    process.exit(1);
  }
}
const entries = ENTRIES.map(([name, file]) => {
  const files = filesOf(file).map(sizeOf);
  return {
    name, files, raw: sum(files, "raw"), gzip: sum(files, "gzip"), minified: sum(files, "minified"),
    minifiedGzip: sum(files, "minifiedGzip"),
  };
});

if (process.argv.includes("--json")) {
  console.log(JSON.stringify(entries, null, 2));
} else {
  const shared = [...new Set(entries.flatMap((e) => e.files.slice(1).map((f) => f.file)))];
  const rows = [
    ...entries.map((e) => e.files[0]),
    ...shared.map(sizeOf),
  ];
  const width = Math.max(...rows.map((r) => r.file.length), ...entries.map((e) => e.name.length)) + 2;
  const columns = ["raw", "gzip -9", "minified", "min+gzip -9"];
  const line = (label, r) => label.padEnd(width) +
    [r.raw, r.gzip, r.minified, r.minifiedGzip].map((n) => kB(n).padStart(13)).join("");
  const header = (label) => label.padEnd(width) + columns.map((c) => c.padStart(13)).join("");
  console.log(header("dist/ file"));
  for (const r of rows) console.log(line(r.file, r));
  console.log("");
  console.log(header("entry + its chunks"));
  for (const e of entries) {
    console.log(line(e.name, e));
    console.log(`  ${e.files.map((f) => f.file).join(" + ")}`);
  }
}
