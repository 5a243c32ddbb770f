import { decodeResumeToken, encodeResumeToken, listHash } from "./resume-token";
import type { SlotState } from "./seat-state";

describe("resume token", () => {
  const ids = ["0190a1b2-0000-7000-8000-000000000001", "0190a1b2-0000-7000-8000-000000000002", "0190a1b2-0000-7000-8000-000000000003"];
  const hash = listHash(ids);
  const seats = (slotId: string, capacity: number, held: number): SlotState => ({
    kind: "seats",
    seats: { slotId, capacity, held, remaining: Math.max(0, capacity - held) },
  });

  it("says what was sent per slot, in the stream's order, and reads back the same", () => {
    const sent = new Map<string, SlotState>([
      [ids[0]!, seats(ids[0]!, 40, 7)],
      [ids[2]!, { kind: "missing", slotId: ids[2]! }],
    ]);
    const token = encodeResumeToken(ids, hash, sent);
    expect(token).toBe(`1.${hash}.14~7,,-`);
    expect(decodeResumeToken(token, ids, hash)).toEqual(sent);
  });

  it("keeps large counts exact", () => {
    const sent = new Map<string, SlotState>([[ids[1]!, seats(ids[1]!, 100_000, 99_999)]]);
    expect(decodeResumeToken(encodeResumeToken(ids, hash, sent), ids, hash)).toEqual(sent);
  });

  it("treats a token of another slot list, or anything malformed, as no token", () => {
    const token = encodeResumeToken(ids, hash, new Map([[ids[0]!, seats(ids[0]!, 2, 1)]]));
    const reordered = [ids[1]!, ids[0]!, ids[2]!];
    expect(decodeResumeToken(token, reordered, listHash(reordered)).size).toBe(0);
    for (const bad of [undefined, "", "garbage", `2.${hash}.1~0,,`, `1.${hash}.1~0,`, `1.${hash}.1~0,,,`, `1.${hash}.x_y,,`, `1.${hash}.1~0,,.extra`, "1." + "x".repeat(9_000)]) {
      expect(decodeResumeToken(bad, ids, hash).size).toBe(0);
    }
  });
});
