export class TimeoutError extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * The promise's outcome, or `onTimeout()` (default: a TimeoutError) once `ms` have passed. One promise
 * and one timer, no race or async wrapper: every Redis command of the accept path goes through here.
 */
export function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  onTimeout: () => T | Promise<T> = () => {
    throw new TimeoutError(ms);
  },
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      Promise.resolve().then(onTimeout).then(resolve, reject);
    }, ms);
    const settled = (): void => {
      clearTimeout(timer);
    };
    promise.then(settled, settled);
    promise.then(resolve, reject);
  });
}
