import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import type { RedisClient } from '../redis/redis.connections';
import { REDIS } from '../redis/redis.tokens';
import { AuthModule } from '../auth/auth.module';
import { SUBMISSION_QUEUE } from '../queue/submission-job';
import { TrackingModule } from '../tracking/tracking.module';
import { AccessRequestsController } from './access-requests.controller';
import { AccessRequestsService } from './access-requests.service';
import { IdempotencyService } from './idempotency.service';
import { QuotaService } from './quota.service';
import { RequestCancelService } from './request-cancel.service';
import { SubmissionProducer } from './submission.producer';

@Module({
  imports: [
    AuthModule,
    TrackingModule,
    BullModule.registerQueueAsync({
      name: SUBMISSION_QUEUE,
      inject: [REDIS],
      // The producer shares the fail-fast API connection, so a Redis outage answers 503 at once.
      useFactory: (redis: RedisClient) => ({ connection: redis }),
    }),
  ],
  controllers: [AccessRequestsController],
  providers: [
    AccessRequestsService,
    IdempotencyService,
    QuotaService,
    SubmissionProducer,
    RequestCancelService,
  ],
  exports: [SubmissionProducer],
})
export class AccessRequestsModule {}
