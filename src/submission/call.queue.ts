import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Cluster } from 'ioredis';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import {
  CALL_BACKOFF_TYPE,
  CALL_JOB_NAME,
  type CallJobData,
  callQueueName,
  SUBMISSION_QUEUE,
} from '../queue/submission-job';
import { closeRedis, createBullRedis, type RedisClient } from '../redis/redis.connections';

/** One call queue per client; a request's job waits delayed until its last pair is final. */
@Injectable()
export class CallQueue implements OnApplicationShutdown {
  /** Shared by the call queues and the scheduler's manual workers. */
  readonly connection: RedisClient;
  readonly requests: Queue;
  private readonly calls = new Map<string, Queue<CallJobData>>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.connection = createBullRedis(config);
    this.requests = new Queue(SUBMISSION_QUEUE, { connection: this.connection, prefix: config.redis.prefix });
    this.requests.on('error', () => undefined);
  }

  queueFor(clientId: string): Queue<CallJobData> {
    let q = this.calls.get(clientId);
    if (q === undefined) {
      q = new Queue<CallJobData>(callQueueName(clientId), {
        connection: this.connection,
        prefix: this.config.redis.prefix,
      });
      q.on('error', () => undefined);
      this.calls.set(clientId, q);
    }
    return q;
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
    await Promise.all(
      jobs.map((d) => this.queueFor(d.clientId).add(CALL_JOB_NAME, d, this.options(d.callId))),
    );
  }

  /** Calls that carry pairs again after their job ended (a re-drive) get their job back. */
  async ensure(jobs: readonly CallJobData[]): Promise<void> {
    for (const d of jobs) {
      const queue = this.queueFor(d.clientId);
      const job = await queue.getJob(d.callId);
      if (job === undefined) {
        await queue.add(CALL_JOB_NAME, d, this.options(d.callId));
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
    await Promise.all([...this.calls.values(), this.requests].map((q) => q.close())).catch(() => undefined);
    // A Cluster is shared by every BullMQ user of the process and released with the others.
    if (!(this.connection instanceof Cluster)) await closeRedis(this.connection);
  }
}
