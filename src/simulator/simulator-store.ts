import { randomBytes } from 'node:crypto';
import type { NormalizedRequest, SubmittedPair } from './access-request.rules';
import {
  cancelItem,
  forceState,
  isFinal,
  matchesItem,
  planItem,
  settle,
  type SimItem,
} from './simulator-item';
import type { SimRandom } from './simulator-random';
import type { SimRecordLog } from './simulator-records';
import { itemName, statusEntry } from './status-entry';
import { parseFilters, parseSorters, type SortKey } from './status-query';
import {
  pairKey,
  type SimFinalState,
  type SimItemMatch,
  type SimItemState,
  type SimProgression,
} from './simulator.types';

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
  readonly callSeq: number;
  readonly statusLagMs: number;
}

/** IdentityNow-style id: 32 lowercase hex characters. */
function newId(): string {
  return randomBytes(16).toString('hex');
}

/** Java's String.hashCode: an int32, like IdentityNow's `attributesHash`. */
function int32Hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** The simulated tenant's access-request items, each with its lazily computed state. */
export class SimStore {
  private items: SimItem[] = [];
  private byPair = new Map<string, SimItem[]>();
  private byIdentity = new Map<string, SimItem[]>();
  private byRequestId = new Map<string, SimItem[]>();
  private requesterNames = new Map<string, string>();

  constructor(
    public progression: SimProgression,
    private readonly log: SimRecordLog,
    private readonly random: SimRandom,
  ) {}

  private pendingFor(requestType: string, pair: SubmittedPair, now: number): SimItem[] {
    return (this.byPair.get(pairKey(requestType, pair.identityId, pair.type, pair.id)) ?? []).filter(
      (i) => !isFinal(settle(i, now).state),
    );
  }

  /** Pending pairs are reported as existing; one access request id per identity, like IdentityNow. */
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
    const visibleAtMs = ctx.now + Math.max(0, ctx.statusLagMs);
    const record = this.log.recordCreated({
      callSeq: ctx.callSeq,
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
      accountSelection: pair.accountSelection,
      gatewaySubmissionId:
        pair.clientMetadata?.gatewaySubmissionId ?? req.clientMetadata?.gatewaySubmissionId ?? null,
      clientId: ctx.clientId,
      requesterId: ctx.requesterId,
      created: new Date(ctx.now).toISOString(),
      responseLost: ctx.responseLost,
      visibleAt: new Date(visibleAtMs).toISOString(),
    });
    const item = planItem(record, ctx.now, visibleAtMs, this.progression, () => this.random.next('approval'));
    this.items.push(item);
    push(this.byPair, key, item);
    push(this.byIdentity, pair.identityId, item);
    push(this.byRequestId, accessRequestId, item);
  }

  /** Cancels the still cancelable items of one access request (the write side: lag does not hide it). */
  cancel(
    accessRequestId: string,
    comment: string,
    now: number,
  ): 'cancelled' | 'not-found' | 'not-cancelable' {
    const items = this.byRequestId.get(accessRequestId);
    if (items === undefined) return 'not-found';
    let cancelled = 0;
    for (const i of items) if (cancelItem(i, comment, now)) cancelled++;
    return cancelled > 0 ? 'cancelled' : 'not-cancelable';
  }

  /** Moves matching items that are not final yet to `state`, or to their planned outcome. */
  completePending(now: number, state?: SimFinalState, match: SimItemMatch = {}): number {
    let n = 0;
    for (const i of this.matching(match, now)) if (forceState(i, state ?? i.outcome, now)) n++;
    return n;
  }

  setItemState(now: number, state: Exclude<SimItemState, 'EXECUTING'>, match: SimItemMatch = {}): number {
    let n = 0;
    for (const i of this.matching(match, now)) if (forceState(i, state, now)) n++;
    return n;
  }

  private matching(match: SimItemMatch, now: number): SimItem[] {
    return this.items.filter((i) => !isFinal(settle(i, now).state) && matchesItem(i.record, match));
  }

  /** Visible items matching a status query, sorted; `total` ignores limit/offset (X-Total-Count). */
  listStatus(q: StatusQuery, now: number): { total: number; entries: Record<string, unknown>[] } {
    const predicate = parseFilters(q.filters);
    const sorters: SortKey[] = parseSorters(q.sorters);
    const candidates =
      q.requestedFor !== undefined ? (this.byIdentity.get(q.requestedFor) ?? []) : this.items;

    const rows = candidates.filter((i) => {
      const r = i.record;
      if (now < i.visibleAtMs) return false;
      if (q.requestedBy !== undefined && r.requesterId !== q.requestedBy) return false;
      if (
        q.regardingIdentity !== undefined &&
        r.identityId !== q.regardingIdentity &&
        r.requesterId !== q.regardingIdentity
      ) {
        return false;
      }
      if (q.requestState !== undefined && settle(i, now).state !== q.requestState) return false;
      return predicate({
        accessRequestId: r.accessRequestId,
        accountActivityItemId: r.accountActivityItemId,
        createdMs: i.createdMs,
      });
    });
    for (const i of rows) settle(i, now);
    if (sorters.length > 0) {
      const value = (i: SimItem, f: SortKey['field']): string | number => {
        switch (f) {
          case 'created':
            return i.createdMs;
          case 'modified':
            return i.modifiedMs;
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
    return {
      total: rows.length,
      entries: page.map((i) =>
        statusEntry(i, this.requesterNames.get(i.record.requesterId) ?? i.record.requesterId),
      ),
    };
  }

  /** Forgets every access request (the records are the log's). */
  reset(): void {
    this.items = [];
    this.byPair.clear();
    this.byIdentity.clear();
    this.byRequestId.clear();
    this.requesterNames.clear();
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
