import type { RequestPair } from '../access-request/pairs';
import type { IdnAccessRequestResponse, IdnAccessRequestTracking } from '../identitynow/identitynow.types';
import type { PairResult } from '../tracking/request.store';
import type { CallContext, CallUnit } from './call.store';
import { planSubmissions, type PlannablePair, type PlannedRequest } from './submission.planner';

export function unitPairs(ctx: CallContext, units: readonly CallUnit[]): PlannablePair[] {
  return units.map((u) => ({
    requestType: ctx.requestType,
    identityId: u.identityId,
    item: u.item,
    fingerprint: u.fp,
    owner: u.t,
  }));
}

/** One body when the units fit one request; else the call is split, each part under its own id. */
export function callBodies(
  callId: string,
  ctx: CallContext,
  units: readonly CallUnit[],
  maxIdentities: number,
): PlannedRequest[] {
  if (units.length === 0) return [];
  return planSubmissions(unitPairs(ctx, units), {
    trackingId: units[0]?.t ?? '',
    requestType: ctx.requestType,
    ...(ctx.clientMetadata === undefined ? {} : { clientMetadata: ctx.clientMetadata }),
    shape: ctx.shape,
    submissionId: () => callId,
    maxIdentities,
  });
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

/** What a 2xx says of one pair: created now, or already there (IdentityNow's existingRequests). */
export function sentOutcome(res: IdnAccessRequestResponse, pair: RequestPair): PairResult {
  const fresh = matchTracking(res.newRequests, pair);
  const existing = fresh === undefined ? matchTracking(res.existingRequests, pair) : undefined;
  const ids = (fresh ?? existing)?.accessRequestIds ?? [];
  return existing !== undefined
    ? { outcome: 'DUPLICATE', duplicateOf: 'identitynow', accessRequestIds: ids }
    : { outcome: 'SUBMITTED', ...(ids.length > 0 ? { accessRequestIds: ids } : {}) };
}
