import { backoffCeilingMs, backoffDelayMs, worstCaseDeliveryMs } from "./backoff";

const settings = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 3_000 };

describe("exponential backoff with full jitter", () => {
  it("doubles the ceiling per attempt, up to the cap", () => {
    expect([1, 2, 3, 4, 5].map((a) => backoffCeilingMs(settings, a))).toEqual([500, 1_000, 2_000, 3_000, 3_000]);
  });

  it("waits a uniformly random time below the ceiling", () => {
    expect(backoffDelayMs(settings, 2, () => 0)).toBe(0);
    expect(backoffDelayMs(settings, 2, () => 0.5)).toBe(500);
    expect(backoffDelayMs(settings, 2, () => 0.999_999)).toBe(999);
    const samples = Array.from({ length: 2_000 }, () => backoffDelayMs(settings, 3));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...samples)).toBeLessThan(2_000);
    // Spread over the whole range, not clustered at the ceiling.
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    expect(mean).toBeGreaterThan(850);
    expect(mean).toBeLessThan(1_150);
  });

  it("bounds the worst case of one notification", () => {
    // 5 attempts timing out at 1 s, waits 500 + 1000 + 2000 + 3000.
    expect(worstCaseDeliveryMs(settings, 1_000)).toBe(5_000 + 6_500);
  });
});
