import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import {
  CALL_BACKOFF_TYPE,
  CALL_JOB_NAME,
  CALL_QUEUE,
  type CallJobData,
  SUBMISSION_QUEUE,
} from '../queue/submission-job';
import { bullConnection } from '../redis/redis.connections';

/**
 * The worker's side of both queues: makes sure every call that carries pairs has a job, and wakes a
 * request's job (delayed while its pairs are in calls) once its last pair is final.
 */
@Injectable()
export class CallQueue implements OnApplicationShutdown {
  readonly calls: Queue<CallJobData>;
  readonly requests: Queue;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    const connection = bullConnection(config);
    const prefix = config.redis.prefix;
    this.calls = new Queue<CallJobData>(CALL_QUEUE, { connection, prefix });
    this.requests = new Queue(SUBMISSION_QUEUE, { connection, prefix });
    for (const q of [this.calls, this.requests]) q.on('error', () => undefined);
  }

  private options(callId: string): Parameters<Queue<CallJobData>['add']>[2] {
    const s = this.config.submission;
    return {
      jobId: callId,
      attempts: s.attempts,
      backoff: { type: CALL_BACKOFF_TYPE, delay: s.backoffBaseMs },
      removeOnComplete: { age: s.completedJobRetentionSeconds },
      removeOnFail: { age: s.failedJobRetentionSeconds },
    };
  }

  /** New calls: BullMQ ignores an id it already has, so adding twice is harmless. */
  async add(jobs: readonly CallJobData[]): Promise<void> {
    await Promise.all(jobs.map((d) => this.calls.add(CALL_JOB_NAME, d, this.options(d.callId))));
  }

  /** Calls that carry pairs again after their job ended (a re-drive) get their job back. */
  async ensure(jobs: readonly CallJobData[]): Promise<void> {
    for (const d of jobs) {
      const job = await this.calls.getJob(d.callId);
      if (job === undefined) {
        await this.calls.add(CALL_JOB_NAME, d, this.options(d.callId));
        continue;
      }
      const state = await job.getState();
      if (state === 'failed' || state === 'completed') {
        await job.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true });
      }
    }
  }

  /** Best effort: a request job not woken here finds out at its next scheduled look. */
  async wakeRequests(trackingIds: readonly string[]): Promise<void> {
    await Promise.all(
      trackingIds.map(async (id) => {
        const job = await this.requests.getJob(id);
        if (job !== undefined && (await job.isDelayed())) await job.promote().catch(() => undefined);
      }),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.calls.close(), this.requests.close()]).catch(() => undefined);
  }
}
