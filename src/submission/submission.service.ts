import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AccessRequestBody } from '../access-request/access-request.types';
import { validateAccessRequest } from '../access-request/access-request.validator';
import { expandPairs, type RequestPair } from '../access-request/pairs';
import { IdentityNowClient } from '../identitynow/identitynow.client';
import {
  IdnAuthConfigError,
  IdnError,
  IdnPermanentError,
  IdnRateLimitedError,
  IdnRetryableError,
} from '../identitynow/identitynow.errors';
import type { IdnAccessRequest, IdnAccessRequestTracking } from '../identitynow/identitynow.types';
import type { SubmissionJobData } from '../queue/submission-job';
import type { PairStatus, RequestRecord } from '../access-request/request-record';
import { RequestRecordStore } from '../tracking/request-record.store';
import { holderOutcomeOf, requestState } from '../access-request/request-state';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { DedupeStore } from './dedupe.store';
import { ReconcilerService } from './reconciler.service';
import type { JobProgress, PairProgress, SubmissionProgress } from './submission-progress.store';
import { SubmissionProgressStore } from './submission-progress.store';
import { planSubmissions, type PlanContext } from './submission.planner';

/** The job data cannot be processed (wrong version, invalid request): fail it, never retry. */
export class InvalidJobError extends Error {
  override readonly name = 'InvalidJobError';
}

/** IdentityNow said 429 (or the global budget stayed exhausted): wait, without using an attempt. */
export class RateLimitedSignal extends Error {
  override readonly name = 'RateLimitedSignal';
  constructor(
    readonly retryAfterMs: number,
    reason: string,
  ) {
    super(reason);
  }
}

/** A retryable failure: the attempt counts and BullMQ backs off (full jitter). */
export class RetryLaterError extends Error {
  override readonly name = 'RetryLaterError';
}

/** Every pair has its final outcome and at least one FAILED: the job ends failed (inspectable). */
export class SubmissionFailedError extends Error {
  override readonly name = 'SubmissionFailedError';
}

export interface AttemptInput {
  readonly data: unknown;
  /** BullMQ's attemptsMade when this attempt started (0 on the first). */
  readonly attemptsMade: number;
  readonly maxAttempts: number;
  readonly signal?: AbortSignal;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Re-validates job data read from Redis with the HTTP edge's validator, as of the acceptance time. */
export function parseJobData(data: unknown): SubmissionJobData {
  const d = (typeof data === 'object' && data !== null ? data : {}) as Partial<Record<string, unknown>>;
  if (d.v !== 1) throw new InvalidJobError(`unsupported job data version ${String(d.v)}`);
  if (typeof d.trackingId !== 'string' || !UUID.test(d.trackingId))
    throw new InvalidJobError('job data has no valid trackingId');
  if (typeof d.clientId !== 'string' || d.clientId === '')
    throw new InvalidJobError('job data has no clientId');
  const acceptedAt = typeof d.acceptedAt === 'string' ? new Date(d.acceptedAt) : new Date(NaN);
  if (Number.isNaN(acceptedAt.getTime())) throw new InvalidJobError('job data has no valid acceptedAt');
  const checked = validateAccessRequest(d.request, { now: acceptedAt, allowGatewayMetadata: true });
  if (!checked.ok) throw new InvalidJobError(`job request is invalid: ${checked.messages.join('; ')}`);
  return {
    v: 1,
    trackingId: d.trackingId,
    clientId: d.clientId,
    acceptedAt: acceptedAt.toISOString(),
    request: checked.value,
    ...(typeof d.requestId === 'string' ? { requestId: d.requestId } : {}),
    ...(typeof d.traceparent === 'string' ? { traceparent: d.traceparent } : {}),
  };
}

function matchTracking(
  list: readonly IdnAccessRequestTracking[],
  pair: RequestPair,
): IdnAccessRequestTracking | undefined {
  return list.find(
    (t) =>
      t.requestedFor === pair.identityId &&
      (t.requestedItemsDetails ?? []).some((d) => d.type === pair.item.type && d.id === pair.item.id),
  );
}

/**
 * One attempt of one submission job: claim (once), plan (once), reconcile what is ambiguous, submit
 * what is left, record every outcome. Progress is persisted around every IdentityNow call, so any
 * attempt (after a retry, a crash or an admin re-drive) continues exactly where the last one stopped.
 */
/** Beyond IDN_TIMEOUT_MS: the orphaned call's own send and its worker's scheduling. */
const ORPHAN_SETTLE_MARGIN_MS = 1_000;

@Injectable()
export class SubmissionService {
  private readonly logger = new Logger('SubmissionService');

  constructor(
    @Inject(DedupeStore) private readonly dedupe: DedupeStore,
    @Inject(SubmissionProgressStore) private readonly progressStore: SubmissionProgressStore,
    @Inject(RequestRecordStore) private readonly records: RequestRecordStore,
    @Inject(ReconcilerService) private readonly reconciler: ReconcilerService,
    @Inject(IdentityNowClient) private readonly client: IdentityNowClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * An in-flight mark left by an earlier attempt means that attempt died or lost its job lock
   * mid-call; its worker may even still be alive (a Redis stall longer than the lock) and about to
   * send. Reading IdentityNow's status before that call can have finished would find nothing and
   * send a second time, so wait until any call it started has completed or timed out.
   */
  private async letOrphanedCallSettle(signal: AbortSignal | undefined): Promise<void> {
    await sleep(
      this.config.idn.timeoutMs + ORPHAN_SETTLE_MARGIN_MS,
      undefined,
      signal === undefined ? {} : { signal },
    );
  }

  /** Records a FAILED status for a job whose data is unusable (when it names a tracking id at all). */
  async recordInvalid(data: unknown, reason: string): Promise<void> {
    const d = (typeof data === 'object' && data !== null ? data : {}) as Partial<Record<string, unknown>>;
    if (typeof d.trackingId !== 'string' || !UUID.test(d.trackingId) || typeof d.clientId !== 'string')
      return;
    const now = new Date().toISOString();
    await this.records.put({
      trackingId: d.trackingId,
      clientId: d.clientId,
      state: 'FAILED',
      createdAt: typeof d.acceptedAt === 'string' ? d.acceptedAt : now,
      updatedAt: now,
      attempts: 1,
      pairs: [],
    });
    this.logger.error(`job ${d.trackingId} failed: ${reason}`);
  }

  /**
   * The job failed for good outside an attempt of ours (stalled too often, or a crash on the last
   * attempt): settle what is still pending, as when attempts run out.
   */
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
    await this.progressStore.putWithRecord(progress, this.buildRecord(data, pairs, progress, attempts));
  }

  async attempt(input: AttemptInput): Promise<RequestRecord> {
    const data = parseJobData(input.data);
    const pairs = expandPairs(data.request);
    const byFp = new Map(pairs.map((p) => [p.fingerprint, p]));
    const progress = await this.loadOrPlan(data, pairs);
    const attempts = progress.attemptsBefore + input.attemptsMade + 1;
    const finalAttempt = input.attemptsMade + 1 >= input.maxAttempts;
    const save = async (): Promise<RequestRecord> => {
      const record = this.buildRecord(data, pairs, progress, attempts);
      await this.progressStore.putWithRecord(progress, record);
      return record;
    };
    await this.refreshHolders(pairs, progress);
    await save();

    // 403 (no user context) and refused credentials fail every later call too: stop calling.
    let stopAll: IdnError | undefined;
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
      if (stopAll !== undefined) {
        await this.failPairs(data.trackingId, progress, sub, remaining, stopAll.reason);
        continue;
      }
      try {
        if (sub.state === 'in-flight' || sub.state === 'ambiguous') {
          if (sub.state === 'in-flight') await this.letOrphanedCallSettle(input.signal);
          const arrived = await this.reconciler.findSubmission(
            sub.id,
            [...new Set(remaining.map((p) => p.identityId))],
            new Date(data.acceptedAt),
            input.signal,
          );
          if (arrived !== undefined) {
            for (const p of remaining) {
              const ids = arrived.accessRequestIds.get(p.identityId) ?? [];
              progress.pairs[p.fingerprint] = {
                outcome: 'SUBMITTED',
                ...(ids.length > 0 ? { accessRequestIds: ids } : {}),
              };
            }
            sub.state = 'done';
            await save();
            continue;
          }
          // Not there: the earlier call created nothing, so sending it again is safe.
          sub.state = 'pending';
        }
        await this.send(data, sub, remaining, progress, save, input.signal);
      } catch (err) {
        const e = err instanceof IdnError ? err : undefined;
        if (e instanceof IdnRateLimitedError) {
          // Rejected before processing: nothing was created; an in-flight mark goes back to pending.
          if (sub.state === 'in-flight') sub.state = 'pending';
          await save();
          throw new RateLimitedSignal(e.retryAfterMs, e.reason);
        }
        if (e instanceof IdnPermanentError || e instanceof IdnAuthConfigError) {
          if (e.operation === 'listAccessRequestStatus') {
            // We cannot find out whether it arrived: do not resend, do not release (might be there).
            await this.failPairs(
              data.trackingId,
              progress,
              sub,
              remaining,
              `could not check whether an earlier attempt reached IdentityNow: ${e.reason}`,
              false,
            );
          } else {
            await this.failPairs(data.trackingId, progress, sub, remaining, e.reason);
          }
          if (e instanceof IdnAuthConfigError || e.status === 403) stopAll = e;
          await save();
          continue;
        }
        // Retryable, or unknown (treated as ambiguous: a wrong "not created" would submit twice).
        const ambiguous = e instanceof IdnRetryableError ? e.ambiguous : true;
        const reason = e?.reason ?? (err instanceof Error ? err.message : String(err));
        if (sub.state === 'in-flight') sub.state = ambiguous ? 'ambiguous' : 'pending';
        sub.reason = reason;
        if (finalAttempt) await this.giveUp(data.trackingId, progress, attempts, reason);
        await save();
        throw new RetryLaterError(reason);
      }
    }
    await this.refreshHolders(pairs, progress);
    const record = await save();
    const failed = record.pairs.filter((p) => p.outcome === 'FAILED');
    if (failed.length > 0) {
      throw new SubmissionFailedError(
        `${failed.length} of ${record.pairs.length} pairs failed: ${failed[0]?.reason ?? 'unknown reason'}`,
      );
    }
    return record;
  }

  private async loadOrPlan(data: SubmissionJobData, pairs: readonly RequestPair[]): Promise<JobProgress> {
    const existing = await this.progressStore.get(data.trackingId);
    if (existing !== undefined) {
      if (existing.redrive === true) await this.prepareRedrive(data, pairs, existing);
      return existing;
    }
    // First attempt (or a crash before the plan was saved: then the claims below come back as ours).
    const claims = await this.dedupe.claim(data.trackingId, pairs);
    const progressPairs: Record<string, PairProgress> = {};
    const survivors: RequestPair[] = [];
    pairs.forEach((p, i) => {
      const c = claims[i];
      if (c === undefined || c.owned) {
        survivors.push(p);
        progressPairs[p.fingerprint] = { outcome: 'PENDING' };
      } else {
        progressPairs[p.fingerprint] = { outcome: 'DUPLICATE', duplicateOf: c.holder };
      }
    });
    const progress: JobProgress = {
      v: 1,
      trackingId: data.trackingId,
      attemptsBefore: 0,
      pairs: progressPairs,
      submissions: planSubmissions(survivors, this.planContext(data)).map((p): SubmissionProgress => ({
        id: p.submissionId,
        fingerprints: p.fingerprints,
        state: 'pending',
      })),
    };
    await this.progressStore.put(progress);
    return progress;
  }

  /** Admin re-drive: FAILED pairs are claimed again (or become duplicates of whoever holds them now). */
  private async prepareRedrive(
    data: SubmissionJobData,
    pairs: readonly RequestPair[],
    progress: JobProgress,
  ): Promise<void> {
    const failed = pairs.filter((p) => progress.pairs[p.fingerprint]?.outcome === 'FAILED');
    const claims = await this.dedupe.claim(data.trackingId, failed);
    failed.forEach((p, i) => {
      const c = claims[i];
      progress.pairs[p.fingerprint] =
        c === undefined || c.owned ? { outcome: 'PENDING' } : { outcome: 'DUPLICATE', duplicateOf: c.holder };
    });
    for (const sub of progress.submissions) {
      if (sub.state === 'failed') sub.state = 'pending';
      delete sub.reason;
    }
    progress.redrive = false;
    await this.progressStore.put(progress);
  }

  private planContext(data: SubmissionJobData, submissionId?: string): PlanContext {
    const r = data.request;
    return {
      trackingId: data.trackingId,
      requestType: r.requestType,
      ...(r.clientMetadata === undefined ? {} : { clientMetadata: r.clientMetadata }),
      shape: r.requestedForWithRequestedItems !== undefined ? 'perIdentity' : 'requestedFor',
      ...(submissionId === undefined ? {} : { submissionId: () => submissionId }),
    };
  }

  /**
   * Sends what is left of one planned submission. Usually that is the planned body itself; after a
   * partial outcome the remaining pairs are re-planned under the same submission id.
   */
  private async send(
    data: SubmissionJobData,
    sub: SubmissionProgress,
    remaining: readonly RequestPair[],
    progress: JobProgress,
    save: () => Promise<RequestRecord>,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const plan = planSubmissions(remaining, this.planContext(data, sub.id));
    if (plan.length > 1) {
      // What is left no longer fits one request (some pairs settled otherwise, e.g. after a re-drive):
      // split it into child submissions with ids of their own, so that reconciling one never mistakes
      // a sibling's items for its own. The loop over progress.submissions picks the children up.
      sub.state = 'done';
      plan.forEach((p, k) => {
        progress.submissions.push({ id: `${sub.id}.${k}`, fingerprints: p.fingerprints, state: 'pending' });
      });
      await save();
      return;
    }
    for (const planned of plan) {
      // The in-flight mark: written before the call, replaced once the outcome is recorded.
      sub.state = 'in-flight';
      await save();
      const res = await this.client.createAccessRequest(
        planned.body as IdnAccessRequest & AccessRequestBody,
        signal === undefined ? {} : { signal },
      );
      for (const fp of planned.fingerprints) {
        const p = remaining.find((r) => r.fingerprint === fp);
        if (p === undefined) continue;
        const fresh = matchTracking(res.newRequests, p);
        const existing = fresh === undefined ? matchTracking(res.existingRequests, p) : undefined;
        const ids = (fresh ?? existing)?.accessRequestIds ?? [];
        progress.pairs[fp] =
          existing !== undefined
            ? { outcome: 'DUPLICATE', duplicateOf: 'identitynow', accessRequestIds: ids }
            : { outcome: 'SUBMITTED', ...(ids.length > 0 ? { accessRequestIds: ids } : {}) };
      }
      sub.state = 'pending';
    }
    sub.state = 'done';
    delete sub.reason;
    await save();
  }

  /** Permanent failure: pairs FAILED with the reason, and (by default) their claims released. */
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

  /**
   * Out of attempts. Pairs whose submission certainly created nothing are released so the caller can
   * try again; pairs whose last call had an unknown outcome keep their claim (releasing them could let
   * a new request create the same access twice) until the window ends or an admin re-drive settles it.
   */
  private async giveUp(
    trackingId: string,
    progress: JobProgress,
    attempts: number,
    reason: string,
  ): Promise<void> {
    const releasable: string[] = [];
    for (const sub of progress.submissions) {
      if (sub.state === 'done' || sub.state === 'failed') continue;
      const unknown = sub.state === 'ambiguous' || sub.state === 'in-flight';
      for (const fp of sub.fingerprints) {
        const pp = progress.pairs[fp];
        if (pp?.outcome !== 'PENDING') continue;
        progress.pairs[fp] = {
          outcome: 'FAILED',
          reason: unknown
            ? `gave up after ${attempts} attempts; the last call's outcome is unknown, so the pair stays claimed: ${sub.reason ?? reason}`
            : `gave up after ${attempts} attempts: ${sub.reason ?? reason}`,
        };
        if (!unknown) releasable.push(fp);
      }
    }
    await this.dedupe.release(trackingId, releasable);
  }

  private async refreshHolders(pairs: readonly RequestPair[], progress: JobProgress): Promise<void> {
    const cache = new Map<string, RequestRecord | undefined>();
    for (const p of pairs) {
      const pp = progress.pairs[p.fingerprint];
      if (pp?.outcome !== 'DUPLICATE' || pp.duplicateOf === undefined || pp.duplicateOf === 'identitynow')
        continue;
      if (!cache.has(pp.duplicateOf)) cache.set(pp.duplicateOf, await this.records.get(pp.duplicateOf));
      const status: PairStatus = this.pairStatus(p, pp);
      pp.holderOutcome = holderOutcomeOf(status, cache.get(pp.duplicateOf));
    }
  }

  private pairStatus(p: RequestPair, pp: PairProgress): PairStatus {
    return {
      requestedFor: p.identityId,
      type: p.item.type,
      id: p.item.id,
      requestType: p.requestType,
      outcome: pp.outcome,
      ...(pp.accessRequestIds !== undefined ? { accessRequestIds: pp.accessRequestIds } : {}),
      ...(pp.duplicateOf !== undefined ? { duplicateOf: pp.duplicateOf } : {}),
      ...(pp.outcome === 'DUPLICATE' && pp.duplicateOf !== 'identitynow'
        ? { holderOutcome: pp.holderOutcome ?? 'PENDING' }
        : {}),
      ...(pp.reason !== undefined ? { reason: pp.reason } : {}),
    };
  }

  private buildRecord(
    data: SubmissionJobData,
    pairs: readonly RequestPair[],
    progress: JobProgress,
    attempts: number,
  ): RequestRecord {
    const statuses = pairs.map((p) =>
      this.pairStatus(p, progress.pairs[p.fingerprint] ?? { outcome: 'PENDING' }),
    );
    return {
      trackingId: data.trackingId,
      clientId: data.clientId,
      state: requestState(statuses),
      createdAt: data.acceptedAt,
      updatedAt: new Date().toISOString(),
      attempts,
      pairs: statuses,
    };
  }
}
