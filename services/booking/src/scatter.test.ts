import { compareNewestFirst, scatterGather, type Ordered } from "./scatter";

const row = (ms: number, id: string): Ordered => ({ created_at: new Date(ms), id });

describe("scatterGather", () => {
  it("pages through several shards returning every row once, newest first", async () => {
    const shards: Ordered[][] = [
      [row(10, "a"), row(7, "b"), row(3, "c")],
      [row(9, "d"), row(7, "e"), row(1, "f")],
      [],
      [row(8, "g"), row(7, "a0"), row(2, "h"), row(0, "i")],
    ].map((rows) => rows.sort(compareNewestFirst));
    const seen: string[] = [];
    let cursor: Ordered | undefined;
    for (let page = 0; page < 10; page += 1) {
      const { rows, hasMore } = await scatterGather(shards, 3, async (shard, limit) =>
        shard.filter((r) => !cursor || compareNewestFirst(cursor, r) < 0).slice(0, limit),
      );
      seen.push(...rows.map((r) => r.id));
      cursor = rows[rows.length - 1];
      if (!hasMore) break;
    }
    expect(seen).toEqual(["a", "d", "g", "e", "b", "a0", "c", "h", "f", "i"]);
  });
});
