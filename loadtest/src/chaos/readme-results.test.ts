import { RESULTS_END, RESULTS_START, resultsBlock, withResults } from "./readme-results";

const readme = (block: string): string => `# Title\n\nbefore\n\n${RESULTS_START}\n${block}${RESULTS_END}\n\nafter\n`;

describe("the chaos results block of the README", () => {
  it("replaces only what lies between the markers, and reads back what it wrote", () => {
    const table = "| scenario | RTO |\n|---|---:|\n| 1. kill -9 | 6.1 s |\n";
    const written = withResults(readme("| old | table |\n"), table);
    expect(written).toBe(readme(table));
    expect(resultsBlock(written)).toBe(table);
  });

  it("ends the table with a newline so the end marker keeps its own line", () => {
    expect(withResults(readme(""), "| a |")).toBe(readme("| a |\n"));
  });

  it("is idempotent: writing the same table twice changes nothing", () => {
    const once = withResults(readme("x\n"), "| a |\n");
    expect(withResults(once, "| a |\n")).toBe(once);
  });

  it("refuses a README without both markers, with them swapped, or with two blocks", () => {
    expect(() => withResults("# no markers\n", "t")).toThrow(/lost its/);
    expect(() => withResults(`${RESULTS_END}\n${RESULTS_START}\n`, "t")).toThrow(/lost its/);
    expect(() => withResults(readme("a\n") + readme("b\n"), "t")).toThrow(/more than one/);
  });
});
