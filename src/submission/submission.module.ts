import { type DynamicModule, Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ClientsModule } from '../clients/clients.module';
import { IdentityNowModule, type IdnProviderSource } from '../identitynow/identitynow.module';
import { IdentityNowMetricsBridge } from '../ops/identitynow-metrics.bridge';
import { WORKER_REDIS } from '../redis/redis.tokens';
import { WorkerRedisModule } from '../redis/worker-redis.module';
import { RequestEvents } from '../tracking/request-events';
import { RequestStore } from '../tracking/request.store';
import { CallScheduler } from './call.scheduler';
import { CallQueue } from './call.queue';
import { CallService } from './call.service';
import { CallStore } from './call.store';
import { DedupeStore } from './dedupe.store';
import { IntakeService } from './intake.service';
import { ReconcilerService } from './reconciler.service';
import { SubmissionProcessor } from './submission.processor';

export interface SubmissionModuleOptions {
  /** Where and as whom to call IdentityNow (main.ts resolves it from IDN_* or the embedded simulator). */
  readonly connection: IdnProviderSource;
}

/** The submission worker (ROLE=worker|all), given to AppModule as one of its `workerModules`. */
@Module({})
export class SubmissionModule {
  static forRoot(options: SubmissionModuleOptions): DynamicModule {
    return {
      module: SubmissionModule,
      imports: [
        ClientsModule,
        WorkerRedisModule,
        IdentityNowModule.forRoot({
          imports: [WorkerRedisModule],
          redis: { useExisting: WORKER_REDIS },
          connection: options.connection,
        }),
      ],
      providers: [
        DedupeStore,
        {
          provide: RequestStore,
          inject: [WORKER_REDIS, APP_CONFIG],
          useFactory: (redis: Redis, config: AppConfig) => new RequestStore(redis, config),
        },
        {
          provide: CallStore,
          inject: [WORKER_REDIS, RequestStore, APP_CONFIG],
          useFactory: (redis: Redis, requests: RequestStore, config: AppConfig) =>
            new CallStore(redis, requests, config),
        },
        RequestEvents,
        ReconcilerService,
        CallService,
        IntakeService,
        CallQueue,
        SubmissionProcessor,
        CallScheduler,
        IdentityNowMetricsBridge,
      ],
      exports: [DedupeStore, RequestStore, CallStore],
    };
  }
}
