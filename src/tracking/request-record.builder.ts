import type { RequestPair } from '../access-request/pairs';
import type { HolderOutcome, PairOutcome, PairStatus, RequestRecord } from '../access-request/request-record';
import { holderOutcomeOf, requestState } from '../access-request/request-state';
import type { SubmissionJobData } from '../queue/submission-job';

/** What the worker knows of one pair so far (kept per fingerprint in the job's progress). */
export interface PairResult {
  outcome: PairOutcome;
  accessRequestIds?: string[];
  duplicateOf?: string;
  holderOutcome?: HolderOutcome;
  reason?: string;
}

export type PairResults = Readonly<Record<string, PairResult>>;

function pairStatus(p: RequestPair, r: PairResult): PairStatus {
  return {
    requestedFor: p.identityId,
    type: p.item.type,
    id: p.item.id,
    requestType: p.requestType,
    outcome: r.outcome,
    ...(r.accessRequestIds !== undefined ? { accessRequestIds: r.accessRequestIds } : {}),
    ...(r.duplicateOf !== undefined ? { duplicateOf: r.duplicateOf } : {}),
    ...(r.outcome === 'DUPLICATE' && r.duplicateOf !== 'identitynow'
      ? { holderOutcome: r.holderOutcome ?? 'PENDING' }
      : {}),
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
  };
}

export function buildRecord(
  job: Pick<SubmissionJobData, 'trackingId' | 'clientId' | 'acceptedAt'>,
  pairs: readonly RequestPair[],
  results: PairResults,
  attempts: number,
): RequestRecord {
  const statuses = pairs.map((p) => pairStatus(p, results[p.fingerprint] ?? { outcome: 'PENDING' }));
  return {
    trackingId: job.trackingId,
    clientId: job.clientId,
    state: requestState(statuses),
    createdAt: job.acceptedAt,
    updatedAt: new Date().toISOString(),
    attempts,
    pairs: statuses,
  };
}

/** Sets `holderOutcome` of every DUPLICATE pair held by another request, reading each holder once. */
export async function refreshHolders(
  pairs: readonly RequestPair[],
  results: PairResults,
  load: (trackingId: string) => Promise<RequestRecord | undefined>,
): Promise<void> {
  const cache = new Map<string, RequestRecord | undefined>();
  for (const p of pairs) {
    const r = results[p.fingerprint];
    if (r?.outcome !== 'DUPLICATE' || r.duplicateOf === undefined || r.duplicateOf === 'identitynow')
      continue;
    if (!cache.has(r.duplicateOf)) cache.set(r.duplicateOf, await load(r.duplicateOf));
    r.holderOutcome = holderOutcomeOf(pairStatus(p, r), cache.get(r.duplicateOf));
  }
}
