let lastMs = Number.NaN;
let lastIso = '';
let lastLogMs = Number.NaN;
let lastLogTime = '';

/**
 * `new Date(ms).toISOString()`, remembered for the last millisecond asked: Date's formatting is slow
 * next to the rest of the accept path, and a busy API accepts several requests per millisecond.
 */
export function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

/** pino's `stdTimeFunctions.isoTime`, byte for byte, formatted once per millisecond. */
export function pinoIsoTime(): string {
  const ms = Date.now();
  if (ms !== lastLogMs) {
    // Its own cache: isoTime's callers ask for other (earlier) milliseconds in between.
    lastLogTime = `,"time":"${new Date(ms).toISOString()}"`;
    lastLogMs = ms;
  }
  return lastLogTime;
}
