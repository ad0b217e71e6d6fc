import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ReadinessService } from '../ops/readiness.service';
import { RetryLaterError, type RunningWorker, startWorker } from '../submission/bull-worker';
import { CANCEL_BACKOFF_TYPE, CANCEL_QUEUE, type CancelJobData } from './cancel-job';
import { CancelService } from './cancel.service';

/** The consumer of the cancels queue (thin): CancelService decides, this turns it into BullMQ moves. */
@Injectable()
export class CancelProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('CancelProcessor');
  private running: RunningWorker<CancelJobData, null> | undefined;

  constructor(
    @Inject(CancelService) private readonly service: CancelService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(ReadinessService) private readonly readiness: ReadinessService,
  ) {}

  onApplicationBootstrap(): void {
    this.running = startWorker<CancelJobData, null>({
      name: CANCEL_QUEUE,
      config: this.config,
      readiness: this.readiness,
      logger: this.logger,
      backoffType: CANCEL_BACKOFF_TYPE,
      process: (job, token, signal) => this.process(job, token, signal),
    });
  }

  async process(job: Job<CancelJobData>, token: string, signal: AbortSignal): Promise<null> {
    if ((job.data as { v?: unknown }).v !== 1) {
      throw new UnrecoverableError(`unknown cancel job version ${String((job.data as { v?: unknown }).v)}`);
    }
    const r = await this.service.pass({
      trackingId: job.data.trackingId,
      finalAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
      signal,
    });
    switch (r.kind) {
      case 'done':
        return null;
      case 'delay':
        await job.moveToDelayed(r.until, token);
        throw new DelayedError();
      case 'rate-limited':
        // Like a submit, no attempt is used; the budget's pause holds every process meanwhile.
        await job.moveToDelayed(Date.now() + Math.max(1, r.retryAfterMs), token);
        throw new DelayedError();
      case 'retry':
        throw new RetryLaterError(r.reason);
      default: {
        const never: never = r;
        throw new Error(`unexpected cancel pass ${JSON.stringify(never)}`);
      }
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.running?.stop();
  }
}
