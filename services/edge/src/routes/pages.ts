/** A list request's page fields as the services take them: unset is 0 and "" (the service's defaults). */
export const pageRequest = (query: { pageSize?: number; pageToken?: string }) => ({
  pageSize: query.pageSize ?? 0,
  pageToken: query.pageToken ?? "",
});

/** One page of a list answer: the items under `key`, and `nextPageToken` unless it is the last page. */
export function pageJson<K extends string, T>(key: K, items: T[], nextPageToken: string): Record<K, T[]> & { nextPageToken?: string } {
  return { [key]: items, ...(nextPageToken ? { nextPageToken } : {}) } as Record<K, T[]> & { nextPageToken?: string };
}
