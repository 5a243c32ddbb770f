import { SingleFlight } from "./single-flight";

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("SingleFlight", () => {
  it("runs one load for concurrent callers of a key and a separate one per key", async () => {
    const flights = new SingleFlight<string, number>();
    const loads: string[] = [];
    const gate = deferred<number>();
    const load = (key: string) => () => {
      loads.push(key);
      return gate.promise;
    };
    const a1 = flights.run("a", load("a"));
    const a2 = flights.run("a", load("a"));
    const b = flights.run("b", load("b"));
    gate.resolve(7);
    expect(await Promise.all([a1, a2, b])).toEqual([7, 7, 7]);
    expect(loads).toEqual(["a", "b"]);
    expect(flights.size).toBe(0);
  });

  it("does not remember a failure: the next caller loads again", async () => {
    const flights = new SingleFlight<string, string>();
    await expect(flights.run("k", () => Promise.reject(new Error("down")))).rejects.toThrow("down");
    await expect(
      flights.run("k", () => {
        throw new Error("thrown before a promise");
      }),
    ).rejects.toThrow("thrown before a promise");
    await expect(flights.run("k", async () => "up")).resolves.toBe("up");
  });

  it("after forget, a new load starts and the old one's settling does not evict it", async () => {
    const flights = new SingleFlight<string, string>();
    const old = deferred<string>();
    const fresh = deferred<string>();
    const first = flights.run("k", () => old.promise);
    flights.forget("k");
    const second = flights.run("k", () => fresh.promise);
    old.resolve("stale");
    await first;
    expect(flights.size).toBe(1);
    expect(flights.run("k", async () => "third")).toBe(second);
    fresh.resolve("fresh");
    expect(await second).toBe("fresh");
  });
});

describe("SingleFlight.has and forgetWhere", () => {
  it("has tells a running key from a settled one", async () => {
    const flights = new SingleFlight<string, number>();
    const gate = deferred<number>();
    const running = flights.run("a", () => gate.promise);
    expect(flights.has("a")).toBe(true);
    expect(flights.has("b")).toBe(false);
    gate.resolve(1);
    await running;
    expect(flights.has("a")).toBe(false);
  });

  it("forgetWhere forgets only the matching keys", () => {
    const flights = new SingleFlight<string, number>();
    const never = new Promise<number>(() => undefined);
    for (const key of ["ns1:a", "ns1:b", "ns2:a"]) void flights.run(key, () => never);
    flights.forgetWhere((key) => key.startsWith("ns1:"));
    expect([flights.has("ns1:a"), flights.has("ns1:b"), flights.has("ns2:a")]).toEqual([false, false, true]);
  });
});
