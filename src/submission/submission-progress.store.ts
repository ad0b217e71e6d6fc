import type { Cluster, Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config';
import { redisKey } from '../redis/redis.keys';
import type { HolderOutcome, PairOutcome, RequestRecord } from '../access-request/request-record';

/**
 * Where a planned submission stands. `in-flight` is written BEFORE the call to IdentityNow and
 * replaced once its outcome is recorded: finding it at the start of an attempt means the previous
 * attempt died mid-call (crash, kill -9, stalled job), i.e. the outcome is unknown.
 */
export type SubmissionState = 'pending' | 'in-flight' | 'ambiguous' | 'done' | 'failed';

export interface SubmissionProgress {
  readonly id: string;
  readonly fingerprints: readonly string[];
  state: SubmissionState;
  /** Last failure, for the final FAILED reason. */
  reason?: string;
}

export interface PairProgress {
  outcome: PairOutcome;
  accessRequestIds?: string[];
  duplicateOf?: string;
  holderOutcome?: HolderOutcome;
  reason?: string;
}

/** Per job, kept next to the status record: the plan, each submission's state, each pair's outcome. */
export interface JobProgress {
  readonly v: 1;
  readonly trackingId: string;
  /** Attempts used before an admin re-drive reset BullMQ's counter. */
  attemptsBefore: number;
  /** Set by the admin endpoint; the next attempt re-claims and re-plans the FAILED pairs. */
  redrive?: boolean;
  readonly pairs: Record<string, PairProgress>;
  readonly submissions: SubmissionProgress[];
}

/**
 * JSON documents in Redis (one per job). Only the worker that holds the job's BullMQ lock writes it;
 * the admin endpoint only touches failed jobs, which no worker holds.
 */
export class SubmissionProgressStore {
  private readonly prefix: string;
  private readonly ttlSeconds: number;

  constructor(
    private readonly redis: Redis | Cluster,
    config: AppConfig,
  ) {
    this.prefix = config.redis.prefix;
    // As long as the status record (request-record.store.ts): at least the dedupe window.
    this.ttlSeconds = Math.max(config.submission.dedupeWindowSeconds, 86_400);
  }

  key(trackingId: string): string {
    return redisKey(this.prefix, 'submission', trackingId);
  }

  recordKey(trackingId: string): string {
    return redisKey(this.prefix, 'request', trackingId);
  }

  async get(trackingId: string): Promise<JobProgress | undefined> {
    const raw = await this.redis.get(this.key(trackingId));
    return raw === null ? undefined : (JSON.parse(raw) as JobProgress);
  }

  async put(progress: JobProgress): Promise<void> {
    await this.redis.set(this.key(progress.trackingId), JSON.stringify(progress), 'EX', this.ttlSeconds);
  }

  /** Progress and status record in one MULTI, so the status never disagrees with the progress. */
  async putWithRecord(progress: JobProgress, record: RequestRecord): Promise<void> {
    await this.redis
      .multi()
      .set(this.key(progress.trackingId), JSON.stringify(progress), 'EX', this.ttlSeconds)
      .set(this.recordKey(record.trackingId), JSON.stringify(record), 'EX', this.ttlSeconds)
      .exec();
  }
}
