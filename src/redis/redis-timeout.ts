import { withTimeout } from '../common/with-timeout';

/**
 * The API connection has no offline queue, so a Redis that is down fails commands at once; a Redis
 * that is paused or overloaded accepts them and never answers. Every command on the request path
 * is bounded by this, so the caller gets a 503 within a second instead of a hang.
 */
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
