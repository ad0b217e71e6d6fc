import { createHash } from 'node:crypto';
import type { Metadata } from '../access-request/access-request.types';
import { MAX_ENTITLEMENTS } from '../access-request/access-request.limits';
import type { RequestPair } from '../access-request/pairs';
import type { SubmissionJobData } from '../queue/submission-job';
import type { CallContext, LaneUnit } from './call.store';

export interface LanePlan {
  /** Pairs that join their lane's open call, one unit per identity (and entitlement chunk). */
  readonly lanes: readonly LaneUnit[];
  /** Pairs sent in calls of their own request (planned by the request planner). */
  readonly own: readonly RequestPair[];
}

function canonical(m: Metadata | undefined): string {
  if (m === undefined) return '{}';
  return JSON.stringify(
    Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  );
}

const laneId = (parts: readonly string[]): string =>
  createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32);

/**
 * Which of a request's pairs may share calls with other requests' pairs, and how. One call carries
 * one type and one request-level metadata map (which names the client), so those make the lane.
 * - GRANT: `requestedForWithRequestedItems` lets each identity carry its own items, each tagged with
 *   its own request; so any identities of the lane share a call (within the caps).
 * - REVOKE, and MODIFY of a single identity: the flat shape lists an item once for all identities, so
 *   its tag can name one request only; such calls carry one identity (the lane includes it).
 * - A MODIFY of several identities, or a GRANT whose items name an assignment or account (fields the
 *   per-identity shape cannot carry), keeps calls of its own: coalescing it would change what is sent.
 */
export function planLanes(data: SubmissionJobData, pairs: readonly RequestPair[]): LanePlan {
  const r = data.request;
  const type = r.requestType;
  const identities = [...new Set(pairs.map((p) => p.identityId))];
  const flatOnly = pairs.some((p) => 'assignmentId' in p.item || 'nativeIdentity' in p.item);
  const coalesced =
    (type === 'GRANT_ACCESS' && !flatOnly) ||
    type === 'REVOKE_ACCESS' ||
    (type === 'MODIFY_ACCESS' && new Set(expandIdentities(data)).size === 1);
  if (!coalesced) return { lanes: [], own: pairs };
  const ctx: CallContext = {
    clientId: data.clientId,
    requestType: type,
    ...(r.clientMetadata === undefined ? {} : { clientMetadata: r.clientMetadata }),
    shape: type === 'GRANT_ACCESS' ? 'perIdentity' : 'requestedFor',
  };
  const maxEntitlements = type === 'REVOKE_ACCESS' ? 1 : MAX_ENTITLEMENTS;
  const lanes: LaneUnit[] = [];
  for (const identity of identities) {
    const mine = pairs.filter((p) => p.identityId === identity);
    const ents = mine.filter((p) => p.item.type === 'ENTITLEMENT');
    const others = mine.filter((p) => p.item.type !== 'ENTITLEMENT');
    const chunks: RequestPair[][] = [];
    for (let i = 0; i < ents.length; i += maxEntitlements) chunks.push(ents.slice(i, i + maxEntitlements));
    if (chunks.length === 0) chunks.push([]);
    (chunks[0] as RequestPair[]).unshift(...others);
    const lane = laneId([
      data.clientId,
      type,
      canonical(r.clientMetadata),
      ...(type === 'GRANT_ACCESS' ? [] : [identity]),
    ]);
    for (const chunk of chunks) {
      lanes.push({
        lane,
        ctx,
        identityId: identity,
        maxEntitlements,
        units: chunk.map((p) => ({
          t: data.trackingId,
          fp: p.fingerprint,
          identityId: p.identityId,
          item: p.item,
        })),
      });
    }
  }
  return { lanes, own: [] };
}

function expandIdentities(data: SubmissionJobData): string[] {
  const r = data.request;
  return r.requestedForWithRequestedItems !== undefined
    ? r.requestedForWithRequestedItems.map((t) => t.identityId)
    : r.requestedFor;
}
