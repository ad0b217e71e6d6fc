import { randomBytes } from 'node:crypto';
import type { NormalizedRequest, SubmittedPair } from './access-request.rules';
import { parseFilters, parseSorters, type SortKey, type StatusFilterRow } from './status-query';
import {
  pairKey,
  type SimCallRecord,
  type SimCreatedRecord,
  type SimProgression,
  type SimRecords,
} from './simulator.types';

export type ItemState = 'EXECUTING' | 'REQUEST_COMPLETED' | 'REJECTED' | 'CANCELLED';

interface SimItem {
  readonly record: SimCreatedRecord;
  readonly createdMs: number;
  /** When the item reaches its final state on its own; null = never. */
  completeAtMs: number | null;
  finalState: 'REQUEST_COMPLETED' | 'REJECTED';
  cancelledMs: number | null;
  cancelComment: string | null;
}

export interface TrackingEntry {
  requestedFor: string;
  requestedItemsDetails: { type: string; id: string }[];
  attributesHash: number;
  accessRequestIds: string[];
}

export interface StatusQuery {
  readonly requestedFor?: string;
  readonly requestedBy?: string;
  readonly regardingIdentity?: string;
  readonly requestState?: string;
  readonly filters?: string;
  readonly sorters?: string;
  readonly limit: number;
  readonly offset: number;
}

export interface CreateContext {
  readonly clientId: string;
  readonly requesterId: string;
  readonly requesterName: string;
  readonly now: number;
  readonly responseLost: boolean;
}

/** IdentityNow-style id: 32 lowercase hex characters. */
export function newId(): string {
  return randomBytes(16).toString('hex');
}

/** Java's String.hashCode: an int32, like IdentityNow's `attributesHash`. */
function int32Hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/**
 * Everything the simulated tenant knows: created access-request items (with their lazily computed
 * state), the records of every call and creation, and per-pair creation counts.
 */
export class SimStore {
  private items: SimItem[] = [];
  private byPair = new Map<string, SimItem[]>();
  private byIdentity = new Map<string, SimItem[]>();
  private byRequestId = new Map<string, SimItem[]>();
  private calls: SimCallRecord[] = [];
  private created: SimCreatedRecord[] = [];
  private pairCounts = new Map<string, number>();
  private callSeq = 0;
  private createdSeq = 0;
  private requesterNames = new Map<string, string>();

  constructor(
    public progression: SimProgression,
    private readonly maxCallRecords: number,
    private readonly random: () => number = Math.random,
  ) {}

  // ---- call records -------------------------------------------------------------------------------

  recordCall(entry: Omit<SimCallRecord, 'seq'>): SimCallRecord {
    const rec: SimCallRecord = { seq: ++this.callSeq, ...entry };
    this.calls.push(rec);
    // Trim in chunks (10 % over the cap) so a long load test does not shift the array on every call.
    if (this.calls.length > this.maxCallRecords * 1.1) {
      this.calls.splice(0, this.calls.length - this.maxCallRecords);
    }
    return rec;
  }

  // ---- access requests ----------------------------------------------------------------------------

  stateOf(item: SimItem, now: number): ItemState {
    if (item.cancelledMs !== null) return 'CANCELLED';
    if (item.completeAtMs !== null && now >= item.completeAtMs) return item.finalState;
    return 'EXECUTING';
  }

  private modifiedMs(item: SimItem, now: number): number {
    if (item.cancelledMs !== null) return item.cancelledMs;
    if (item.completeAtMs !== null && now >= item.completeAtMs) return item.completeAtMs;
    return item.createdMs;
  }

  /** Items of this pair that are still pending (EXECUTING) now. */
  pendingFor(requestType: string, pair: SubmittedPair, now: number): SimItem[] {
    return (this.byPair.get(pairKey(requestType, pair.identityId, pair.type, pair.id)) ?? []).filter(
      (i) => this.stateOf(i, now) === 'EXECUTING',
    );
  }

  /**
   * Applies a validated request: pairs already pending are reported as existing, the rest are created
   * (one access request id per identity, like IdentityNow's one identity request per identity).
   */
  submit(
    req: NormalizedRequest,
    ctx: CreateContext,
    reportExisting: boolean,
  ): { newRequests: TrackingEntry[]; existingRequests: TrackingEntry[] } {
    this.requesterNames.set(ctx.requesterId, ctx.requesterName);
    const newRequests: TrackingEntry[] = [];
    const existingRequests: TrackingEntry[] = [];
    for (const group of req.identities) {
      const fresh: SubmittedPair[] = [];
      const existing: { pair: SubmittedPair; ids: string[] }[] = [];
      for (const pair of group.pairs) {
        const pending = reportExisting ? this.pendingFor(req.requestType, pair, ctx.now) : [];
        if (pending.length > 0) {
          existing.push({ pair, ids: [...new Set(pending.map((p) => p.record.accessRequestId))] });
        } else {
          fresh.push(pair);
        }
      }
      if (fresh.length > 0) {
        const accessRequestId = newId();
        for (const pair of fresh) this.create(req, pair, accessRequestId, ctx);
        newRequests.push(this.tracking(req, group.identityId, fresh, [accessRequestId]));
      }
      if (existing.length > 0) {
        existingRequests.push(
          this.tracking(
            req,
            group.identityId,
            existing.map((e) => e.pair),
            [...new Set(existing.flatMap((e) => e.ids))],
          ),
        );
      }
    }
    return { newRequests, existingRequests };
  }

  private tracking(
    req: NormalizedRequest,
    identityId: string,
    pairs: readonly SubmittedPair[],
    accessRequestIds: string[],
  ): TrackingEntry {
    const attrs = pairs
      .map((p) => `${p.type}:${p.id}:${p.startDate ?? ''}:${p.removeDate ?? ''}`)
      .sort()
      .join(',');
    return {
      requestedFor: identityId,
      requestedItemsDetails: pairs.map((p) => ({ type: p.type, id: p.id })),
      attributesHash: int32Hash(`${req.requestType}|${identityId}|${attrs}`),
      accessRequestIds,
    };
  }

  private create(
    req: NormalizedRequest,
    pair: SubmittedPair,
    accessRequestId: string,
    ctx: CreateContext,
  ): void {
    const key = pairKey(req.requestType, pair.identityId, pair.type, pair.id);
    const record: SimCreatedRecord = {
      seq: ++this.createdSeq,
      pairKey: key,
      accessRequestId,
      accountActivityItemId: newId(),
      requestType: req.requestType,
      identityId: pair.identityId,
      itemType: pair.type,
      itemId: pair.id,
      clientMetadata: pair.clientMetadata === null ? null : { ...pair.clientMetadata },
      requestClientMetadata: req.clientMetadata === null ? null : { ...req.clientMetadata },
      comment: pair.comment,
      startDate: pair.startDate,
      removeDate: pair.removeDate,
      assignmentId: pair.assignmentId,
      nativeIdentity: pair.nativeIdentity,
      clientId: ctx.clientId,
      requesterId: ctx.requesterId,
      created: new Date(ctx.now).toISOString(),
      responseLost: ctx.responseLost,
    };
    const { completeAfterMs, rejectRate } = this.progression;
    // An item whose id starts with "reject" is always rejected: a deterministic way to see REJECTED.
    const rejected =
      pair.id.toLowerCase().startsWith('reject') || (rejectRate > 0 && this.random() < rejectRate);
    const item: SimItem = {
      record,
      createdMs: ctx.now,
      completeAtMs: completeAfterMs === null ? null : ctx.now + completeAfterMs,
      finalState: rejected ? 'REJECTED' : 'REQUEST_COMPLETED',
      cancelledMs: null,
      cancelComment: null,
    };
    this.items.push(item);
    push(this.byPair, key, item);
    push(this.byIdentity, pair.identityId, item);
    push(this.byRequestId, accessRequestId, item);
    this.created.push(record);
    this.pairCounts.set(key, (this.pairCounts.get(key) ?? 0) + 1);
  }

  /** Cancels the pending items of one access request. False when it is unknown or nothing is pending. */
  cancel(
    accessRequestId: string,
    comment: string,
    now: number,
  ): 'cancelled' | 'not-found' | 'not-cancelable' {
    const items = this.byRequestId.get(accessRequestId);
    if (items === undefined) return 'not-found';
    const pending = items.filter((i) => this.stateOf(i, now) === 'EXECUTING');
    if (pending.length === 0) return 'not-cancelable';
    for (const i of pending) {
      i.cancelledMs = now;
      i.cancelComment = comment;
    }
    return 'cancelled';
  }

  /** Moves every pending item to its final state now (or to `state`). Returns how many moved. */
  completePending(now: number, state?: 'REQUEST_COMPLETED' | 'REJECTED'): number {
    let n = 0;
    for (const i of this.items) {
      if (this.stateOf(i, now) !== 'EXECUTING') continue;
      i.completeAtMs = now;
      if (state !== undefined) i.finalState = state;
      n++;
    }
    return n;
  }

  /** Items matching a status query, sorted; `total` ignores limit/offset (for X-Total-Count). */
  listStatus(q: StatusQuery, now: number): { total: number; entries: Record<string, unknown>[] } {
    const predicate = parseFilters(q.filters);
    const sorters: SortKey[] = parseSorters(q.sorters);
    let candidates: SimItem[];
    if (q.requestedFor !== undefined) candidates = this.byIdentity.get(q.requestedFor) ?? [];
    else if (q.regardingIdentity !== undefined) candidates = this.items;
    else candidates = this.items;

    const rows = candidates.filter((i) => {
      const r = i.record;
      if (q.requestedFor !== undefined && r.identityId !== q.requestedFor) return false;
      if (q.requestedBy !== undefined && r.requesterId !== q.requestedBy) return false;
      if (
        q.regardingIdentity !== undefined &&
        r.identityId !== q.regardingIdentity &&
        r.requesterId !== q.regardingIdentity
      ) {
        return false;
      }
      if (q.requestState !== undefined && this.stateOf(i, now) !== q.requestState) return false;
      const row: StatusFilterRow = {
        accessRequestId: r.accessRequestId,
        accountActivityItemId: r.accountActivityItemId,
        createdMs: i.createdMs,
      };
      return predicate(row);
    });
    if (sorters.length > 0) {
      const value = (i: SimItem, f: SortKey['field']): string | number => {
        switch (f) {
          case 'created':
            return i.createdMs;
          case 'modified':
            return this.modifiedMs(i, now);
          case 'accountActivityItemId':
            return i.record.accountActivityItemId;
          case 'name':
            return itemName(i.record);
        }
      };
      rows.sort((a, b) => {
        for (const s of sorters) {
          const va = value(a, s.field);
          const vb = value(b, s.field);
          if (va !== vb) return (va < vb ? -1 : 1) * (s.desc ? -1 : 1);
        }
        return a.record.seq - b.record.seq;
      });
    }
    const page = rows.slice(q.offset, q.offset + q.limit);
    return { total: rows.length, entries: page.map((i) => this.statusEntry(i, now)) };
  }

  private statusEntry(item: SimItem, now: number): Record<string, unknown> {
    const r = item.record;
    const state = this.stateOf(item, now);
    const modified = new Date(this.modifiedMs(item, now)).toISOString();
    const requester = {
      type: 'IDENTITY',
      id: r.requesterId,
      name: this.requesterNames.get(r.requesterId) ?? r.requesterId,
    };
    const approvalDone = state !== 'EXECUTING' && state !== 'CANCELLED';
    return {
      id: r.accountActivityItemId,
      name: itemName(r),
      type: r.itemType,
      cancelledRequestDetails:
        state === 'CANCELLED'
          ? {
              comment: item.cancelComment ?? '',
              owner: { type: 'IDENTITY', id: r.requesterId, name: requester.name },
              modified,
            }
          : null,
      errorMessages: null,
      state,
      approvalDetails: [],
      approvalIds: [],
      manualWorkItemDetails: null,
      accountActivityItemId: r.accountActivityItemId,
      requestType: r.requestType,
      modified,
      created: r.created,
      requester,
      requestedFor: { type: 'IDENTITY', id: r.identityId, name: r.identityId },
      requesterComment:
        r.comment === null ? null : { comment: r.comment, created: r.created, author: requester },
      sodViolationContext: null,
      provisioningDetails: null,
      preApprovalTriggerDetails: null,
      accessRequestPhases: [
        {
          started: r.created,
          finished: approvalDone || state === 'CANCELLED' ? modified : null,
          name: 'APPROVAL_PHASE',
          state: state === 'EXECUTING' ? 'EXECUTING' : state === 'CANCELLED' ? 'CANCELLED' : 'COMPLETED',
          result: state === 'REQUEST_COMPLETED' ? 'SUCCESSFUL' : state === 'REJECTED' ? 'FAILED' : null,
          phaseReference: 'approvalDetails',
        },
      ],
      description: null,
      startDate: r.startDate,
      removeDate: r.removeDate,
      cancelable: state === 'EXECUTING',
      accessRequestId: r.accessRequestId,
      clientMetadata: r.clientMetadata === null ? null : { ...r.clientMetadata },
      requestedAccounts: null,
      privilegeLevel: null,
    };
  }

  // ---- records ------------------------------------------------------------------------------------

  records(filter: RecordsFilter = {}): SimRecords {
    const calls = this.calls.filter(
      (c) =>
        (filter.operation === undefined || c.operation === filter.operation) &&
        (filter.clientId === undefined || c.clientId === filter.clientId) &&
        (filter.sinceSeq === undefined || c.seq > filter.sinceSeq),
    );
    const created = this.created.filter(
      (c) =>
        (filter.identityId === undefined || c.identityId === filter.identityId) &&
        (filter.pairKey === undefined || c.pairKey === filter.pairKey) &&
        (filter.clientId === undefined || c.clientId === filter.clientId),
    );
    const pairCounts: Record<string, number> = {};
    for (const c of created) pairCounts[c.pairKey] = (pairCounts[c.pairKey] ?? 0) + 1;
    return { calls: calls.map((c) => ({ ...c })), created: created.map((c) => ({ ...c })), pairCounts };
  }

  /** How many times a pair was created (`${requestType}|${identityId}|${itemType}|${itemId}`). */
  pairCount(key: string): number {
    return this.pairCounts.get(key) ?? 0;
  }

  clearRecords(): void {
    this.calls = [];
    this.created = [];
    this.pairCounts.clear();
  }

  /** Forgets every access request and record. */
  reset(): void {
    this.items = [];
    this.byPair.clear();
    this.byIdentity.clear();
    this.byRequestId.clear();
    this.requesterNames.clear();
    this.clearRecords();
  }
}

export interface RecordsFilter {
  readonly operation?: string;
  readonly clientId?: string;
  readonly identityId?: string;
  readonly pairKey?: string;
  readonly sinceSeq?: number;
}

function itemName(r: SimCreatedRecord): string {
  return `${r.itemType} ${r.itemId}`;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
