import { releasesClaim } from '../access-request/lifecycle';
import type { HolderOutcome, PairStatus, RequestRecord } from '../access-request/request-record';
import { requestState } from '../access-request/request-state';
import type { HolderPair, StoredPair, StoredRequest } from './request.store';

/**
 * A DUPLICATE's holder outcome. FAILED = ask again and it is sent (claim released); a REVOKE keeps its
 * claim whatever IdentityNow did, so it stays SUBMITTED.
 */
export function holderOutcomeOf(holder: HolderPair | undefined, pair: StoredPair): HolderOutcome {
  const o = holder?.result;
  switch (o?.outcome) {
    case 'SUBMITTED':
      return releasesClaim(pair.d.requestType, holder?.idn?.state) ? 'FAILED' : 'SUBMITTED';
    case 'FAILED':
    case 'CANCELLED':
      return 'FAILED';
    case 'DUPLICATE':
      // IdentityNow reported it existing to the holder: it is there.
      return o.duplicateOf === 'identitynow' ? 'SUBMITTED' : 'PENDING';
    default:
      return 'PENDING';
  }
}

function pairStatus(
  p: StoredPair,
  holder: (trackingId: string, fp: string) => HolderPair | undefined,
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
      ? { holderOutcome: holderOutcomeOf(holder(o.duplicateOf, p.fp), p) }
      : {}),
    ...(o.reason !== undefined ? { reason: o.reason } : {}),
    ...(o.outcome === 'SUBMITTED' && p.idn !== undefined ? { identityNowState: p.idn.state } : {}),
    ...(p.cancel === undefined
      ? {}
      : // A retried cancel that had landed is refused as "already cancelled"; IdentityNow's state says it did.
        o.outcome === 'SUBMITTED' && p.idn?.state === 'CANCELLED' && p.cancel.state === 'REFUSED'
        ? { cancel: { state: 'SENT' } }
        : {
            cancel: {
              state: p.cancel.state,
              ...(p.cancel.reason === undefined ? {} : { reason: p.cancel.reason }),
            },
          }),
  };
}

export function buildRecord(
  stored: StoredRequest,
  holder: (trackingId: string, fp: string) => HolderPair | undefined,
): RequestRecord {
  const pairs = stored.pairs.map((p) => pairStatus(p, holder));
  return {
    trackingId: stored.trackingId,
    clientId: stored.meta.clientId,
    // A re-drive was asked for and no worker has taken it yet: it is queued again.
    state: stored.phase === 'redrive' ? 'QUEUED' : requestState(pairs),
    createdAt: stored.meta.createdAt,
    updatedAt: stored.updatedAt,
    ...(stored.closedAt === undefined ? {} : { closedAt: stored.closedAt }),
    attempts: stored.pairs.reduce((max, p) => Math.max(max, p.attempts), 0),
    pairs,
  };
}
