import type { Logger } from "@clinic/platform/logging";
import type { Redis } from "@clinic/platform/redis";
import { Counter, type Registry } from "prom-client";

/**
 * Rate limits shared by every edge replica through Redis.
 *
 * Each policy is a GCRA (generic cell rate algorithm, the "virtual scheduling" form of a leaky
 * bucket): a key holds one number, the theoretical arrival time (TAT) of the next request. A
 * policy of `limit` per `windowSeconds` admits a burst of `limit` and then one request every
 * `windowSeconds / limit`, so there is no window boundary at which twice the limit gets through.
 * One Lua script checks both policies that apply to a request (flood by IP, then anonymous by IP
 * or account by account id) in one round trip, on Redis's clock (`TIME`), so replicas with
 * skewed clocks still agree. A key expires when its TAT passes, which is when it would read as
 * absent anyway.
 *
 * Redis is never allowed to fail a request: a check that errs or takes longer than `timeoutMs`
 * is decided by an in-process copy of the same algorithm (`shared: false`), and Redis is left
 * alone for a cool-down before one probe tries it again. The two keys of a check are not in one
 * hash slot, so this needs a single Redis (or a primary with replicas), not Redis Cluster.
 */

export type RatePolicyName = "flood" | "anonymous" | "account";

export interface RatePolicy {
  limit: number;
  windowSeconds: number;
}

export type RatePolicies = Record<RatePolicyName, RatePolicy>;

/** The defaults of the edge's configuration. */
export const DEFAULT_RATE_POLICIES: RatePolicies = {
  flood: { limit: 1000, windowSeconds: 1 },
  anonymous: { limit: 10, windowSeconds: 60 },
  account: { limit: 100, windowSeconds: 60 },
};

export interface RateSubject {
  /** The client address as the edge trusts it (after X-Forwarded-For processing). */
  ip: string;
  /** Set for an authenticated caller: its budget is per account, not per address. */
  accountId?: string;
}

/**
 * The outcome of one check, as reported in headers: the refusing policy when one refused, else
 * the anonymous or account policy (the flood policy is only reported when it refuses).
 */
export interface RateDecision {
  allowed: boolean;
  policy: RatePolicyName;
  limit: number;
  windowSeconds: number;
  /** Requests that would be admitted right now, after this one. */
  remaining: number;
  /** Seconds until the whole `limit` is available again. */
  resetSeconds: number;
  /** Set when refused: seconds until a request would be admitted (at least 1). */
  retryAfterSeconds?: number;
  /** False when Redis was unavailable and this replica decided alone. */
  shared: boolean;
}

export interface RateLimiter {
  /** Never rejects and never waits much longer than `timeoutMs`. */
  check(subject: RateSubject): Promise<RateDecision>;
}

export interface RateLimiterOptions {
  /** From `createRedis`: no offline queue, so commands fail fast while disconnected. Connected by the caller. */
  redis: Redis;
  /** Put before every key, for deployments (or test stacks) that share one Redis. */
  keyPrefix: string;
  policies: RatePolicies;
  /** One limiter per registry: the metrics are registered here. */
  registry: Registry;
  logger: Logger;
  /** Milliseconds of this process's clock: the fallback limiter, the cool-down and log throttling. Redis uses its own. */
  now?: () => number;
  /** A Redis check slower than this is abandoned for the in-process limiter. Default 200. */
  timeoutMs?: number;
  /** After a Redis failure, checks stay in-process this long before one probes Redis again. Default 1000. */
  cooldownMs?: number;
  /** Keys the in-process limiter keeps; the least recently used go first. Default 100 000. */
  maxLocalKeys?: number;
}

/** Standard rate-limit headers (draft-ietf-httpapi-ratelimit-headers), plus `Retry-After` when refused. */
export function rateLimitHeaders(decision: RateDecision): Record<string, string> {
  const headers: Record<string, string> = {
    "RateLimit-Limit": String(decision.limit),
    "RateLimit-Remaining": String(decision.remaining),
    "RateLimit-Reset": String(decision.resetSeconds),
    "RateLimit-Policy": `${decision.limit};w=${decision.windowSeconds}`,
  };
  if (!decision.allowed) headers["Retry-After"] = String(decision.retryAfterSeconds ?? 1);
  return headers;
}

// ---- the algorithm --------------------------------------------------------------------------

/**
 * One policy as the algorithm sees it, in whole microseconds so Lua and JavaScript compute the
 * same thing without rounding drift. The interval is rounded up and the burst tolerance is
 * `limit` intervals, so exactly `limit` requests fit in a burst and the long-run rate is at most
 * `limit / window` (slower by under a microsecond per request).
 */
interface Step {
  policy: RatePolicyName;
  key: string;
  intervalUs: number;
  toleranceUs: number;
}

/** `refused`: 0 when every step allowed, else the 1-based step that refused (later steps untouched). */
interface Outcome {
  refused: number;
  /** Per step evaluated: how far its TAT is ahead of now after this request (µs). */
  usedUs: number[];
  /** When refused: how long until that step would admit a request (µs). */
  retryUs: number;
}

/**
 * KEYS: one per policy, checked in order. ARGV: interval and tolerance (µs) per key.
 * Returns {refused step or 0, used µs of step 1, used µs of step 2, retry µs}. A refused step
 * changes nothing, so a client hammering while refused does not push its own reset further out;
 * steps before it keep their admission (the flood policy counts every request that reached it).
 * TATs are written with %.0f: tostring would print 16-digit numbers in exponent form and lose
 * precision. Redis 7 replicates a script's effects, so writing after TIME is allowed.
 */
const GCRA_SCRIPT = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local result = {0, 0, 0, 0}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i - 1])
  local tolerance = tonumber(ARGV[2 * i])
  local tat = now
  local stored = redis.call('GET', KEYS[i])
  if stored then tat = math.max(tonumber(stored), now) end
  local next_tat = tat + interval
  if next_tat - now > tolerance then
    result[1] = i
    result[i + 1] = tat - now
    result[4] = next_tat - now - tolerance
    return result
  end
  redis.call('SET', KEYS[i], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000))
  result[i + 1] = next_tat - now
end
return result`;

const SCRIPT_NAME = "clinicRateLimit";

/** `defineCommand` adds the script as a method (EVALSHA, falling back to EVAL after NOSCRIPT). */
type LimitingRedis = Redis & {
  [SCRIPT_NAME](...keysThenArgs: (string | number)[]): Promise<unknown>;
};

function parseScriptReply(reply: unknown, steps: number): Outcome {
  if (!Array.isArray(reply) || reply.length !== 4 || !reply.every((n) => typeof n === "number")) {
    throw new Error(`unexpected rate-limit script reply: ${JSON.stringify(reply)}`);
  }
  const [refused, used1, used2, retryUs] = reply as [number, number, number, number];
  return { refused, usedUs: [used1, used2].slice(0, refused === 0 ? steps : refused), retryUs };
}

/**
 * The same GCRA in this process, for when Redis is unavailable. Bounded: a Map keeps insertion
 * order, so re-inserting on every write makes its first entries the least recently written;
 * those go first (an expired TAT reads as absent anyway, so most of them are already dead).
 */
class LocalGcra {
  private readonly tats = new Map<string, number>();

  constructor(private readonly maxKeys: number) {}

  get size(): number {
    return this.tats.size;
  }

  clear(): void {
    this.tats.clear();
  }

  evaluate(steps: readonly Step[], nowUs: number): Outcome {
    const usedUs: number[] = [];
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      const stored = this.tats.get(step.key);
      const tat = stored !== undefined && stored > nowUs ? stored : nowUs;
      const nextTat = tat + step.intervalUs;
      if (nextTat - nowUs > step.toleranceUs) {
        usedUs.push(tat - nowUs);
        return { refused: i + 1, usedUs, retryUs: nextTat - nowUs - step.toleranceUs };
      }
      this.tats.delete(step.key);
      this.tats.set(step.key, nextTat);
      usedUs.push(nextTat - nowUs);
    }
    for (const key of this.tats.keys()) {
      if (this.tats.size <= this.maxKeys) break;
      this.tats.delete(key);
    }
    return { refused: 0, usedUs, retryUs: 0 };
  }
}

function validatePolicy(name: RatePolicyName, policy: RatePolicy): void {
  if (!Number.isSafeInteger(policy.limit) || policy.limit < 1) {
    throw new Error(`rate policy ${name}: limit must be a positive integer, got ${policy.limit}`);
  }
  if (!Number.isFinite(policy.windowSeconds) || policy.windowSeconds <= 0) {
    throw new Error(`rate policy ${name}: windowSeconds must be positive, got ${policy.windowSeconds}`);
  }
}

class TimeoutError extends Error {
  constructor(ms: number) {
    super(`rate-limit check took longer than ${ms} ms`);
  }
}

type BackendFailure = "timeout" | "error" | "skipped";

/** Logs a warning at most once per interval, with how many were held back since the last one. */
const WARN_INTERVAL_MS = 10_000;

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const redis = options.redis as LimitingRedis;
  if (typeof redis[SCRIPT_NAME] !== "function") {
    redis.defineCommand(SCRIPT_NAME, { numberOfKeys: 2, lua: GCRA_SCRIPT });
  }
  const { keyPrefix, policies, logger } = options;
  for (const name of ["flood", "anonymous", "account"] as const) validatePolicy(name, policies[name]);
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 200;
  const cooldownMs = options.cooldownMs ?? 1_000;
  const local = new LocalGcra(options.maxLocalKeys ?? 100_000);
  const localNowUs = (): number => Math.floor(now() * 1000);

  const rejections = new Counter({
    name: "rate_limit_rejections_total",
    help: "Requests refused by the rate limiter, by the policy that refused them (flood, anonymous, account)",
    labelNames: ["policy"],
    registers: [options.registry],
  });
  const backendErrors = new Counter({
    name: "rate_limit_backend_errors_total",
    help:
      "Rate-limit checks decided by this replica alone because Redis could not be used, by reason: " +
      "timeout, error, skipped (connection down, or cool-down after a failure)",
    labelNames: ["reason"],
    registers: [options.registry],
  });

  const stepFor = (policy: RatePolicyName, key: string): Step => {
    const { limit, windowSeconds } = policies[policy];
    const intervalUs = Math.ceil((windowSeconds * 1_000_000) / limit);
    return { policy, key, intervalUs, toleranceUs: intervalUs * limit };
  };

  // Redis state: usable unless a failure put it in a cool-down; after that, one check at a time probes it.
  let downUntil: number | undefined;
  let probing = false;
  let lastWarnAt = -Infinity;
  let heldBackWarnings = 0;

  const warn = (reason: BackendFailure, err: unknown): void => {
    const at = now();
    if (at - lastWarnAt < WARN_INTERVAL_MS) {
      heldBackWarnings++;
      return;
    }
    lastWarnAt = at;
    const message = err instanceof Error ? err.message : String(err);
    logger.warn({ reason, err: message, heldBack: heldBackWarnings }, "rate limiter cannot use Redis; limiting per replica");
    heldBackWarnings = 0;
  };

  const viaRedis = async (steps: readonly Step[]): Promise<Outcome> => {
    const args: (string | number)[] = [...steps.map((s) => s.key), ...steps.flatMap((s) => [s.intervalUs, s.toleranceUs])];
    const call = redis[SCRIPT_NAME](...args);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(timeoutMs)), timeoutMs);
    });
    // An abandoned call still settles later (ioredis's own command timeout); nobody awaits it then.
    call.catch(() => undefined);
    try {
      return parseScriptReply(await Promise.race([call, timeout]), steps.length);
    } finally {
      clearTimeout(timer);
    }
  };

  const decide = async (steps: readonly Step[]): Promise<{ outcome: Outcome; shared: boolean }> => {
    const cooling = downUntil !== undefined && (now() < downUntil || probing);
    if (cooling || redis.status !== "ready") {
      // ioredis reconnects in the background; until it is ready there is nothing to wait for.
      if (!cooling) {
        warn("skipped", new Error(`redis connection is ${redis.status}`));
        downUntil = now() + cooldownMs;
      }
      backendErrors.inc({ reason: "skipped" });
      return { outcome: local.evaluate(steps, localNowUs()), shared: false };
    }
    const probe = downUntil !== undefined;
    probing = probe;
    try {
      const outcome = await viaRedis(steps);
      if (probe) {
        logger.info("rate limiter uses Redis again; limits are shared across replicas");
        // The per-replica counts are stale from now on; a later outage starts afresh.
        local.clear();
      }
      downUntil = undefined;
      return { outcome, shared: true };
    } catch (err) {
      const reason: BackendFailure = err instanceof TimeoutError ? "timeout" : "error";
      backendErrors.inc({ reason });
      warn(reason, err);
      downUntil = now() + cooldownMs;
      return { outcome: local.evaluate(steps, localNowUs()), shared: false };
    } finally {
      if (probe) probing = false;
    }
  };

  return {
    async check(subject) {
      const steps = [
        stepFor("flood", `${keyPrefix}ratelimit:flood:${subject.ip}`),
        subject.accountId !== undefined
          ? stepFor("account", `${keyPrefix}ratelimit:account:${subject.accountId}`)
          : stepFor("anonymous", `${keyPrefix}ratelimit:anonymous:${subject.ip}`),
      ];
      const { outcome, shared } = await decide(steps);
      const reported = outcome.refused === 0 ? steps.length - 1 : outcome.refused - 1;
      const step = steps[reported];
      const usedUs = outcome.usedUs[reported] ?? 0;
      const { limit, windowSeconds } = policies[step.policy];
      const allowed = outcome.refused === 0;
      if (!allowed) rejections.inc({ policy: step.policy });
      return {
        allowed,
        policy: step.policy,
        limit,
        windowSeconds,
        remaining: allowed ? Math.floor((step.toleranceUs - usedUs) / step.intervalUs) : 0,
        resetSeconds: Math.ceil(usedUs / 1_000_000),
        ...(allowed ? {} : { retryAfterSeconds: Math.max(1, Math.ceil(outcome.retryUs / 1_000_000)) }),
        shared,
      };
    },
  };
}
