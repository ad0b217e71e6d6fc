import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config';
import { redisKey } from '../redis/redis.keys';
import { recordRetentionSeconds } from '../tracking/request-record.store';
import type { PairResult } from '../tracking/request-record.builder';

/** `in-flight` is written before the call: found at the start of an attempt, the outcome is unknown. */
export type SubmissionState = 'pending' | 'in-flight' | 'ambiguous' | 'done' | 'failed';

export interface SubmissionProgress {
  readonly id: string;
  readonly fingerprints: readonly string[];
  state: SubmissionState;
  reason?: string;
}

export interface JobProgress {
  readonly v: 1;
  readonly trackingId: string;
  /** Attempts used before an admin re-drive reset BullMQ's counter. */
  attemptsBefore: number;
  redrive?: boolean;
  readonly pairs: Record<string, PairResult>;
  readonly submissions: SubmissionProgress[];
}

/** Written only under the job's BullMQ lock, or by the admin endpoint for failed jobs (no lock). */
export class SubmissionProgressStore {
  private readonly prefix: string;
  private readonly ttlSeconds: number;

  constructor(
    private readonly redis: Redis | Cluster,
    config: AppConfig,
  ) {
    this.prefix = config.redis.prefix;
    this.ttlSeconds = recordRetentionSeconds(config);
  }

  private key(trackingId: string): string {
    return redisKey(this.prefix, 'submission', trackingId);
  }

  async get(trackingId: string): Promise<JobProgress | undefined> {
    const raw = await this.redis.get(this.key(trackingId));
    return raw === null ? undefined : (JSON.parse(raw) as JobProgress);
  }

  async put(progress: JobProgress): Promise<void> {
    await this.redis.set(this.key(progress.trackingId), JSON.stringify(progress), 'EX', this.ttlSeconds);
  }

  async putWith(progress: JobProgress, alsoWrite: (tx: ChainableCommander) => void): Promise<void> {
    const tx = this.redis
      .multi()
      .set(this.key(progress.trackingId), JSON.stringify(progress), 'EX', this.ttlSeconds);
    alsoWrite(tx);
    await tx.exec();
  }
}
