import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import type { JobJson, JobsOptions, Queue } from 'bullmq';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReplyError } from 'ioredis';
import { statusPath } from '../access-request/request-record';
import { withTimeout } from '../common/with-timeout';
import type { RedisClient } from '../redis/redis.connections';
import { redisKey } from '../redis/redis.keys';
import { replicationState, waitForReplicas } from '../redis/redis-replication';
import { withRedisTimeout } from '../redis/redis-timeout';
import { REDIS } from '../redis/redis.tokens';
import { EnqueueUnconfirmedError, UnavailableError } from '../common/gateway.errors';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import {
  SUBMISSION_BACKOFF_TYPE,
  SUBMISSION_JOB_NAME,
  SUBMISSION_QUEUE,
  type SubmissionJobData,
} from '../queue/submission-job';

type EnqueueOutcome = 'added' | 'refused' | 'unknown';

const LANDED_CHECKS = 30;
const LANDED_CHECK_INTERVAL_MS = 1_000;

/** A 503 must come back within a second when Redis is away, never a hang. */
const ENQUEUE_TIMEOUT_MS = 800;
const RETRY_AFTER_SECONDS = 5;
// WAIT blocks the shared API connection while it waits, so it is kept short: replicas that are in
// sync acknowledge within milliseconds.
const REPLICA_WAIT_MS = 300;
const REPLICA_WAIT_BOUND_MS = 500;

export interface QueuedJob {
  readonly data: SubmissionJobData;
  readonly attemptsMade: number;
  readonly failedReason: string | undefined;
}

/** The only code that adds jobs (and the only file of the HTTP edge that knows BullMQ). */
@Injectable()
export class SubmissionProducer {
  /** A key in the queue's slot: WAIT and INFO must reach the primary that holds the queue. */
  private readonly replicaAnchor: string;
  /** Set when replicas last failed to acknowledge: then each enqueue first checks they are back. */
  private replicasShort = false;

  constructor(
    @InjectQueue(SUBMISSION_QUEUE) private readonly queue: Queue<SubmissionJobData>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    // The queue is registered on this same connection (app.module.ts), so its state is the queue's.
    @Inject(REDIS) private readonly redis: RedisClient,
  ) {
    this.replicaAnchor = redisKey(config.redis.prefix, SUBMISSION_QUEUE);
  }

  async enqueue(data: SubmissionJobData): Promise<void> {
    if (this.redis.status !== 'ready') throw this.unavailable();
    const replicas = this.config.redis.minReplicasAck;
    if (replicas > 0 && this.replicasShort) await this.refuseWithoutReplicas(replicas);
    const added = this.add(data);
    // An error reply means refused (nothing written); a dropped connection or timeout leaves it unknown.
    const outcome = added.then(
      (): EnqueueOutcome => 'added',
      (e: unknown): EnqueueOutcome => (e instanceof ReplyError ? 'refused' : 'unknown'),
    );
    const first = await withTimeout<EnqueueOutcome | 'timeout'>(outcome, ENQUEUE_TIMEOUT_MS, () => 'timeout');
    if (first === 'refused') throw this.unavailable();
    if (first === 'added' && (replicas === 0 || (await this.replicasAcknowledged(replicas)))) return;
    const path = statusPath(data.trackingId);
    // Added but not acknowledged by enough replicas: on the primary only, which a failover would lose.
    const settled =
      first === 'added'
        ? this.confirmedLater(data.trackingId)
        : outcome.then((o) =>
            o === 'refused'
              ? false
              : o === 'added' && replicas === 0
                ? true
                : this.confirmedLater(data.trackingId),
          );
    throw new EnqueueUnconfirmedError(
      [
        `the request queue (Redis) did not confirm in time; the request may still have been queued as ${path} ` +
          '(that status URL answers 404 if it was not). Retry with the same Idempotency-Key to get its real ' +
          'answer; without one, a retry is de-duplicated by the worker (its pairs then show DUPLICATE)',
      ],
      RETRY_AFTER_SECONDS,
      settled,
    );
  }

  /** Whether the job is in the queue (and, with REDIS_MIN_REPLICAS_ACK, on enough replicas). */
  private async confirmedLater(trackingId: string): Promise<boolean> {
    const replicas = this.config.redis.minReplicasAck;
    for (let i = 0; i < LANDED_CHECKS; i++) {
      await sleep(LANDED_CHECK_INTERVAL_MS);
      try {
        if ((await withRedisTimeout(this.queue.getJob(trackingId))) === undefined) return false;
        if (replicas === 0 || (await this.replicasAcknowledged(replicas))) return true;
      } catch {
        // Redis still away: ask again.
      }
    }
    return false;
  }

  private async replicasAcknowledged(replicas: number): Promise<boolean> {
    try {
      const acked = await withRedisTimeout(
        waitForReplicas(this.redis, this.replicaAnchor, replicas, REPLICA_WAIT_MS),
        REPLICA_WAIT_BOUND_MS,
      );
      this.replicasShort = acked < replicas;
    } catch {
      this.replicasShort = true;
    }
    return !this.replicasShort;
  }

  /** Refuses before writing anything while fewer replicas stream from the primary than must acknowledge. */
  private async refuseWithoutReplicas(replicas: number): Promise<void> {
    let online: number;
    try {
      online = (await withRedisTimeout(replicationState(this.redis, this.replicaAnchor))).online;
    } catch {
      throw this.unavailable();
    }
    if (online >= replicas) return;
    throw new UnavailableError(
      [
        `fewer Redis replicas are in sync (${online}) than must acknowledge each request (${replicas}); ` +
          'nothing was accepted, retry after the indicated delay',
      ],
      RETRY_AFTER_SECONDS,
    );
  }

  async find(trackingId: string): Promise<QueuedJob | undefined> {
    const job = await this.queue.getJob(trackingId);
    if (job === undefined) return undefined;
    const failed = job.finishedOn !== undefined && job.failedReason !== '' && (await job.isFailed());
    return {
      data: job.data,
      attemptsMade: job.attemptsMade,
      failedReason: failed ? job.failedReason : undefined,
    };
  }

  private jobOptions(trackingId: string): JobsOptions {
    const { attempts, backoffBaseMs, completedJobRetentionSeconds, failedJobRetentionSeconds } =
      this.config.submission;
    return {
      // The tracking id is the job id: BullMQ then refuses a second job with the same id.
      jobId: trackingId,
      attempts,
      backoff: { type: SUBMISSION_BACKOFF_TYPE, delay: backoffBaseMs },
      removeOnComplete: { age: completedJobRetentionSeconds },
      removeOnFail: { age: failedJobRetentionSeconds },
    };
  }

  /** Removes a job no worker ever ran; false once one did (its cancel then goes through claims/record). */
  async removeWaiting(trackingId: string): Promise<boolean> {
    const job = await this.queue.getJob(trackingId);
    if (job === undefined || job.attemptsStarted > 0) return false;
    const state = await job.getState();
    if (state !== 'waiting' && state !== 'prioritized') return false;
    // Refused (0) for a job that became active meanwhile: its lock is held.
    return (await this.queue.remove(trackingId)) === 1;
  }

  /** Puts back a job that `removeWaiting` took out just after a worker had handed its pairs off. */
  async restore(data: SubmissionJobData): Promise<void> {
    await this.add(data);
  }

  /**
   * The job hash `queue.add` would write, through the backend's `addJob` (BullMQ's public `IQueueBackend`):
   * `queue.add` also builds a Job, a telemetry span and a local event per call, ≈ 8 µs of the accept path
   * (docs/benchmarks.md). submission.producer.spec.ts compares the two hashes field by field.
   */
  private add(data: SubmissionJobData): Promise<string> {
    const job: JobJson = {
      id: data.trackingId,
      name: SUBMISSION_JOB_NAME,
      data: JSON.stringify(data),
      opts: this.jobOptions(data.trackingId),
      timestamp: Date.now(),
      progress: 0,
      attemptsMade: 0,
      attemptsStarted: 0,
      stalledCounter: 0,
      failedReason: '',
      returnvalue: '',
    };
    return this.queue.backend.addJob(job, data.trackingId);
  }

  private unavailable(): UnavailableError {
    return new UnavailableError(
      ['the request queue (Redis) is unavailable; nothing was accepted, retry after the indicated delay'],
      RETRY_AFTER_SECONDS,
    );
  }
}
