import { decodeCursor } from "./validation";
import { pageOf } from "./paging";

describe("pageOf", () => {
  const rows = [{ id: "a" }, { id: "b" }, { id: "c" }];

  it("shows `limit` rows and names the last one when the extra row says more follow", () => {
    const { page, nextPageToken } = pageOf(rows, 2, (last) => ({ i: last.id }));
    expect(page).toEqual([{ id: "a" }, { id: "b" }]);
    expect(decodeCursor("page_token", nextPageToken, ["i"])).toEqual({ i: "b" });
  });

  it("has no next page when no extra row came back", () => {
    expect(pageOf(rows, 3, (last) => ({ i: last.id }))).toEqual({ page: rows, nextPageToken: "" });
    expect(pageOf([], 3, () => ({ i: "x" }))).toEqual({ page: [], nextPageToken: "" });
  });
});
