/** The part of a shard repository that routing and scatter-gather rely on. */
export interface BookingRepositoryLike {
  readonly index: number;
}

export interface Ordered {
  created_at: Date;
  id: string;
}

/** Newest first, ties broken by id (descending), the order every booking list uses. */
export function compareNewestFirst(a: Ordered, b: Ordered): number {
  const byTime = b.created_at.getTime() - a.created_at.getTime();
  if (byTime !== 0) return byTime;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * Scatter-gather for lists that span shards: each shard returns its first `limit + 1` rows
 * after the cursor in the global order; the merge keeps the first `limit`. Every shard's rows
 * before the cursor were already returned, so each row appears exactly once across pages.
 */
export async function scatterGather<S, R extends Ordered>(
  shards: readonly S[],
  limit: number,
  query: (shard: S, limit: number) => Promise<R[]>,
): Promise<{ rows: R[]; hasMore: boolean }> {
  const perShard = await Promise.all(shards.map((shard) => query(shard, limit + 1)));
  const merged = perShard.flat().sort(compareNewestFirst);
  return { rows: merged.slice(0, limit), hasMore: merged.length > limit };
}
