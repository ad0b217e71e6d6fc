import { GATEWAY_META } from '../access-request/access-request.types';
import { isFinalState, isIdentityNowState } from '../access-request/lifecycle';
import type { IdentityNowState } from '../access-request/request-record';
import type { IdnRequestedItemStatus } from '../identitynow/identitynow.types';
import type { PairIdnStatus, StoredPair } from '../tracking/request.store';

export interface StatusRow {
  readonly trackingId: string;
  readonly callId: string | undefined;
  readonly identityId: string;
  readonly type: string;
  readonly requestType: string | undefined;
  readonly accessRequestId: string | undefined;
  readonly rowId: string;
  readonly state: IdentityNowState;
  readonly modifiedMs: number;
  readonly modified: string | undefined;
  readonly cancelable: boolean | undefined;
}

/** Rows without the gateway's item metadata or with a state we do not know are none of ours. */
export function statusRow(r: IdnRequestedItemStatus): StatusRow | undefined {
  const meta = r.clientMetadata ?? {};
  const trackingId = meta[GATEWAY_META.trackingId];
  const identityId = r.requestedFor?.id;
  if (trackingId === undefined || identityId === undefined || typeof r.type !== 'string') return undefined;
  if (!isIdentityNowState(r.state)) return undefined;
  const modified = typeof r.modified === 'string' ? r.modified : r.created;
  const modifiedMs = modified === undefined ? 0 : Date.parse(modified);
  return {
    trackingId,
    callId: meta[GATEWAY_META.submissionId],
    identityId,
    type: r.type,
    requestType: r.requestType ?? undefined,
    accessRequestId: r.accessRequestId,
    rowId:
      r.id ?? r.accountActivityItemId ?? `${r.accessRequestId ?? ''}|${identityId}|${r.type}|${r.name ?? ''}`,
    state: r.state,
    modifiedMs: Number.isNaN(modifiedMs) ? 0 : modifiedMs,
    modified,
    cancelable: r.cancelable,
  };
}

export function followedPairs(pairs: readonly StoredPair[]): StoredPair[] {
  return pairs.filter((p) => p.o.outcome === 'SUBMITTED' && !isFinalState(p.idn?.state));
}

interface Group {
  readonly pairs: StoredPair[];
  readonly rows: Map<string, StatusRow>;
}

function groupKey(p: StoredPair): string {
  const ids = [...(p.o.accessRequestIds ?? [])].sort().join(',');
  return [p.d.requestedFor, p.d.type, p.d.requestType, p.o.call ?? '', ids].join('|');
}

export function rowFits(p: StoredPair, r: StatusRow): boolean {
  const ids = p.o.accessRequestIds ?? [];
  return (
    r.identityId === p.d.requestedFor &&
    r.type === p.d.type &&
    (r.requestType === undefined || r.requestType === p.d.requestType) &&
    (p.o.call === undefined || r.callId === p.o.call) &&
    (ids.length === 0 || (r.accessRequestId !== undefined && ids.includes(r.accessRequestId)))
  );
}

const newest = (rows: readonly StatusRow[]): StatusRow | undefined =>
  rows.reduce<StatusRow | undefined>(
    (a, r) => (a === undefined || r.modifiedMs > a.modifiedMs ? r : a),
    undefined,
  );

/**
 * What one group of indistinguishable pairs shows. A row names the item's type but not its id, so
 * two items of one type for one identity in one call cannot be told apart: they share a state. It is
 * the state of all their rows when those agree; while any is still open, the newest open one; and
 * once all ended differently, the newest that released its claim (the caller asks again; what was
 * granted meanwhile IdentityNow then refuses as already held).
 */
function groupState(size: number, rows: readonly StatusRow[]): StatusRow | undefined {
  if (size === 1 || rows.length === 0) return newest(rows);
  const open = rows.filter((r) => !isFinalState(r.state));
  if (open.length > 0) return newest(open);
  if (rows.length < size) return undefined;
  if (rows.every((r) => r.state === rows[0]?.state)) return newest(rows);
  return newest(rows.filter((r) => r.state !== 'REQUEST_COMPLETED'));
}

export function matchStatuses(
  pairs: readonly StoredPair[],
  rows: readonly StatusRow[],
): Map<string, PairIdnStatus> {
  const groups = new Map<string, Group>();
  for (const p of followedPairs(pairs)) {
    const key = groupKey(p);
    const g = groups.get(key) ?? { pairs: [], rows: new Map<string, StatusRow>() };
    g.pairs.push(p);
    groups.set(key, g);
  }
  const out = new Map<string, PairIdnStatus>();
  for (const g of groups.values()) {
    const first = g.pairs[0];
    if (first === undefined) continue;
    for (const r of rows) {
      if (!rowFits(first, r)) continue;
      const seen = g.rows.get(r.rowId);
      if (seen === undefined || r.modifiedMs > seen.modifiedMs) g.rows.set(r.rowId, r);
    }
    const all = [...g.rows.values()];
    const row = groupState(g.pairs.length, all);
    if (row === undefined) continue;
    const ids = new Set(all.map((r) => r.accessRequestId));
    const accessRequestId = g.pairs.length === 1 || ids.size === 1 ? row.accessRequestId : undefined;
    for (const p of g.pairs) {
      const known = p.idn;
      if (known?.modified !== undefined && Date.parse(known.modified) > row.modifiedMs) continue;
      if (known?.state === row.state && known.accessRequestId === accessRequestId) continue;
      out.set(p.fp, {
        state: row.state,
        ...(accessRequestId === undefined ? {} : { accessRequestId }),
        ...(row.modified === undefined ? {} : { modified: row.modified }),
      });
    }
  }
  return out;
}
