import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import type { RequestRecord } from '../access-request/request-record';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { jobLogger, PINO_LOGGER, type PinoLogger } from '../ops/logger';
import { type JobOutcome, MetricsService, type PairOutcome } from '../ops/metrics.service';
import { ReadinessService } from '../ops/readiness.service';
import { SUBMISSION_BACKOFF_TYPE, SUBMISSION_QUEUE, type SubmissionJobData } from '../queue/submission-job';
import { RequestEvents } from '../tracking/request-events';
import { RequestStore } from '../tracking/request.store';
import { type RunningWorker, startWorker } from './bull-worker';
import { CallQueue } from './call.queue';
import { CallStore } from './call.store';
import { IntakeService } from './intake.service';
import { invalidJobOwner, parseJobData } from './submission-job.parser';
import { InvalidJobError } from './submission.errors';

/** A request job waiting for its calls looks again after this, doubling up to a minute. */
const RECHECK_MIN_MS = 1_000;
const RECHECK_MAX_MS = 60_000;

const METRIC_OUTCOME: Record<string, JobOutcome> = {
  SUBMITTED: 'submitted',
  PARTIALLY_SUBMITTED: 'partially_submitted',
  DUPLICATE: 'duplicate',
  CANCELLED: 'cancelled',
};
const PAIR_METRIC = [
  ['SUBMITTED', 'submitted'],
  ['DUPLICATE', 'duplicate'],
  ['FAILED', 'failed'],
  ['CANCELLED', 'cancelled'],
] as const satisfies readonly (readonly [string, PairOutcome])[];

/** Thin: IntakeService decides; delayed while pairs are in calls (no attempt used). */
@Injectable()
export class SubmissionProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('SubmissionProcessor');
  private running: RunningWorker<SubmissionJobData, RequestRecord> | undefined;

  constructor(
    @Inject(IntakeService) private readonly intake: IntakeService,
    @Inject(CallQueue) private readonly queues: CallQueue,
    @Inject(CallStore) private readonly calls: CallStore,
    @Inject(RequestStore) private readonly requests: RequestStore,
    @Inject(RequestEvents) private readonly events: RequestEvents,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(ReadinessService) private readonly readiness: ReadinessService,
    @Inject(MetricsService) private readonly metrics: MetricsService,
    @Inject(PINO_LOGGER) private readonly log: PinoLogger,
  ) {}

  onApplicationBootstrap(): void {
    this.running = startWorker<SubmissionJobData, RequestRecord>({
      name: SUBMISSION_QUEUE,
      config: this.config,
      readiness: this.readiness,
      logger: this.logger,
      backoffType: SUBMISSION_BACKOFF_TYPE,
      process: (job, token) => this.process(job, token),
    });
    const worker = this.running.worker;
    const finished = (job: Job<SubmissionJobData> | undefined): void => {
      const id = job?.id;
      if (id !== undefined) void this.requests.markFinished(id).catch(() => undefined);
    };
    worker.on('completed', finished);
    // 'failed' fires after every failed attempt; only a job failed for good is finished (a later
    // run of a finished job is a re-drive).
    worker.on('failed', (job) => {
      if (job?.finishedOn !== undefined) finished(job);
    });
  }

  async process(job: Job<SubmissionJobData>, token: string): Promise<RequestRecord> {
    let data: SubmissionJobData;
    try {
      data = parseJobData(job.data);
    } catch (e) {
      if (!(e instanceof InvalidJobError)) throw e;
      await this.recordInvalid(job.data, e.message);
      throw new UnrecoverableError(e.message);
    }
    const log = jobLogger(this.log, data);
    const fence = { lockKey: this.calls.lockKey(SUBMISSION_QUEUE, data.trackingId), token };
    const r = await this.intake.pass(data, fence);
    if (r.kind !== 'lock-lost' && r.wrote) await this.events.changed([data.trackingId]);
    switch (r.kind) {
      case 'lock-lost':
        throw new Error(`request ${data.trackingId}: another worker took the job over`);
      case 'open': {
        await this.queues.ensure(
          r.calls.map((callId) => ({
            v: 1,
            callId,
            clientId: data.clientId,
            trackingId: data.trackingId,
            ...(data.requestId === undefined ? {} : { requestId: data.requestId }),
            ...(data.traceparent === undefined ? {} : { traceparent: data.traceparent }),
          })),
        );
        const looks = Math.max(0, (job.attemptsStarted || 1) - 1);
        await job.moveToDelayed(
          Date.now() + Math.min(RECHECK_MAX_MS, RECHECK_MIN_MS * 2 ** Math.min(looks, 6)),
          token,
        );
        throw new DelayedError();
      }
      case 'complete':
      case 'failed': {
        const record = r.record;
        const seconds = (Date.now() - Date.parse(data.acceptedAt)) / 1000;
        this.metrics.jobProcessed(METRIC_OUTCOME[record.state] ?? 'failed', seconds);
        for (const [o, label] of PAIR_METRIC) {
          this.metrics.pairOutcome(label, record.pairs.filter((p) => p.outcome === o).length);
        }
        log[r.kind === 'failed' ? 'error' : 'info'](
          {
            state: record.state,
            attempts: record.attempts,
            pairs: record.pairs.length,
            durationMs: Math.round(seconds * 1000),
          },
          'job outcome',
        );
        if (r.kind === 'failed') {
          const failed = record.pairs.filter((p) => p.outcome === 'FAILED');
          throw new UnrecoverableError(
            `${failed.length} of ${record.pairs.length} pairs failed: ${failed[0]?.reason ?? 'unknown reason'}`,
          );
        }
        return record;
      }
      default: {
        const never: never = r;
        throw new Error(`unexpected pass result ${JSON.stringify(never)}`);
      }
    }
  }

  private async recordInvalid(data: unknown, reason: string): Promise<void> {
    const owner = invalidJobOwner(data);
    if (owner === undefined) return;
    const recorded = await this.requests
      .recordInvalid(owner.trackingId, {
        clientId: owner.clientId,
        createdAt: owner.acceptedAt ?? new Date().toISOString(),
      })
      .then(
        () => true,
        () => false,
      );
    this.logger.error(`job ${owner.trackingId} failed: ${reason}`);
    // FAILED is an end like any other: the request closes and its app's webhook is told.
    if (recorded) await this.events.changed([owner.trackingId]);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.running?.stop();
  }
}
