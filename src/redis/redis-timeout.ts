/**
 * The API connection has no offline queue, so a Redis that is down fails commands at once; a Redis
 * that is paused or overloaded accepts them and never answers. Every command on the request path
 * is bounded by this, so the caller gets a 503 within a second instead of a hang.
 */
export const API_REDIS_TIMEOUT_MS = 800;

export class RedisTimeoutError extends Error {
  constructor() {
    super(`Redis did not answer within ${API_REDIS_TIMEOUT_MS} ms`);
    this.name = 'RedisTimeoutError';
  }
}

export async function withRedisTimeout<T>(command: Promise<T>, ms = API_REDIS_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new RedisTimeoutError());
    }, ms);
  });
  try {
    return await Promise.race([command, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
