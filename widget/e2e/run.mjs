// The browser specs together, as `npm run test:e2e` runs them: the local servers they share (harness.mjs' SERVERS)
// started once and at once, then node's test runner over the spec files (every e2e/*.spec.mjs, or those named), two
// files at a time: on two cores one file's waits (a reply streaming, a poll every 4 s) are the other's time to run.
// The servers are stopped when the runner ends, and its exit status is this one's. A spec file run by itself
// (`node --test e2e/widget.spec.mjs`) starts servers of its own.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { startSharedServers, stopEach, WIDGET } from "./harness.mjs";

const CONCURRENCY = 2;
const named = process.argv.slice(2);
const files = named.length ? named : readdirSync(join(WIDGET, "e2e")).filter((file) => file.endsWith(".spec.mjs")).sort()
  .map((file) => relative(process.cwd(), join(WIDGET, "e2e", file)));

const { servers, env } = await startSharedServers();
const runner = spawn(process.execPath, ["--test", `--test-concurrency=${CONCURRENCY}`, "--test-reporter=spec", ...files], {
  env: { ...process.env, ...env },
  stdio: "inherit",
});
// Ctrl-C reaches the runner from the terminal; a SIGTERM (a CI's timeout) is passed on. Either way the servers stop after.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => runner.kill("SIGTERM"));
const [code, signal] = await new Promise((ended) => runner.once("exit", (...outcome) => ended(outcome)));
await stopEach(servers);
process.exitCode = code ?? (signal ? 1 : 0);
