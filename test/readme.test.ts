import { readFileSync } from "node:fs";
import * as path from "node:path";

const repo = path.join(__dirname, "..");

/** The part of scripts/api-walkthrough between its markers, which the README shows. */
function walkthroughBody(): string {
  const script = readFileSync(path.join(repo, "scripts/api-walkthrough"), "utf8");
  const match = /^# --- walk-through ---\n([\s\S]*?)^# --- end ---$/m.exec(script);
  if (!match) throw new Error("scripts/api-walkthrough has lost its '# --- walk-through ---' / '# --- end ---' markers");
  return match[1]!;
}

/** The chaos results block, between the markers chaos/run writes (loadtest/src/chaos/readme-results.ts). */
function chaosResultsBlock(readme: string): string {
  const match = /^<!-- chaos-results:start -->\n([\s\S]*?)^<!-- chaos-results:end -->$/m.exec(readme);
  if (!match) throw new Error("README.md has lost its chaos-results markers");
  return match[1]!;
}

describe("README", () => {
  it("shows the API walk-through exactly as scripts/api-walkthrough runs it (run by test/whole-platform.test.ts)", () => {
    const readme = readFileSync(path.join(repo, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## The API"));
    const block = /```sh\n([\s\S]*?)```/.exec(section);
    expect(block?.[1]).toBe(walkthroughBody());
  });

  it("shows the chaos suite's latest results exactly as chaos/run wrote them to chaos/results/latest.md", () => {
    const readme = readFileSync(path.join(repo, "README.md"), "utf8");
    expect(chaosResultsBlock(readme)).toBe(readFileSync(path.join(repo, "chaos/results/latest.md"), "utf8"));
  });
});
