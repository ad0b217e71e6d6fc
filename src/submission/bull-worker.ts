import type { Logger } from '@nestjs/common';
import { type Job, type MinimalJob, Worker } from 'bullmq';
import { withTimeout } from '../common/with-timeout';
import type { AppConfig } from '../config/app-config';
import type { ReadinessService } from '../ops/readiness.service';
import { bullConnection } from '../redis/redis.connections';
import { fullJitterDelay } from './backoff';

/** Then a job whose worker keeps dying is failed instead of looping forever. */
const MAX_STALLED_COUNT = 3;
const ABORTED_CLOSE_WAIT_MS = 2_000;

/** A retry that must not come back sooner than `minDelayMs` (a call of unknown outcome must settle). */
export class RetryLaterError extends Error {
  override readonly name = 'RetryLaterError';
  constructor(
    reason: string,
    readonly minDelayMs = 0,
  ) {
    super(reason);
  }
}

export interface RunningWorker<D, R> {
  readonly worker: Worker<D, R>;
  /** SIGTERM: in-flight jobs get SHUTDOWN_GRACE_MS, then their IdentityNow calls are aborted. */
  stop(): Promise<void>;
}

/** Not a `@Processor()`: its options come from the validated config, not a decorator. */
export function startWorker<D, R>(opts: {
  readonly name: string;
  readonly config: AppConfig;
  readonly readiness: ReadinessService;
  readonly logger: Logger;
  readonly backoffType: string;
  readonly process: (job: Job<D, R>, token: string, signal: AbortSignal) => Promise<R>;
}): RunningWorker<D, R> {
  const { concurrency, backoffBaseMs, backoffMaxMs, lockDurationMs, shutdownGraceMs } =
    opts.config.submission;
  const worker = new Worker<D, R>(
    opts.name,
    (job, token, signal) => opts.process(job, token ?? '', signal as AbortSignal),
    {
      connection: bullConnection(opts.config),
      prefix: opts.config.redis.prefix,
      concurrency,
      autorun: false,
      lockDuration: lockDurationMs,
      stalledInterval: Math.max(1_000, Math.floor(lockDurationMs / 2)),
      maxStalledCount: MAX_STALLED_COUNT,
      settings: {
        backoffStrategy: (attemptsMade: number, type?: string, err?: Error, job?: MinimalJob): number => {
          if (type !== opts.backoffType) return 0;
          const b = job?.opts.backoff;
          const base = typeof b === 'object' && typeof b.delay === 'number' ? b.delay : backoffBaseMs;
          const floor = err instanceof RetryLaterError ? err.minDelayMs : 0;
          return Math.max(floor, fullJitterDelay(attemptsMade, base, backoffMaxMs));
        },
      },
    },
  );
  worker.on('error', (err) => {
    opts.logger.warn(`${opts.name} worker: ${err.message}`);
  });
  opts.readiness.register({
    name: 'workers',
    check: () => (worker.isRunning() && !worker.closing ? undefined : `${opts.name} worker is not running`),
  });
  const running = worker.run().catch((err: unknown) => {
    opts.logger.error(`${opts.name} worker stopped: ${err instanceof Error ? err.message : String(err)}`);
  });
  return {
    worker,
    async stop() {
      const closed = worker.close().then(() => true);
      if (!(await withTimeout(closed, shutdownGraceMs, () => false))) {
        opts.logger.warn(
          `${opts.name}: in-flight jobs did not finish within ${shutdownGraceMs} ms; aborting them`,
        );
        worker.cancelAllJobs('shutdown: grace period over');
        await withTimeout(closed, ABORTED_CLOSE_WAIT_MS, () => false);
      }
      await running;
    },
  };
}
