export interface RetrySettings {
  /** Attempts in total, the first one included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** The upper bound of the wait after failed attempt `attempt` (1-based): base * 2^(attempt-1), capped. */
export function backoffCeilingMs(settings: RetrySettings, attempt: number): number {
  return Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** Math.max(0, attempt - 1));
}

/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
 * Jitter"): a uniformly random wait in [0, ceiling), so many consumers retrying against one
 * recovering provider spread out instead of arriving in waves.
 */
export function backoffDelayMs(settings: RetrySettings, attempt: number, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCeilingMs(settings, attempt));
}

/** The longest one notification can take: every attempt timing out, every wait at its ceiling. */
export function worstCaseDeliveryMs(settings: RetrySettings, sendTimeoutMs: number): number {
  let total = settings.maxAttempts * sendTimeoutMs;
  for (let attempt = 1; attempt < settings.maxAttempts; attempt++) total += backoffCeilingMs(settings, attempt);
  return total;
}
