import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";

/** One rule a page breaks, with the elements that break it. */
export interface AxeViolation {
  rule: string;
  impact: string | null;
  help: string;
  elements: string[];
}

let axeSource: string | undefined;

/**
 * Runs axe-core (WCAG 2.1 A and AA, plus axe's best practices) on the page as it is now. axe is
 * evaluated through the DevTools protocol rather than added as a `<script>`, so the page's own
 * CSP stays as strict as it is in production.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const axe = (globalThis as any).axe;
    const results = await axe.run((globalThis as any).document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
    });
    return (results.violations as any[]).map((v) => ({
      rule: v.id as string,
      impact: v.impact as string | null,
      help: v.help as string,
      elements: (v.nodes as any[]).map((n) => `${(n.target as string[]).join(" ")}: ${n.failureSummary as string}`),
    }));
  });
}
