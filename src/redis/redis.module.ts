import {
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { closeRedis, createApiRedis, releaseRedisConnections, type RedisClient } from './redis.connections';
import { REDIS } from './redis.tokens';

const BOOT_WAIT_MS = 5_000;

@Injectable()
class RedisLifecycle implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Redis');

  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

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
    await releaseRedisConnections(this.config);
  }
}

@Global()
@Module({
  providers: [{ provide: REDIS, inject: [APP_CONFIG], useFactory: createApiRedis }, RedisLifecycle],
  exports: [REDIS],
})
export class RedisModule {}
