import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module';
import { closeRedis, createWorkerRedis, type RedisClient } from './redis.connections';
import { WORKER_REDIS } from './redis.tokens';

@Injectable()
class WorkerRedisLifecycle implements OnApplicationShutdown {
  constructor(@Inject(WORKER_REDIS) private readonly redis: RedisClient) {}

  /** Runs after the processor's beforeApplicationShutdown has drained the worker. */
  async onApplicationShutdown(): Promise<void> {
    await closeRedis(this.redis);
  }
}

@Global()
@Module({
  providers: [
    { provide: WORKER_REDIS, inject: [APP_CONFIG], useFactory: createWorkerRedis },
    WorkerRedisLifecycle,
  ],
  exports: [WORKER_REDIS],
})
export class WorkerRedisModule {}
