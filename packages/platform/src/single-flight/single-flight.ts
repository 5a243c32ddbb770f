/**
 * One load per key at a time: callers asking for a key while its load runs share that load's
 * promise instead of each sending the same query or call. The entry goes when the load settles,
 * so a failure is not remembered and the next caller tries again.
 */
export class SingleFlight<K, V> {
  private readonly flights = new Map<K, Promise<V>>();

  run(key: K, load: () => Promise<V>): Promise<V> {
    const running = this.flights.get(key);
    if (running) return running;
    // A load that throws before returning its promise still settles the shared one.
    const started: Promise<V> = Promise.resolve()
      .then(load)
      .finally(() => {
        // Only our own entry: forget() may have let a newer load in under the same key.
        if (this.flights.get(key) === started) this.flights.delete(key);
      });
    this.flights.set(key, started);
    return started;
  }

  /** The next caller starts a fresh load (the running one may answer with what is now stale). */
  forget(key: K): void {
    this.flights.delete(key);
  }

  /** Whether a load of `key` is running: a caller about to start one for many keys leaves these out. */
  has(key: K): boolean {
    return this.flights.has(key);
  }

  /** `forget` for every key that passes `test` (e.g. all queries of a namespace a write changed). */
  forgetWhere(test: (key: K) => boolean): void {
    for (const key of this.flights.keys()) if (test(key)) this.flights.delete(key);
  }

  forgetAll(): void {
    this.flights.clear();
  }

  /** Loads running now (diagnostics, tests). */
  get size(): number {
    return this.flights.size;
  }
}
