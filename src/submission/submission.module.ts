import {
  type DynamicModule,
  Global,
  Inject,
  Injectable,
  Module,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { IdentityNowModule, type IdnProviderSource } from '../identitynow/identitynow.module';
import { IdentityNowMetricsBridge } from '../ops/identitynow-metrics.bridge';
import { closeRedis } from '../redis/redis.module';
import { RequestRecordStore } from '../tracking/request-record.store';
import { DedupeStore } from './dedupe.store';
import { ReconcilerService } from './reconciler.service';
import { SubmissionProgressStore } from './submission-progress.store';
import { SubmissionProcessor } from './submission.processor';
import { SubmissionService } from './submission.service';
import { SUBMISSION_REDIS } from './submission.tokens';

export function createWorkerRedis(config: AppConfig): Redis {
  const redis = new Redis(config.redis.url, {
    // Wait out short outages (as BullMQ's own connections do) instead of failing attempts.
    maxRetriesPerRequest: null,
    enableAutoPipelining: true,
    connectionName: 'arg-worker',
  });
  redis.on('error', () => undefined);
  return redis;
}

@Injectable()
class WorkerRedisLifecycle implements OnApplicationShutdown {
  constructor(@Inject(SUBMISSION_REDIS) private readonly redis: Redis) {}

  /** Runs after the processor's beforeApplicationShutdown has drained the worker. */
  async onApplicationShutdown(): Promise<void> {
    await closeRedis(this.redis);
  }
}

/** The worker's Redis connection, shared with the IdentityNow rate limiter. */
@Global()
@Module({
  providers: [
    { provide: SUBMISSION_REDIS, inject: [APP_CONFIG], useFactory: createWorkerRedis },
    WorkerRedisLifecycle,
  ],
  exports: [SUBMISSION_REDIS],
})
export class WorkerRedisModule {}

export interface SubmissionModuleOptions {
  /**
   * Where and as whom to call IdentityNow: `{ useValue: IdnConnection }` or a factory (main.ts resolves
   * it from IDN_* or the embedded simulator).
   */
  readonly connection: IdnProviderSource;
}

/**
 * The submission worker (ROLE=worker|all): `AppModule.forRoot(config, { workerModules:
 * [SubmissionModule.forRoot({ connection })] })`.
 */
@Module({})
export class SubmissionModule {
  static forRoot(options: SubmissionModuleOptions): DynamicModule {
    return {
      module: SubmissionModule,
      imports: [
        WorkerRedisModule,
        IdentityNowModule.forRoot({
          imports: [WorkerRedisModule],
          redis: { useExisting: SUBMISSION_REDIS },
          connection: options.connection,
        }),
      ],
      providers: [
        DedupeStore,
        {
          provide: SubmissionProgressStore,
          inject: [SUBMISSION_REDIS, APP_CONFIG],
          useFactory: (redis: Redis, config: AppConfig) => new SubmissionProgressStore(redis, config),
        },
        {
          // The status records, written through the worker's patient connection.
          provide: RequestRecordStore,
          inject: [SUBMISSION_REDIS, APP_CONFIG],
          useFactory: (redis: Redis, config: AppConfig) => new RequestRecordStore(redis, config),
        },
        ReconcilerService,
        SubmissionService,
        SubmissionProcessor,
        IdentityNowMetricsBridge,
      ],
      exports: [SubmissionService, DedupeStore],
    };
  }
}
