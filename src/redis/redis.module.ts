import {
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';

export const REDIS = Symbol('REDIS');

/**
 * The API side's Redis connection (quota, idempotency, status, queue producer). Commands fail at
 * once while disconnected (no offline queue, one retry) so a request answers 503 quickly instead of
 * hanging; auto-pipelining batches the few commands each request sends.
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

const BOOT_WAIT_MS = 5_000;

/** QUIT (lets pending replies arrive); if Redis is unreachable, drop the socket instead. */
export async function closeRedis(redis: Redis): Promise<void> {
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}

@Injectable()
class RedisLifecycle implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Redis');

  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  /** Give Redis a moment at boot; if it is not there, start anyway and report not-ready (503s). */
  async onModuleInit(): Promise<void> {
    if (this.redis.status === 'ready') return;
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.redis.off('ready', onReady);
        resolve(false);
      }, BOOT_WAIT_MS);
      const onReady = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.redis.once('ready', onReady);
    });
    if (!ready) this.logger.warn('Redis is not reachable yet; requests get 503 until it is');
  }

  async onApplicationShutdown(): Promise<void> {
    await closeRedis(this.redis);
  }
}

@Global()
@Module({
  providers: [{ provide: REDIS, inject: [APP_CONFIG], useFactory: createApiRedis }, RedisLifecycle],
  exports: [REDIS],
})
export class RedisModule {}
