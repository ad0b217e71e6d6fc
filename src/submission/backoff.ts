/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"):
 * a uniformly random delay in [0, min(max, base * 2^(attempt-1))]. Full jitter spreads the retries
 * of many jobs that failed together (an IdentityNow outage) instead of bringing them back in waves.
 */
export function fullJitterDelay(
  attemptsMade: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attemptsMade - 1, 40)));
  return Math.floor(random() * (exp + 1));
}
