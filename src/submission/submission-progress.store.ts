import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config';
import { redisKey } from '../redis/redis.keys';
import { recordRetentionSeconds } from '../tracking/request-record.store';
import type { PairResult } from '../tracking/request-record.builder';

/**
 * `in-flight` is written BEFORE the call to IdentityNow and replaced once its outcome is recorded:
 * found at the start of an attempt, it means the previous attempt died mid-call (outcome unknown).
 */
export type SubmissionState = 'pending' | 'in-flight' | 'ambiguous' | 'done' | 'failed';

export interface SubmissionProgress {
  readonly id: string;
  readonly fingerprints: readonly string[];
  state: SubmissionState;
  /** Last failure, for the final FAILED reason. */
  reason?: string;
}

/** Per job: the plan, each submission's state, each pair's outcome. */
export interface JobProgress {
  readonly v: 1;
  readonly trackingId: string;
  /** Attempts used before an admin re-drive reset BullMQ's counter. */
  attemptsBefore: number;
  /** Set by the admin endpoint; the next attempt re-claims and re-plans the FAILED pairs. */
  redrive?: boolean;
  readonly pairs: Record<string, PairResult>;
  readonly submissions: SubmissionProgress[];
}

/**
 * One JSON document per job, kept as long as its status record. Only the worker that holds the job's
 * BullMQ lock writes it; the admin endpoint only touches failed jobs, which no worker holds.
 */
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

  /** Progress and whatever `alsoWrite` adds (the status record) in one MULTI, so they never disagree. */
  async putWith(progress: JobProgress, alsoWrite: (tx: ChainableCommander) => void): Promise<void> {
    const tx = this.redis
      .multi()
      .set(this.key(progress.trackingId), JSON.stringify(progress), 'EX', this.ttlSeconds);
    alsoWrite(tx);
    await tx.exec();
  }
}
