import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { DelayedError, type Job, RateLimitError } from 'bullmq';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { jobContext } from '../ops/job-context';
import { PINO_LOGGER, type PinoLogger } from '../ops/logger';
import { ReadinessService } from '../ops/readiness.service';
import { CALL_BACKOFF_TYPE, CALL_QUEUE, type CallJobData } from '../queue/submission-job';
import { RetryLaterError, type RunningWorker, startWorker } from './bull-worker';
import { CallQueue } from './call.queue';
import { CallService } from './call.service';
import { RequestEvents } from '../tracking/request-events';
import { CallStore } from './call.store';

/** The consumer of calls (thin): CallService decides, this turns it into BullMQ moves. */
@Injectable()
export class CallProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('CallProcessor');
  private running: RunningWorker<CallJobData, null> | undefined;

  constructor(
    @Inject(CallService) private readonly service: CallService,
    @Inject(CallQueue) private readonly queues: CallQueue,
    @Inject(CallStore) private readonly calls: CallStore,
    @Inject(RequestEvents) private readonly events: RequestEvents,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(ReadinessService) private readonly readiness: ReadinessService,
    @Inject(PINO_LOGGER) private readonly log: PinoLogger,
  ) {}

  onApplicationBootstrap(): void {
    this.running = startWorker<CallJobData, null>({
      name: CALL_QUEUE,
      config: this.config,
      readiness: this.readiness,
      logger: this.logger,
      backoffType: CALL_BACKOFF_TYPE,
      process: (job, token, signal) => {
        const log = this.log.child({
          callId: job.data.callId,
          clientId: job.data.clientId,
          ...(job.data.trackingId === undefined ? {} : { trackingId: job.data.trackingId }),
          ...(job.data.requestId === undefined ? {} : { requestId: job.data.requestId }),
          ...(job.data.traceparent === undefined ? {} : { traceparent: job.data.traceparent }),
        });
        return jobContext.run({ log }, () => this.process(job, token, signal));
      },
    });
    // Failed for good outside a pass (stalled too often, an unexpected error on the last attempt).
    this.running.worker.on('failed', (job, err) => {
      if (job === undefined) return;
      const fence = { lockKey: this.calls.lockKey(CALL_QUEUE, job.data.callId), token: '' };
      void job
        .getState()
        .then(async (state) => {
          if (state !== 'failed') return;
          await this.queues.wakeRequests(
            (await this.service.abandon(job.data.callId, fence, err.message)).completed,
          );
        })
        .catch((e: unknown) => {
          this.logger.warn(
            `could not settle call ${job.data.callId}: ${e instanceof Error ? e.message : String(e)}`,
          );
        });
    });
  }

  async process(job: Job<CallJobData>, token: string, signal: AbortSignal): Promise<null> {
    const r = await this.service.pass({
      callId: job.data.callId,
      fence: { lockKey: this.calls.lockKey(CALL_QUEUE, job.data.callId), token },
      attemptsMade: job.attemptsMade,
      maxAttempts: job.opts.attempts ?? 1,
      signal,
    });
    if (r.kind !== 'lock-lost') {
      await this.events.changed(r.touched);
      await this.queues.wakeRequests(r.completed);
    }
    switch (r.kind) {
      case 'done':
        if (r.spawned.length > 0) await this.queues.add(r.spawned.map((callId) => ({ ...job.data, callId })));
        return null;
      case 'delay':
        await job.moveToDelayed(r.until, token);
        throw new DelayedError();
      case 'rate-limited':
        // Every worker in every process pauses for Retry-After; the job waits without using an attempt.
        await this.queues.calls.rateLimit(Math.max(1, r.retryAfterMs));
        throw new RateLimitError();
      case 'retry':
        throw new RetryLaterError(r.reason, r.minDelayMs);
      case 'lock-lost':
        throw new Error(`call ${job.data.callId}: another worker took the job over`);
      default: {
        const never: never = r;
        throw new Error(`unexpected pass result ${JSON.stringify(never)}`);
      }
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.running?.stop();
  }
}
