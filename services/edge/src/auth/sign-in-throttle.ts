import { createHash } from "node:crypto";
import type { Logger } from "@clinic/platform/logging";
import type { Redis } from "@clinic/platform/redis";
import { Counter, type Registry } from "prom-client";

export interface SignInThrottleOptions {
  redis: Redis;
  keyPrefix: string;
  /** Failed sign-ins per e-mail address within `windowSeconds` before further attempts wait. */
  maxFailures: number;
  windowSeconds: number;
  registry: Registry;
  logger: Logger;
}

/**
 * Failed sign-ins per e-mail address, shared by the replicas through Redis: after `maxFailures`
 * wrong passwords within the window, that address's sign-ins are refused until the window ends,
 * from whatever network address they come (the per-address rate limit alone does not stop a
 * password guesser spread over many addresses). Unknown addresses are counted exactly like known
 * ones, so the answer never tells whether an account exists. A success clears the count.
 *
 * The trade-off: anyone can hold a victim out of signing in for one window by failing on
 * purpose; their existing sessions are untouched. If Redis is unavailable the throttle is
 * skipped (sign-ins are still limited per network address and slowed by scrypt).
 */
export class SignInThrottle {
  private readonly refused: Counter;

  constructor(private readonly options: SignInThrottleOptions) {
    this.refused = new Counter({
      name: "sign_in_throttled_total",
      help: "Sign-ins refused because their e-mail address had too many recent failures",
      registers: [options.registry],
    });
  }

  /** Seconds until sign-ins for this address are accepted again; 0 when they are now. */
  async waitSeconds(email: string): Promise<number> {
    const key = this.key(email);
    const result = await this.safely(async () => {
      const [count, ttl] = (await this.options.redis.multi().get(key).pttl(key).exec()) ?? [];
      return { count: Number(count?.[1] ?? 0), ttlMs: Number(ttl?.[1] ?? -1) };
    });
    if (!result || result.count < this.options.maxFailures) return 0;
    this.refused.inc();
    return Math.max(1, Math.ceil(result.ttlMs / 1000));
  }

  async recordFailure(email: string): Promise<void> {
    const key = this.key(email);
    await this.safely(async () => {
      // The window starts at the first failure; later failures do not extend it.
      await this.options.redis.multi().incr(key).expire(key, this.options.windowSeconds, "NX").exec();
    });
  }

  async recordSuccess(email: string): Promise<void> {
    await this.safely(() => this.options.redis.del(this.key(email)));
  }

  /** Hashed, so Redis never holds the e-mail addresses themselves. */
  private key(email: string): string {
    const digest = createHash("sha256").update(email.trim().toLowerCase(), "utf8").digest("base64url");
    return `${this.options.keyPrefix}signin-failures:${digest}`;
  }

  private async safely<T>(work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (err) {
      this.options.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "sign-in throttle unavailable (Redis); skipped");
      return undefined;
    }
  }
}
