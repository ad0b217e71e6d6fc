import type { SimRateLimit } from './simulator.types';

export type RateDecision =
  { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

/**
 * IdentityNow allows 100 calls per 10 s per client_id and answers 429 + Retry-After beyond that. Its
 * exact algorithm is not documented; this uses a sliding log (at most `max` calls in ANY interval of
 * `windowMs`), the strictest reading, so a client that survives the simulator survives the tenant.
 * Rejected calls are not logged: only calls that got through use up the budget.
 */
export class SimRateLimiter {
  private readonly log = new Map<string, number[]>();

  constructor(private limit: SimRateLimit) {}

  get settings(): SimRateLimit {
    return this.limit;
  }

  configure(limit: SimRateLimit): void {
    this.limit = limit;
    this.log.clear();
  }

  take(key: string, now: number): RateDecision {
    const { max, windowMs } = this.limit;
    if (max <= 0) return { allowed: true };
    let times = this.log.get(key);
    if (times === undefined) {
      times = [];
      this.log.set(key, times);
    }
    const from = now - windowMs;
    let drop = 0;
    while (drop < times.length && (times[drop] ?? 0) <= from) drop++;
    if (drop > 0) times.splice(0, drop);
    if (times.length < max) {
      times.push(now);
      return { allowed: true };
    }
    // The oldest call in the window leaves it at oldest + windowMs; then one slot is free.
    const waitMs = (times[0] ?? now) + windowMs - now;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  reset(): void {
    this.log.clear();
  }
}
