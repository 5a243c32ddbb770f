import { useState } from "react";
import { useLoad, type Loaded } from "../hooks";

/** The page tokens of a paged list walked so far: the last one is the page shown. */
export interface PageTokens {
  /** The token of the page shown; undefined on the first page. */
  current: string | undefined;
  hasPrevious: boolean;
  previous(): void;
  next(token: string): void;
  /** Back to the first page (the list's filter changed). */
  reset(): void;
}

export function usePageTokens(): PageTokens {
  const [tokens, setTokens] = useState<string[]>([]);
  return {
    current: tokens[tokens.length - 1],
    hasPrevious: tokens.length > 0,
    previous: () => setTokens(tokens.slice(0, -1)),
    next: (token) => setTokens([...tokens, token]),
    reset: () => setTokens([]),
  };
}

/**
 * A list loaded page by page, newest first: `load` gets the query fields that pick the page shown
 * (none on the first page), and runs again when that page or one of `deps` changes.
 */
export function usePagedLoad<T>(load: (page: { pageToken?: string }) => Promise<T>, deps: readonly unknown[] = []): { pages: PageTokens; page: Loaded<T> } {
  const pages = usePageTokens();
  const token = pages.current;
  const page = useLoad(() => load(token ? { pageToken: token } : {}), [...deps, token]);
  return { pages, page };
}

/** Newer/older buttons under a list that is newest first; absent while there is only one page. */
export function Pager({ pages, next }: { pages: PageTokens; next: string | undefined }) {
  if (!pages.hasPrevious && !next) return null;
  return (
    <nav className="actions" aria-label="Pages">
      <button type="button" className="secondary" disabled={!pages.hasPrevious} onClick={pages.previous}>
        ← Newer
      </button>
      <button type="button" className="secondary" disabled={!next} onClick={() => next && pages.next(next)}>
        Older →
      </button>
    </nav>
  );
}
