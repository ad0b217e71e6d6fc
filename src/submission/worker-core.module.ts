import { type DynamicModule, Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { IdentityNowModule, type IdnProviderSource } from '../identitynow/identitynow.module';
import { IdentityNowMetricsBridge } from '../ops/identitynow-metrics.bridge';
import { WORKER_REDIS } from '../redis/redis.tokens';
import { WorkerRedisModule } from '../redis/worker-redis.module';
import { RequestEvents } from '../tracking/request-events';
import { RequestStore } from '../tracking/request.store';
import { DedupeStore } from './dedupe.store';

export interface WorkerCoreOptions {
  /** Where and as whom to call IdentityNow (bootstrap resolves it from IDN_* or the embedded simulator). */
  readonly connection: IdnProviderSource;
}

/** Shared by submission and lifecycle, once per worker process (one IdentityNow client, token cache). */
@Module({})
export class WorkerCoreModule {
  static forRoot(options: WorkerCoreOptions): DynamicModule {
    const identityNow = IdentityNowModule.forRoot({
      imports: [WorkerRedisModule],
      redis: { useExisting: WORKER_REDIS },
      connection: options.connection,
    });
    return {
      module: WorkerCoreModule,
      global: true,
      imports: [WorkerRedisModule, identityNow],
      providers: [
        DedupeStore,
        {
          provide: RequestStore,
          inject: [WORKER_REDIS, APP_CONFIG],
          useFactory: (redis: Redis, config: AppConfig) => new RequestStore(redis, config),
        },
        RequestEvents,
        IdentityNowMetricsBridge,
      ],
      exports: [identityNow, DedupeStore, RequestStore, RequestEvents],
    };
  }
}
