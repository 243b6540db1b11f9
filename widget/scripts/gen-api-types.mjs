// The API's TypeScript types, generated from the OpenAPI document the Python layer builds (aichat/api/openapi.py) with
// openapi-typescript, so the widget declares none of the API's bodies by hand.
//
//   node scripts/gen-api-types.mjs           write src/api-schema.generated.ts   (npm run gen:api-types)
//   node scripts/gen-api-types.mjs --check   generate into a temp file, fail on any difference (npm run check:api-types)
//
// The document comes from the repository's virtualenv: AICHAT_PYTHON names its python (default ../.venv/bin/python,
// as `make install` makes it); a relative path is taken from the current directory. Not PYTHON: the Makefile already
// uses that name for the interpreter that makes the virtualenv, which has no pydantic.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import openapiTS, { astToString } from "openapi-typescript";

const WIDGET = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const REPO = resolve(WIDGET, "..");
const LAYER = join(REPO, "layers", "common", "python");
const OUTPUT = join(WIDGET, "src", "api-schema.generated.ts");
const PYTHON = resolve(process.env.AICHAT_PYTHON ?? join(REPO, ".venv", "bin", "python"));

const HEADER = `/**
 * GENERATED: do not edit. The API's OpenAPI document (layers/common/python/aichat/api/openapi.py) as TypeScript, by
 * openapi-typescript; \`npm run gen:api-types\` regenerates it and \`npm run check:api-types\` fails when it is stale.
 * The widget's own names for these types are in api-types.ts.
 */

`;

async function specJson() {
  const code = `import sys; sys.path.insert(0, ${JSON.stringify(LAYER)}); from aichat.api import openapi; print(openapi.spec_json())`;
  try {
    const { stdout } = await promisify(execFile)(PYTHON, ["-c", code], { cwd: REPO, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const hint = error.code === "ENOENT" ? ` (${PYTHON} is missing: run \`make install\` in ${REPO}, or set AICHAT_PYTHON)` : "";
    throw new Error(`could not build the OpenAPI document${hint}:\n${error.stderr || error.message}`);
  }
}

/** The generated module's text for the document in `specFile`. */
async function generate(specFile) {
  const ast = await openapiTS(pathToFileURL(specFile), {
    // Optional is what the document says it is: a property outside `required` may be missing, default or not (a
    // request may leave out a field with a default, and an error body carries only the fields its error has).
    defaultNonNullable: false,
    silent: true,
  });
  return HEADER + astToString(ast);
}

/** The first line where `a` and `b` differ, as "line N: expected … got …". */
function firstDifference(expected, actual) {
  const want = expected.split("\n");
  const got = actual.split("\n");
  for (let n = 0; n < Math.max(want.length, got.length); n += 1) {
    if (want[n] !== got[n]) {
      const show = (line) => (line === undefined ? "(end of file)" : JSON.stringify(line));
      return `line ${n + 1}: the document gives ${show(want[n])}, the committed file has ${show(got[n])}`;
    }
  }
  return "the files differ";
}

async function main() {
  const check = process.argv.includes("--check");
  const work = await mkdtemp(join(tmpdir(), "aichat-api-types-"));
  try {
    const specFile = join(work, "openapi.json");
    await writeFile(specFile, await specJson());
    const generated = await generate(specFile);
    const shown = relative(process.cwd(), OUTPUT) || OUTPUT;
    if (!check) {
      await writeFile(OUTPUT, generated);
      console.log(`wrote ${shown}`);
      return;
    }
    const fresh = join(work, "api-schema.generated.ts");
    await writeFile(fresh, generated);
    let committed = null;
    try {
      committed = await readFile(OUTPUT, "utf8");
    } catch {
      // Missing: reported below.
    }
    if (committed === generated) {
      console.log(`${shown} matches the API's OpenAPI document`);
      return;
    }
    const why = committed === null ? "it is missing" : firstDifference(generated, committed);
    console.error(`${shown} is not what the API's OpenAPI document generates (${why}).`);
    console.error("Run `npm run gen:api-types` in widget/ and commit the result.");
    process.exitCode = 1;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error.message ?? error);
  process.exitCode = 1;
});
