import { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { withTimeout } from '../common/with-timeout';
import type { AppConfig } from '../config/app-config';
import { CANCEL_BACKOFF_TYPE, CANCEL_JOB_NAME, CANCEL_QUEUE, type CancelJobData } from './cancel-job';

// One job per request (job id = tracking id): adding while one waits or runs is a no-op, and that
// one reads the notes at every pass.
export class CancelProducer {
  readonly queue: Queue<CancelJobData>;

  constructor(
    connection: Redis | Cluster,
    private readonly config: AppConfig,
  ) {
    this.queue = new Queue<CancelJobData>(CANCEL_QUEUE, { connection, prefix: config.redis.prefix });
    this.queue.on('error', () => undefined);
  }

  async add(trackingId: string, clientId: string): Promise<void> {
    const s = this.config.submission;
    await this.queue.add(
      CANCEL_JOB_NAME,
      { v: 1, trackingId, clientId },
      {
        jobId: trackingId,
        attempts: s.attempts,
        backoff: { type: CANCEL_BACKOFF_TYPE, delay: s.backoffBaseMs },
        removeOnComplete: true,
        removeOnFail: true,
      },
    );
  }

  async close(): Promise<void> {
    const closed = await withTimeout(
      this.queue.close().then(() => true),
      2_000,
      () => false,
    ).catch(() => false);
    if (!closed) void this.queue.disconnect().catch(() => undefined);
  }
}
