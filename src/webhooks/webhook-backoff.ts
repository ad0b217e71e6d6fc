/** Capped exponential, equal jitter (spread, still backing off); the last try lands on the window end. */
export function webhookRetryDelay(
  attemptsMade: number,
  baseMs: number,
  maxMs: number,
  msLeft: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attemptsMade - 1, 40)));
  const delay = Math.floor(exp / 2 + random() * (exp / 2));
  return Math.max(0, Math.min(delay, Math.ceil(msLeft)));
}
