import { eventually } from "./eventually";
import { cacheRequests } from "./metrics";
import { RedisServer } from "./redis-server";

/** The private Redis of one describe block, as its tests see it. */
export interface SuiteRedis {
  readonly url: string;
  kill(): Promise<void>;
  restart(): Promise<void>;
  pause(): void;
  resume(): void;
}

/**
 * A private redis-server for the tests of the enclosing describe block (the stack's Redis is
 * shared and never stopped): started before them, together with whatever uses it (`startUsers`
 * gets its URL), and after them `stopUsers` runs and the server is killed. `each` restarts both
 * around every test instead, for tests that leave the server paused or dead.
 */
export function privateRedis(
  startUsers: (url: string) => Promise<void>,
  stopUsers: () => Promise<void>,
  options: { each?: boolean } = {},
): SuiteRedis {
  let server: RedisServer | undefined;
  const current = (): RedisServer => {
    if (!server) throw new Error("the suite's Redis is not started (used outside its describe block's tests)");
    return server;
  };
  (options.each ? beforeEach : beforeAll)(async () => {
    server = await RedisServer.start();
    await startUsers(server.url);
  });
  (options.each ? afterEach : afterAll)(async () => {
    await stopUsers();
    await server?.kill();
  });
  return {
    get url() {
      return current().url;
    },
    kill: () => current().kill(),
    restart: () => current().restart(),
    pause: () => current().pause(),
    resume: () => current().resume(),
  };
}

/**
 * After Redis came back: resolves once `read` (which asserts what it reads) is answered from the
 * cache again, as `cache_requests_total{cache, result="hit"}` on `metricsPort` counts it.
 */
export async function cachesAgain(metricsPort: number, cache: string, read: () => Promise<unknown>, timeoutMs = 15_000): Promise<void> {
  await eventually(async () => {
    const hits = await cacheRequests(metricsPort, cache, "hit");
    await read();
    return (await cacheRequests(metricsPort, cache, "hit")) > hits ? true : undefined;
  }, timeoutMs);
}
