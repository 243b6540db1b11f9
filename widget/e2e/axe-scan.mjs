// axe-core in a page of Chromium, for the browser specs that check accessibility: the rule sets, one scan of a
// component's own DOM (the widget's shadow host, or the inbox's root), and a scanner that walks a component's states
// and fails once at the end with every violation found.
import assert from "node:assert/strict";
import { createRequire } from "node:module";

const AXE_SCRIPT = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
export const AXE_OPTIONS = {
  runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "best-practice"] },
  rules: {
    // The scans cover the components' own DOM, not the demo page around them. These rules judge the whole page:
    // that all its content sits in landmarks, that it has one main landmark, that it has an h1. A component cannot
    // satisfy them (the widget is one element at the end of <body>, the inbox a section in an app's page); they are
    // the host page's to get right, so they are left out here.
    region: { enabled: false },
    "landmark-one-main": { enabled: false },
    "page-has-heading-one": { enabled: false },
  },
  resultTypes: ["violations"],
};

/**
 * Run axe on `scope` (a selector of the component's root, or of the widget's shadow host) as the page shows it now;
 * axe.min.js is put into the page the first time (and again after a reload).
 */
export async function axeScan(page, scope) {
  if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ path: AXE_SCRIPT });
  return page.evaluate(async ({ scope, options }) => {
    const root = document.querySelector(scope);
    if (!root) throw new Error(`nothing on the page matches ${scope}`);
    const result = await window.axe.run({ include: [scope] }, options);
    const elements = (root.shadowRoot ?? root).querySelectorAll("*").length;
    return {
      rules: result.passes.length + result.violations.length,
      elements,
      violations: result.violations.map((v) => ({
        rule: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map((n) => `${n.target.flat().join(" >> ")}: ${n.failureSummary?.split("\n").slice(1).join(" ").trim()}`),
      })),
    };
  }, { scope, options: AXE_OPTIONS });
}

/**
 * Scans one component in one page through its states: `scan(state)` runs axe in each variant (a viewport size and,
 * for a component that follows the system's preference, a colour scheme), prints a line per state and keeps every
 * violation, for `assertClean` at the end.
 */
export function scanner(page, component, scope, variants) {
  const found = [];
  const lines = [];
  return {
    async scan(state) {
      const started = Date.now();
      const covered = new Set();
      let violations = 0;
      for (const variant of variants) {
        await page.setViewportSize(variant.viewport);
        if (variant.colorScheme) await page.emulateMedia({ colorScheme: variant.colorScheme });
        const result = await axeScan(page, scope);
        covered.add(`${result.rules} rules on ${result.elements} elements`);
        violations += result.violations.length;
        for (const violation of result.violations) found.push({ component, state, variant: variant.name, ...violation });
      }
      lines.push(`  ${state}: ${[...covered].join(" / ")}, ${violations} violations (${Date.now() - started} ms)`);
    },
    assertClean() {
      console.log(`axe (${AXE_OPTIONS.runOnly.values.join(", ")}) on ${component}, each state ${variants.length} times `
        + `(${variants.map((v) => v.name).join(", ")}):\n${lines.join("\n")}`);
      const said = found.flatMap((v) => v.nodes.map((node) => `${v.state} (${v.variant}): ${v.rule} (${v.impact}) ${node}`));
      assert.equal(found.length, 0, `axe found in ${component}:\n${said.join("\n")}`);
    },
  };
}
