import { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config';

/**
 * Every Redis connection of the process is made here. The API's fails fast (a request answers 503
 * at once while Redis is away); the worker's and BullMQ's wait out outages instead.
 */
export function createApiRedis(config: AppConfig): Redis {
  const redis = new Redis(config.redis.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    enableAutoPipelining: true,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
    connectionName: 'arg-api',
  });
  // Errors surface through commands and readiness; without a listener ioredis would log each retry.
  redis.on('error', () => undefined);
  return redis;
}

export function createWorkerRedis(config: AppConfig): Redis {
  const redis = new Redis(config.redis.url, {
    maxRetriesPerRequest: null,
    enableAutoPipelining: true,
    connectionName: 'arg-worker',
  });
  redis.on('error', () => undefined);
  return redis;
}

/** Options BullMQ can duplicate for its own (blocking) connections. */
export function bullConnection(config: AppConfig): Record<string, unknown> {
  const u = new URL(config.redis.url);
  return {
    host: u.hostname,
    port: u.port === '' ? 6379 : Number(u.port),
    ...(u.username !== '' ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password !== '' ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

/** One connection that many BullMQ queues and manual workers share (each worker adds a blocking one). */
export function createBullRedis(config: AppConfig): Redis {
  const redis = new Redis({ ...bullConnection(config), connectionName: 'arg-queues' });
  redis.on('error', () => undefined);
  return redis;
}

/** QUIT (lets pending replies arrive); if Redis is unreachable, drop the socket instead. */
export async function closeRedis(redis: Redis): Promise<void> {
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}
