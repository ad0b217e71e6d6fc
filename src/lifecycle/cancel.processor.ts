import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { DelayedError, type Job, Queue, RateLimitError, UnrecoverableError } from 'bullmq';
import { withTimeout } from '../common/with-timeout';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ReadinessService } from '../ops/readiness.service';
import { bullConnection } from '../redis/redis.connections';
import { RetryLaterError, type RunningWorker, startWorker } from '../submission/bull-worker';
import { CANCEL_BACKOFF_TYPE, CANCEL_QUEUE, type CancelJobData } from './cancel-job';
import { CancelService } from './cancel.service';

/** The consumer of the cancels queue (thin): CancelService decides, this turns it into BullMQ moves. */
@Injectable()
export class CancelProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('CancelProcessor');
  private running: RunningWorker<CancelJobData, null> | undefined;
  private readonly queue: Queue<CancelJobData>;

  constructor(
    @Inject(CancelService) private readonly service: CancelService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(ReadinessService) private readonly readiness: ReadinessService,
  ) {
    this.queue = new Queue<CancelJobData>(CANCEL_QUEUE, {
      connection: bullConnection(config),
      prefix: config.redis.prefix,
    });
    this.queue.on('error', () => undefined);
  }

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
        // Like a submit: every cancel worker pauses for Retry-After, and no attempt is used.
        await this.queue.rateLimit(Math.max(1, r.retryAfterMs));
        throw new RateLimitError();
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
    await withTimeout(this.queue.close(), 2_000, () => undefined).catch(() => undefined);
  }
}
