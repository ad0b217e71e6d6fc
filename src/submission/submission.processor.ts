import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Job, type MinimalJob, Queue, RateLimitError, UnrecoverableError, Worker } from 'bullmq';
import { withTimeout } from '../common/with-timeout';
import { bullConnection } from '../redis/redis.connections';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { jobContext } from '../ops/job-context';
import { jobLogger, PINO_LOGGER, type PinoLogger } from '../ops/logger';
import { MetricsService } from '../ops/metrics.service';
import { ReadinessService } from '../ops/readiness.service';
import { SUBMISSION_BACKOFF_TYPE, SUBMISSION_QUEUE, type SubmissionJobData } from '../queue/submission-job';
import type { RequestRecord } from '../access-request/request-record';
import { fullJitterDelay } from './backoff';
import { InvalidJobError, RateLimitedSignal, SubmissionFailedError } from './submission.errors';
import { SubmissionService } from './submission.service';

/** Then a job whose worker keeps dying is failed (and recorded) instead of looping forever. */
const WORKER_MAX_STALLED_COUNT = 3;

// BullMQ honours queue.rateLimit() only with a limiter configured; this one never limits (the budget
// is the IdentityNow rate limiter's, which counts every call, not job starts).
const NEVER_LIMITING = { max: 1_000_000_000, duration: 1_000 };
const ABORTED_CLOSE_WAIT_MS = 2_000;

// The BullMQ consumer: each attempt's outcome in BullMQ terms. Why it is not a `@Processor()`, and
// its locks: see docs/architecture.md, "Worker: dedupe, rate limit, never twice".
@Injectable()
export class SubmissionProcessor
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('SubmissionProcessor');
  private worker: Worker<SubmissionJobData, RequestRecord> | undefined;
  private queue: Queue | undefined;
  private running: Promise<void> | undefined;

  constructor(
    @Inject(SubmissionService) private readonly submissions: SubmissionService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(ReadinessService) private readonly readiness: ReadinessService,
    @Inject(MetricsService) private readonly metrics: MetricsService,
    @Inject(PINO_LOGGER) private readonly log: PinoLogger,
  ) {}

  onApplicationBootstrap(): void {
    const { concurrency, backoffBaseMs, backoffMaxMs, lockDurationMs } = this.config.submission;
    const connection = bullConnection(this.config);
    const prefix = this.config.redis.prefix;
    this.queue = new Queue(SUBMISSION_QUEUE, { connection, prefix });
    this.queue.on('error', (err) => {
      this.logger.warn(`queue: ${err.message}`);
    });
    const worker = new Worker<SubmissionJobData, RequestRecord>(
      SUBMISSION_QUEUE,
      // Three parameters: BullMQ then hands each job an AbortSignal (used on shutdown).
      (job, token, signal) => this.process(job, token, signal),
      {
        connection,
        prefix,
        concurrency,
        autorun: false,
        lockDuration: lockDurationMs,
        stalledInterval: Math.max(1_000, Math.floor(lockDurationMs / 2)),
        maxStalledCount: WORKER_MAX_STALLED_COUNT,
        limiter: NEVER_LIMITING,
        settings: {
          backoffStrategy: (attemptsMade: number, type?: string, _err?: Error, job?: MinimalJob): number => {
            if (type !== SUBMISSION_BACKOFF_TYPE) return 0;
            const b = job?.opts.backoff;
            const base = typeof b === 'object' && typeof b.delay === 'number' ? b.delay : backoffBaseMs;
            return fullJitterDelay(attemptsMade, base, backoffMaxMs);
          },
        },
      },
    );
    this.worker = worker;
    worker.on('error', (err) => {
      this.logger.warn(`worker: ${err.message}`);
    });
    worker.on('failed', (job, err) => {
      if (job !== undefined) void this.settleIfFailed(job, err.message);
    });
    // Jobs failed by the stalled checker (stalled too often) emit no `failed` on the worker.
    worker.on('stalled', (jobId) => {
      void Job.fromId<SubmissionJobData, RequestRecord>(worker, jobId).then(
        (job) =>
          job === undefined
            ? undefined
            : this.settleIfFailed(job, 'the job stalled too often (its worker kept dying)'),
        () => undefined,
      );
    });
    this.readiness.register({
      name: 'workers',
      check: () => (worker.isRunning() && !worker.closing ? undefined : 'submission worker is not running'),
    });
    this.running = worker.run().catch((err: unknown) => {
      this.logger.error(`submission worker stopped: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  async process(job: Job<SubmissionJobData>, token?: string, signal?: AbortSignal): Promise<RequestRecord> {
    const log = jobLogger(this.log, job.data, { jobAttempt: job.attemptsMade + 1 });
    const started = performance.now();
    const seconds = (): number => (performance.now() - started) / 1000;
    try {
      const record = await jobContext.run({ log }, () => this.attempt(job, token, signal));
      const outcome =
        record.state === 'PARTIALLY_SUBMITTED'
          ? 'partially_submitted'
          : record.state === 'SUBMITTED'
            ? 'submitted'
            : record.state === 'DUPLICATE'
              ? 'duplicate'
              : 'failed';
      this.metrics.jobProcessed(outcome, seconds());
      for (const o of ['SUBMITTED', 'DUPLICATE', 'FAILED'] as const) {
        this.metrics.pairOutcome(
          o === 'SUBMITTED' ? 'submitted' : o === 'DUPLICATE' ? 'duplicate' : 'failed',
          record.pairs.filter((p) => p.outcome === o).length,
        );
      }
      log.info(
        {
          state: record.state,
          attempts: record.attempts,
          pairs: record.pairs.length,
          durationMs: Math.round(seconds() * 1000),
        },
        'job outcome',
      );
      return record;
    } catch (err) {
      const final = err instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (!(err instanceof RateLimitError)) this.metrics.jobProcessed(final ? 'failed' : 'retry', seconds());
      log[final ? 'error' : 'warn'](
        {
          reason: err instanceof Error ? err.message : String(err),
          willRetry: !final,
          rateLimited: err instanceof RateLimitError,
          durationMs: Math.round(seconds() * 1000),
        },
        'job outcome',
      );
      throw err;
    }
  }

  private async attempt(
    job: Job<SubmissionJobData>,
    _token?: string,
    signal?: AbortSignal,
  ): Promise<RequestRecord> {
    try {
      return await this.submissions.attempt({
        data: job.data,
        attemptsMade: job.attemptsMade,
        maxAttempts: job.opts.attempts ?? 1,
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (err) {
      if (err instanceof RateLimitedSignal) {
        // Every worker in every process pauses for Retry-After; the job waits without using an attempt.
        await this.queue?.rateLimit(Math.max(1, err.retryAfterMs));
        throw new RateLimitError();
      }
      if (err instanceof InvalidJobError) {
        await this.submissions.recordInvalid(job.data, err.message).catch(() => undefined);
        throw new UnrecoverableError(err.message);
      }
      if (err instanceof SubmissionFailedError) throw new UnrecoverableError(err.message);
      throw err;
    }
  }

  /** A job failed for good: make sure its status record is final too (no-op when it already is). */
  private async settleIfFailed(job: Job<SubmissionJobData>, reason: string): Promise<void> {
    try {
      if ((await job.getState()) !== 'failed') return;
      await this.submissions.recordAbandoned(job.data, reason, job.attemptsMade);
    } catch (e) {
      this.logger.warn(
        `could not record failure of job ${job.id ?? '?'}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }

  // SIGTERM: in-flight jobs get SHUTDOWN_GRACE_MS, then their calls are aborted; the in-flight mark
  // makes whoever takes a job over reconcile before sending.
  async beforeApplicationShutdown(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    const grace = this.config.submission.shutdownGraceMs;
    const closed = worker.close().then(() => true);
    if (!(await withTimeout(closed, grace, () => false))) {
      this.logger.warn(`in-flight submissions did not finish within ${grace} ms; aborting them`);
      worker.cancelAllJobs('shutdown: grace period over');
      await withTimeout(closed, ABORTED_CLOSE_WAIT_MS, () => false);
    }
    await this.running;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.queue?.close().catch(() => undefined);
  }
}
