import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AccessRequestBody } from '../access-request/access-request.types';
import { expandPairs, type RequestPair } from '../access-request/pairs';
import type { RequestRecord } from '../access-request/request-record';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { IdentityNowClient } from '../identitynow/identitynow.client';
import type { IdnAccessRequest } from '../identitynow/identitynow.types';
import type { SubmissionJobData } from '../queue/submission-job';
import { buildRecord, refreshHolders } from '../tracking/request-record.builder';
import { RequestRecordStore } from '../tracking/request-record.store';
import { attemptOutcome, keepsClaimOnGiveUp, sentOutcome } from './attempt-outcome';
import { DedupeStore } from './dedupe.store';
import { ReconcilerService } from './reconciler.service';
import { invalidJobOwner, parseJobData } from './submission-job.parser';
import { SubmissionPlanService } from './submission-plan.service';
import type { JobProgress, SubmissionProgress } from './submission-progress.store';
import { SubmissionProgressStore } from './submission-progress.store';
import { RateLimitedSignal, RetryLaterError, SubmissionFailedError } from './submission.errors';
import { planContextOf, planSubmissions } from './submission.planner';

export interface AttemptInput {
  readonly data: unknown;
  readonly attemptsMade: number;
  readonly maxAttempts: number;
  readonly signal?: AbortSignal;
}

/** Beyond IDN_TIMEOUT_MS: the orphaned call's own send and its worker's scheduling. */
const ORPHAN_SETTLE_MARGIN_MS = 1_000;

/** One attempt of a job; progress is saved around every call, so the next one continues from it. */
@Injectable()
export class SubmissionService {
  private readonly logger = new Logger('SubmissionService');

  constructor(
    @Inject(DedupeStore) private readonly dedupe: DedupeStore,
    @Inject(SubmissionPlanService) private readonly plans: SubmissionPlanService,
    @Inject(SubmissionProgressStore) private readonly progressStore: SubmissionProgressStore,
    @Inject(RequestRecordStore) private readonly records: RequestRecordStore,
    @Inject(ReconcilerService) private readonly reconciler: ReconcilerService,
    @Inject(IdentityNowClient) private readonly client: IdentityNowClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async recordInvalid(data: unknown, reason: string): Promise<void> {
    const owner = invalidJobOwner(data);
    if (owner === undefined) return;
    const now = new Date().toISOString();
    await this.records.put({
      trackingId: owner.trackingId,
      clientId: owner.clientId,
      state: 'FAILED',
      createdAt: owner.acceptedAt ?? now,
      updatedAt: now,
      attempts: 1,
      pairs: [],
    });
    this.logger.error(`job ${owner.trackingId} failed: ${reason}`);
  }

  /** Failed for good outside an attempt (stalled too often, crashed on the last one). */
  async recordAbandoned(rawData: unknown, reason: string, attemptsMade: number): Promise<void> {
    let data: SubmissionJobData;
    try {
      data = parseJobData(rawData);
    } catch {
      return;
    }
    const progress = await this.progressStore.get(data.trackingId);
    if (progress === undefined) return;
    const pairs = expandPairs(data.request);
    if (!pairs.some((p) => progress.pairs[p.fingerprint]?.outcome === 'PENDING')) return;
    const attempts = progress.attemptsBefore + Math.max(1, attemptsMade);
    for (const sub of progress.submissions) {
      // A job that died mid-call may have reached IdentityNow: treat it as unknown, keep the claim.
      if (sub.state === 'in-flight') sub.state = 'ambiguous';
    }
    await this.giveUp(data.trackingId, progress, attempts, reason);
    await this.save(progress, buildRecord(data, pairs, progress.pairs, attempts));
  }

  async attempt(input: AttemptInput): Promise<RequestRecord> {
    const data = parseJobData(input.data);
    const pairs = expandPairs(data.request);
    const byFp = new Map(pairs.map((p) => [p.fingerprint, p]));
    const progress = await this.plans.loadOrPlan(data, pairs);
    const attempts = progress.attemptsBefore + input.attemptsMade + 1;
    const finalAttempt = input.attemptsMade + 1 >= input.maxAttempts;
    const save = async (): Promise<RequestRecord> => {
      const record = buildRecord(data, pairs, progress.pairs, attempts);
      await this.save(progress, record);
      return record;
    };
    const load = (id: string): Promise<RequestRecord | undefined> => this.records.get(id);
    await refreshHolders(pairs, progress.pairs, load);
    await save();

    let stopReason: string | undefined;
    for (const sub of progress.submissions) {
      if (sub.state === 'done' || sub.state === 'failed') continue;
      const remaining = sub.fingerprints
        .filter((fp) => progress.pairs[fp]?.outcome === 'PENDING')
        .map((fp) => byFp.get(fp))
        .filter((p): p is RequestPair => p !== undefined);
      if (remaining.length === 0) {
        sub.state = 'done';
        continue;
      }
      if (stopReason !== undefined) {
        await this.failPairs(data.trackingId, progress, sub, remaining, stopReason);
        continue;
      }
      try {
        if (sub.state === 'in-flight' || sub.state === 'ambiguous') {
          if (sub.state === 'in-flight') await this.letOrphanedCallSettle(input.signal);
          if (await this.arrived(data, sub, remaining, progress, input.signal)) {
            await save();
            continue;
          }
          // Not there: the earlier call created nothing, so sending it again is safe.
          sub.state = 'pending';
        }
        await this.send(data, sub, remaining, progress, save, input.signal);
      } catch (err) {
        const outcome = attemptOutcome(err, sub.state, finalAttempt);
        switch (outcome.kind) {
          case 'wait':
            sub.state = outcome.state;
            await save();
            throw new RateLimitedSignal(outcome.retryAfterMs, outcome.reason);
          case 'fail':
            await this.failPairs(data.trackingId, progress, sub, remaining, outcome.reason, outcome.release);
            stopReason = outcome.stopOthers;
            await save();
            continue;
          case 'retry':
            sub.state = outcome.state;
            sub.reason = outcome.reason;
            if (outcome.giveUp) await this.giveUp(data.trackingId, progress, attempts, outcome.reason);
            await save();
            throw new RetryLaterError(outcome.reason);
        }
      }
    }
    await refreshHolders(pairs, progress.pairs, load);
    const record = await save();
    const failed = record.pairs.filter((p) => p.outcome === 'FAILED');
    if (failed.length > 0) {
      throw new SubmissionFailedError(
        `${failed.length} of ${record.pairs.length} pairs failed: ${failed[0]?.reason ?? 'unknown reason'}`,
      );
    }
    return record;
  }

  private async save(progress: JobProgress, record: RequestRecord): Promise<void> {
    await this.progressStore.putWith(progress, (tx) => this.records.putIn(tx, record));
  }

  // The attempt that left the mark may still be alive and about to send: a status read before its
  // call can have finished would find nothing and send a second time.
  private async letOrphanedCallSettle(signal: AbortSignal | undefined): Promise<void> {
    await sleep(
      this.config.idn.timeoutMs + ORPHAN_SETTLE_MARGIN_MS,
      undefined,
      signal === undefined ? {} : { signal },
    );
  }

  private async arrived(
    data: SubmissionJobData,
    sub: SubmissionProgress,
    remaining: readonly RequestPair[],
    progress: JobProgress,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    const found = await this.reconciler.findSubmission(
      sub.id,
      [...new Set(remaining.map((p) => p.identityId))],
      new Date(data.acceptedAt),
      signal,
    );
    if (found === undefined) return false;
    for (const p of remaining) {
      const ids = found.accessRequestIds.get(p.identityId) ?? [];
      progress.pairs[p.fingerprint] = {
        outcome: 'SUBMITTED',
        ...(ids.length > 0 ? { accessRequestIds: ids } : {}),
      };
    }
    sub.state = 'done';
    return true;
  }

  private async send(
    data: SubmissionJobData,
    sub: SubmissionProgress,
    remaining: readonly RequestPair[],
    progress: JobProgress,
    save: () => Promise<RequestRecord>,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const plan = planSubmissions(remaining, planContextOf(data, sub.id));
    if (plan.length > 1) {
      // No longer one request (e.g. after a re-drive): children get ids of their own, so reconciling
      // one never mistakes a sibling's items for its own. The caller's loop picks them up.
      sub.state = 'done';
      plan.forEach((p, k) => {
        progress.submissions.push({ id: `${sub.id}.${k}`, fingerprints: p.fingerprints, state: 'pending' });
      });
      await save();
      return;
    }
    for (const planned of plan) {
      sub.state = 'in-flight';
      await save();
      const res = await this.client.createAccessRequest(
        planned.body as IdnAccessRequest & AccessRequestBody,
        signal === undefined ? {} : { signal },
      );
      for (const fp of planned.fingerprints) {
        const p = remaining.find((r) => r.fingerprint === fp);
        if (p !== undefined) progress.pairs[fp] = sentOutcome(res, p);
      }
      sub.state = 'pending';
    }
    sub.state = 'done';
    delete sub.reason;
    await save();
  }

  private async failPairs(
    trackingId: string,
    progress: JobProgress,
    sub: SubmissionProgress,
    pairs: readonly RequestPair[],
    reason: string,
    release = true,
  ): Promise<void> {
    for (const p of pairs) progress.pairs[p.fingerprint] = { outcome: 'FAILED', reason };
    sub.state = 'failed';
    sub.reason = reason;
    if (release)
      await this.dedupe.release(
        trackingId,
        pairs.map((p) => p.fingerprint),
      );
  }

  private async giveUp(
    trackingId: string,
    progress: JobProgress,
    attempts: number,
    reason: string,
  ): Promise<void> {
    const releasable: string[] = [];
    for (const sub of progress.submissions) {
      if (sub.state === 'done' || sub.state === 'failed') continue;
      const keep = keepsClaimOnGiveUp(sub.state);
      for (const fp of sub.fingerprints) {
        if (progress.pairs[fp]?.outcome !== 'PENDING') continue;
        progress.pairs[fp] = {
          outcome: 'FAILED',
          reason: keep
            ? `gave up after ${attempts} attempts; the last call's outcome is unknown, so the pair stays claimed: ${sub.reason ?? reason}`
            : `gave up after ${attempts} attempts: ${sub.reason ?? reason}`,
        };
        if (!keep) releasable.push(fp);
      }
    }
    await this.dedupe.release(trackingId, releasable);
  }
}
