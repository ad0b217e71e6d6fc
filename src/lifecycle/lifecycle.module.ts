import { type DynamicModule, Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { IdentityNowModule, type IdnProviderSource } from '../identitynow/identitynow.module';
import { IdentityNowMetricsBridge } from '../ops/identitynow-metrics.bridge';
import { WORKER_REDIS } from '../redis/redis.tokens';
import { WorkerRedisModule } from '../redis/worker-redis.module';
import { DedupeStore } from '../submission/dedupe.store';
import { RequestEvents } from '../tracking/request-events';
import { RequestStore } from '../tracking/request.store';
import { CancelProcessor } from './cancel.processor';
import { CancelService } from './cancel.service';
import { LifecyclePoller } from './lifecycle.poller';
import { LifecycleService } from './lifecycle.service';
import { LIFECYCLE_DEFAULTS, LIFECYCLE_SETTINGS, type LifecycleSettings } from './lifecycle.settings';

export interface LifecycleModuleOptions {
  /** Where and as whom to call IdentityNow, as for the submission worker. */
  readonly connection: IdnProviderSource;
  readonly settings?: Partial<LifecycleSettings>;
}

/** Following submitted pairs and cancelling them in IdentityNow (ROLE=worker|all). */
@Module({})
export class LifecycleModule {
  static forRoot(options: LifecycleModuleOptions): DynamicModule {
    return {
      module: LifecycleModule,
      imports: [
        WorkerRedisModule,
        IdentityNowModule.forRoot({
          imports: [WorkerRedisModule],
          redis: { useExisting: WORKER_REDIS },
          connection: options.connection,
        }),
      ],
      providers: [
        { provide: LIFECYCLE_SETTINGS, useValue: { ...LIFECYCLE_DEFAULTS, ...options.settings } },
        {
          provide: RequestStore,
          inject: [WORKER_REDIS, APP_CONFIG],
          useFactory: (redis: Redis, config: AppConfig) => new RequestStore(redis, config),
        },
        DedupeStore,
        RequestEvents,
        LifecycleService,
        LifecyclePoller,
        CancelService,
        CancelProcessor,
        IdentityNowMetricsBridge,
      ],
    };
  }
}
