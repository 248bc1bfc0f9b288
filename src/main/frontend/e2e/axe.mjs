// axe-core in the journey: every page the journey screenshots is also checked for accessibility, and each serious or
// critical violation becomes a problem (the journey fails on any). axe is evaluated into the page through the
// DevTools protocol, not added as a <script>: the app's CSP allows no inline script, and must not be relaxed for it.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const source = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** The serious and critical axe violations on the page as it is now, one line each, named `name`. */
export async function axeProblems(page, name) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(source);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  return violations.map((v) => `${name}: axe ${v.id} (${v.impact}): ${v.help} at ${v.targets.join(" | ")}`);
}
