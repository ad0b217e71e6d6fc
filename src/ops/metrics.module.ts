import { getQueueToken } from '@nestjs/bullmq';
import { Global, Inject, Injectable, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { SUBMISSION_QUEUE } from '../queue/submission-job';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import type { JobCountSource } from './scrape.collectors';

/** Counts the submissions queue at scrape time in whichever role registered it. */
@Injectable()
export class QueueMetricsBinder implements OnApplicationBootstrap {
  constructor(
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
    @Inject(MetricsService) private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    let queue: JobCountSource | undefined;
    try {
      queue = this.moduleRef.get<JobCountSource>(getQueueToken(SUBMISSION_QUEUE), { strict: false });
    } catch {
      // Not registered in this role.
    }
    if (queue !== undefined) this.metrics.watchQueue(SUBMISSION_QUEUE, queue);
  }
}

@Global()
@Module({
  controllers: [MetricsController],
  providers: [MetricsService, QueueMetricsBinder],
  exports: [MetricsService],
})
export class MetricsModule {}
