import { Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ClientsModule } from '../clients/clients.module';
import { WORKER_REDIS } from '../redis/redis.tokens';
import { WorkerRedisModule } from '../redis/worker-redis.module';
import { RequestStore } from '../tracking/request.store';
import { CallScheduler } from './call.scheduler';
import { CallQueue } from './call.queue';
import { CallService } from './call.service';
import { CallStore } from './call.store';
import { IntakeService } from './intake.service';
import { ReconcilerService } from './reconciler.service';
import { SubmissionProcessor } from './submission.processor';

/** The submission worker (ROLE=worker|all); uses WorkerCoreModule's providers. */
@Module({
  imports: [ClientsModule, WorkerRedisModule],
  providers: [
    {
      provide: CallStore,
      inject: [WORKER_REDIS, RequestStore, APP_CONFIG],
      useFactory: (redis: Redis, requests: RequestStore, config: AppConfig) =>
        new CallStore(redis, requests, config),
    },
    ReconcilerService,
    CallService,
    IntakeService,
    CallQueue,
    SubmissionProcessor,
    CallScheduler,
  ],
  exports: [CallStore],
})
export class SubmissionModule {}
