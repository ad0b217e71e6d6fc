export class TimeoutError extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/** One promise, one timer, no race/async wrapper: every accept-path Redis command goes through here. */
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
