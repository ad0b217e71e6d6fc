import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { REDIS } from '../redis/redis.module';
import { SUBMISSION_QUEUE } from '../queue/submission-job';
import { TrackingModule } from '../tracking/tracking.module';
import { AdminBasicGuard } from './admin-basic.guard';
import { AdminController } from './admin.controller';
import { SubmissionAdminService } from './submission-admin.service';
import { SubmissionProgressStore } from './submission-progress.store';

/** API role: `POST /admin/requests/{trackingId}/retry` (HTTP Basic, ADMIN_USER / ADMIN_PASSWORD). */
@Module({
  imports: [
    TrackingModule,
    BullModule.registerQueueAsync({
      name: SUBMISSION_QUEUE,
      inject: [REDIS],
      useFactory: (redis: Redis) => ({ connection: redis }),
    }),
  ],
  controllers: [AdminController],
  providers: [
    AdminBasicGuard,
    SubmissionAdminService,
    {
      provide: SubmissionProgressStore,
      inject: [REDIS, APP_CONFIG],
      useFactory: (redis: Redis, config: AppConfig) => new SubmissionProgressStore(redis, config),
    },
  ],
})
export class SubmissionAdminModule {}
