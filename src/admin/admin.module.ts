import { BullModule } from '@nestjs/bullmq';
import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import type { RedisClient } from '../redis/redis.connections';
import { REDIS } from '../redis/redis.tokens';
import { SUBMISSION_QUEUE } from '../queue/submission-job';
import { WEBHOOK_QUEUE } from '../webhooks/webhook-job';
import { TrackingModule } from '../tracking/tracking.module';
import { queueDashboardModules } from './queue-dashboard.module';
import { CANCEL_QUEUE } from '../lifecycle/cancel-job';
import { PairLookupController } from './pair-lookup.controller';
import { PairLookupService } from './pair-lookup.service';
import { RedriveController } from './redrive.controller';
import { RedriveService } from './redrive.service';

/** Admin surface (api roles), all behind the one Fastify hook in admin-auth.ts. */
@Module({})
export class AdminModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AdminModule,
      imports: [
        TrackingModule,
        ...[SUBMISSION_QUEUE, WEBHOOK_QUEUE, CANCEL_QUEUE].map((name) =>
          BullModule.registerQueueAsync({
            name,
            inject: [REDIS],
            useFactory: (redis: RedisClient) => ({ connection: redis }),
          }),
        ),
        ...queueDashboardModules(config),
      ],
      controllers: [RedriveController, PairLookupController],
      providers: [RedriveService, PairLookupService],
    };
  }
}
