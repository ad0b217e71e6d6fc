import { createHash } from 'node:crypto';
import type { AccessItem, AccessRequestBody, PerIdentityItem, RequestType } from './access-request.types';

/** One identity x one item: the unit of de-duplication and of outcome reporting. */
export interface RequestPair {
  readonly requestType: RequestType;
  readonly identityId: string;
  /** The item exactly as it will be sent for this identity (comment, dates, metadata kept). */
  readonly item: AccessItem | PerIdentityItem;
  readonly fingerprint: string;
}

/** What makes two pairs the same access (docs/architecture.md, Dedupe); comments and metadata do not. */
export function pairFingerprint(
  requestType: RequestType,
  identityId: string,
  item: Pick<AccessItem, 'type' | 'id' | 'startDate' | 'removeDate' | 'assignmentId' | 'nativeIdentity'>,
): string {
  const parts = [
    requestType,
    identityId.trim(),
    item.type,
    item.id.trim(),
    isoOrEmpty(item.startDate),
    isoOrEmpty(item.removeDate),
    item.assignmentId?.trim() ?? '',
    item.nativeIdentity?.trim() ?? '',
  ];
  return createHash('sha256').update(parts.join('|')).digest('hex');
}

function isoOrEmpty(v: string | undefined): string {
  if (v === undefined || v === '') return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? v : d.toISOString();
}

/** Expands a request into its pairs; the same pair twice in one request collapses into one. */
export function expandPairs(body: AccessRequestBody): RequestPair[] {
  const seen = new Set<string>();
  const out: RequestPair[] = [];
  const push = (requestType: RequestType, identityId: string, item: AccessItem | PerIdentityItem): void => {
    const fingerprint = pairFingerprint(requestType, identityId, item);
    if (seen.has(fingerprint)) return;
    seen.add(fingerprint);
    out.push({ requestType, identityId, item, fingerprint });
  };
  if (body.requestedForWithRequestedItems !== undefined) {
    for (const target of body.requestedForWithRequestedItems) {
      for (const item of target.requestedItems) push('GRANT_ACCESS', target.identityId, item);
    }
  } else {
    for (const identityId of body.requestedFor) {
      for (const item of body.requestedItems) push(body.requestType, identityId, item);
    }
  }
  return out;
}
