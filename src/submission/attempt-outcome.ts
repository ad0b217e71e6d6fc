import {
  IdnAuthConfigError,
  IdnError,
  IdnPermanentError,
  IdnRateLimitedError,
  IdnRetryableError,
} from '../identitynow/identitynow.errors';
import type { IdnAccessRequestResponse, IdnAccessRequestTracking } from '../identitynow/identitynow.types';
import type { RequestPair } from '../access-request/pairs';
import type { PairResult } from '../tracking/request-record.builder';
import type { SubmissionState } from './submission-progress.store';

export type AttemptOutcome =
  | {
      readonly kind: 'wait';
      readonly retryAfterMs: number;
      readonly reason: string;
      readonly state: SubmissionState;
    }
  /** `stopOthers`: the reason the job's later submissions fail with, without calling IdentityNow. */
  | {
      readonly kind: 'fail';
      readonly reason: string;
      readonly release: boolean;
      readonly stopOthers?: string;
    }
  | {
      readonly kind: 'retry';
      readonly reason: string;
      readonly state: SubmissionState;
      readonly giveUp: boolean;
    };

/** After a step threw; the rules: docs/architecture.md, "Worker: dedupe, rate limit, never twice". */
export function attemptOutcome(err: unknown, state: SubmissionState, finalAttempt: boolean): AttemptOutcome {
  const e = err instanceof IdnError ? err : undefined;
  if (e instanceof IdnRateLimitedError) {
    return {
      kind: 'wait',
      retryAfterMs: e.retryAfterMs,
      reason: e.reason,
      state: state === 'in-flight' ? 'pending' : state,
    };
  }
  if (e instanceof IdnPermanentError || e instanceof IdnAuthConfigError) {
    const stopOthers = e instanceof IdnAuthConfigError || e.status === 403 ? { stopOthers: e.reason } : {};
    if (e.operation === 'listAccessRequestStatus') {
      // Whether it arrived cannot be known: never resend, never release (it may be there).
      return {
        kind: 'fail',
        reason: `could not check whether an earlier attempt reached IdentityNow: ${e.reason}`,
        release: false,
        ...stopOthers,
      };
    }
    return { kind: 'fail', reason: e.reason, release: true, ...stopOthers };
  }
  // Unknown errors count as ambiguous: a wrong "not created" would submit twice.
  const ambiguous = e instanceof IdnRetryableError ? e.ambiguous : true;
  return {
    kind: 'retry',
    reason: e?.reason ?? (err instanceof Error ? err.message : String(err)),
    state: state === 'in-flight' ? (ambiguous ? 'ambiguous' : 'pending') : state,
    giveUp: finalAttempt,
  };
}

/** Out of attempts: a pending pair keeps its claim only while its last call's outcome is unknown. */
export function keepsClaimOnGiveUp(state: SubmissionState): boolean {
  return state === 'ambiguous' || state === 'in-flight';
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

export function sentOutcome(res: IdnAccessRequestResponse, pair: RequestPair): PairResult {
  const fresh = matchTracking(res.newRequests, pair);
  const existing = fresh === undefined ? matchTracking(res.existingRequests, pair) : undefined;
  const ids = (fresh ?? existing)?.accessRequestIds ?? [];
  return existing !== undefined
    ? { outcome: 'DUPLICATE', duplicateOf: 'identitynow', accessRequestIds: ids }
    : { outcome: 'SUBMITTED', ...(ids.length > 0 ? { accessRequestIds: ids } : {}) };
}
