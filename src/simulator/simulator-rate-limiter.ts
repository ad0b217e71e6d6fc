import type { SimRateLimit } from './simulator.types';

export type RateDecision =
  { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

// IdentityNow's algorithm is undocumented: a sliding log (max calls in ANY window) is the strictest
// reading, so a client that survives the simulator survives the tenant. Refused calls use no budget.
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
    const waitMs = (times[0] ?? now) + windowMs - now;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  reset(): void {
    this.log.clear();
  }
}
