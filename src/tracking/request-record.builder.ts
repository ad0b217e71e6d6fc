import type { HolderOutcome, PairStatus, RequestRecord } from '../access-request/request-record';
import { requestState } from '../access-request/request-state';
import type { PairResult, StoredPair, StoredRequest } from './request.store';

/** What a DUPLICATE's holder has achieved for the same pair (its result under the same fingerprint). */
export function holderOutcomeOf(holder: PairResult | undefined): HolderOutcome {
  switch (holder?.outcome) {
    case 'SUBMITTED':
      return 'SUBMITTED';
    case 'FAILED':
      return 'FAILED';
    case 'DUPLICATE':
      // IdentityNow reported it existing to the holder: it is there.
      return holder.duplicateOf === 'identitynow' ? 'SUBMITTED' : 'PENDING';
    default:
      return 'PENDING';
  }
}

function pairStatus(
  p: StoredPair,
  holder: (trackingId: string, fp: string) => PairResult | undefined,
): PairStatus {
  const o = p.o;
  return {
    requestedFor: p.d.requestedFor,
    type: p.d.type,
    id: p.d.id,
    requestType: p.d.requestType,
    outcome: o.outcome,
    ...(o.accessRequestIds !== undefined && o.accessRequestIds.length > 0
      ? { accessRequestIds: [...o.accessRequestIds] }
      : {}),
    ...(o.duplicateOf !== undefined ? { duplicateOf: o.duplicateOf } : {}),
    ...(o.outcome === 'DUPLICATE' && o.duplicateOf !== undefined && o.duplicateOf !== 'identitynow'
      ? { holderOutcome: holderOutcomeOf(holder(o.duplicateOf, p.fp)) }
      : {}),
    ...(o.reason !== undefined ? { reason: o.reason } : {}),
  };
}

export function buildRecord(
  stored: StoredRequest,
  holder: (trackingId: string, fp: string) => PairResult | undefined,
): RequestRecord {
  const pairs = stored.pairs.map((p) => pairStatus(p, holder));
  return {
    trackingId: stored.trackingId,
    clientId: stored.meta.clientId,
    // A re-drive was asked for and no worker has taken it yet: it is queued again.
    state: stored.phase === 'redrive' ? 'QUEUED' : requestState(pairs),
    createdAt: stored.meta.createdAt,
    updatedAt: stored.updatedAt,
    attempts: stored.pairs.reduce((max, p) => Math.max(max, p.attempts), 0),
    pairs,
  };
}
