import { withTimeout } from '../common/with-timeout';

/** A paused or overloaded Redis never answers: bound each request-path command so callers get a 503. */
export const API_REDIS_TIMEOUT_MS = 800;

export class RedisTimeoutError extends Error {
  constructor(ms: number) {
    super(`Redis did not answer within ${ms} ms`);
    this.name = 'RedisTimeoutError';
  }
}

export function withRedisTimeout<T>(command: Promise<T>, ms = API_REDIS_TIMEOUT_MS): Promise<T> {
  return withTimeout(command, ms, () => {
    throw new RedisTimeoutError(ms);
  });
}
