import { encodeCursor } from "./validation";

/**
 * One page of a list read with `limit + 1` rows: the extra row only says that more follow, and
 * the page token names the last row shown (`cursorOf`), where the next page starts after.
 */
export function pageOf<Row>(
  rows: readonly Row[],
  limit: number,
  cursorOf: (last: Row) => Record<string, string | number>,
): { page: Row[]; nextPageToken: string } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { page, nextPageToken: rows.length > limit && last !== undefined ? encodeCursor(cursorOf(last)) : "" };
}
