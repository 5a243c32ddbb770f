import { readFileSync } from "node:fs";
import * as path from "node:path";
import { resultsBlock } from "../loadtest/src/chaos/readme-results";

const repo = path.join(__dirname, "..");

/** The part of scripts/api-walkthrough between its markers, which the README shows. */
function walkthroughBody(): string {
  const script = readFileSync(path.join(repo, "scripts/api-walkthrough"), "utf8");
  const match = /^# --- walk-through ---\n([\s\S]*?)^# --- end ---$/m.exec(script);
  if (!match) throw new Error("scripts/api-walkthrough has lost its '# --- walk-through ---' / '# --- end ---' markers");
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
    expect(resultsBlock(readme)).toBe(readFileSync(path.join(repo, "chaos/results/latest.md"), "utf8"));
  });
});
