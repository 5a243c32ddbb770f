/** The README's copy of the latest results table sits between these two lines. */
export const RESULTS_START = "<!-- chaos-results:start -->";
export const RESULTS_END = "<!-- chaos-results:end -->";

/**
 * The README with the block between the results markers replaced by `table` (chaos/results/
 * latest.md), so the README shows exactly what the last full run measured. Throws when the
 * markers are missing, out of order or doubled: the table must never land in a guessed place.
 */
export function withResults(readme: string, table: string): string {
  const start = readme.indexOf(RESULTS_START);
  const end = readme.indexOf(RESULTS_END);
  if (start < 0 || end < 0 || end < start) {
    throw new Error(`README.md has lost its "${RESULTS_START}" / "${RESULTS_END}" markers`);
  }
  if (readme.indexOf(RESULTS_START, start + 1) >= 0 || readme.indexOf(RESULTS_END, end + 1) >= 0) {
    throw new Error("README.md has more than one chaos results block");
  }
  const body = table.endsWith("\n") ? table : `${table}\n`;
  return `${readme.slice(0, start + RESULTS_START.length)}\n${body}${readme.slice(end)}`;
}

/** The block between the markers, as `withResults` wrote it (undefined without markers). */
export function resultsBlock(readme: string): string | undefined {
  const start = readme.indexOf(RESULTS_START);
  const end = readme.indexOf(RESULTS_END);
  if (start < 0 || end < start) return undefined;
  return readme.slice(start + RESULTS_START.length + 1, end);
}
