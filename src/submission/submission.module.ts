import { type DynamicModule, Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { IdentityNowModule, type IdnProviderSource } from '../identitynow/identitynow.module';
import { IdentityNowMetricsBridge } from '../ops/identitynow-metrics.bridge';
import { WORKER_REDIS } from '../redis/redis.tokens';
import { WorkerRedisModule } from '../redis/worker-redis.module';
import { RequestRecordStore } from '../tracking/request-record.store';
import { DedupeStore } from './dedupe.store';
import { ReconcilerService } from './reconciler.service';
import { SubmissionProgressStore } from './submission-progress.store';
import { SubmissionProcessor } from './submission.processor';
import { SubmissionPlanService } from './submission-plan.service';
import { SubmissionService } from './submission.service';

export interface SubmissionModuleOptions {
  readonly connection: IdnProviderSource;
}

/** The submission worker (ROLE=worker|all), given to AppModule as one of its `workerModules`. */
@Module({})
export class SubmissionModule {
  static forRoot(options: SubmissionModuleOptions): DynamicModule {
    return {
      module: SubmissionModule,
      imports: [
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
          provide: SubmissionProgressStore,
          inject: [WORKER_REDIS, APP_CONFIG],
          useFactory: (redis: Redis, config: AppConfig) => new SubmissionProgressStore(redis, config),
        },
        {
          // The status records, written through the worker's patient connection.
          provide: RequestRecordStore,
          inject: [WORKER_REDIS, APP_CONFIG],
          useFactory: (redis: Redis, config: AppConfig) => new RequestRecordStore(redis, config),
        },
        ReconcilerService,
        SubmissionPlanService,
        SubmissionService,
        SubmissionProcessor,
        IdentityNowMetricsBridge,
      ],
      exports: [SubmissionService, DedupeStore],
    };
  }
}
