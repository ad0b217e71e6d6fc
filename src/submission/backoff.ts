/** Full jitter spreads the retries of jobs that failed together (an outage) instead of making waves. */
export function fullJitterDelay(
  attemptsMade: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attemptsMade - 1, 40)));
  return Math.floor(random() * (exp + 1));
}
