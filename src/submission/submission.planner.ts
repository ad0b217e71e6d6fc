import {
  GATEWAY_META,
  type AccessItem,
  type AccessRequestBody,
  type Metadata,
  type PerIdentityItem,
  type PerIdentityRequest,
  type RequestType,
} from '../access-request/access-request.types';
import { MAX_ENTITLEMENTS, MAX_IDENTITIES_WITH_ENTITLEMENTS } from '../access-request/access-request.limits';
import type { RequestPair } from '../access-request/pairs';
import type { SubmissionJobData } from '../queue/submission-job';

/** One request the worker will send to IdentityNow, and the pairs it covers. */
export interface PlannedRequest {
  readonly submissionId: string;
  readonly body: AccessRequestBody;
  readonly fingerprints: readonly string[];
}

export interface PlanContext {
  readonly trackingId: string;
  readonly requestType: RequestType;
  readonly clientMetadata?: Metadata;
  /** The accepted request's shape, kept: only `requestedForWithRequestedItems` carries accountSelection. */
  readonly shape: 'requestedFor' | 'perIdentity';
  /** Deterministic by default, so re-planning yields the ids reconciliation searches for. */
  readonly submissionId?: (index: number) => string;
  /** IDN_MAX_IDENTITIES_PER_CALL: identities per request, entitlements or not (unset: IdentityNow's caps only). */
  readonly maxIdentities?: number;
}

const defaultSubmissionId = (trackingId: string, index: number): string => `${trackingId}-s${index}`;

type AnyItem = AccessItem | PerIdentityItem;

/** Deterministic key of an item variant: two identities can share a request only for equal items. */
function itemKey(item: AnyItem): string {
  const sortedMeta = (m: Metadata | undefined): [string, string][] | null =>
    m === undefined ? null : Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const i = item as Partial<AccessItem & PerIdentityItem>;
  return JSON.stringify([
    i.type,
    i.id,
    i.comment ?? null,
    sortedMeta(i.clientMetadata),
    i.startDate ?? null,
    i.removeDate ?? null,
    i.assignmentId ?? null,
    i.nativeIdentity ?? null,
    i.accountSelection ?? null,
  ]);
}

function chunk<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

const isEntitlement = (p: RequestPair): boolean => p.item.type === 'ENTITLEMENT';

/** A pair may belong to another request than the plan's (a call carries pairs of several). */
export type PlannablePair = RequestPair & { readonly owner?: string };
const ownerOf = (p: RequestPair, ctx: PlanContext): string => (p as PlannablePair).owner ?? ctx.trackingId;

/** Item as sent: caller's fields kept, gateway ids added to the item-level clientMetadata. */
function tagItem<T extends AnyItem>(item: T, trackingId: string, submissionId: string): T {
  return {
    ...item,
    clientMetadata: {
      ...item.clientMetadata,
      [GATEWAY_META.trackingId]: trackingId,
      [GATEWAY_META.submissionId]: submissionId,
    },
  };
}

interface Group {
  readonly identities: string[];
  readonly items: AnyItem[];
  readonly pairs: Map<string, RequestPair[]>;
}

/**
 * Fewest valid requests covering `pairs`. Pure. `requestedFor` is preferred: the other shape cannot carry
 * assignmentId/nativeIdentity and is GRANT-only. REVOKE: one identity, one entitlement per request.
 */
export function planSubmissions(pairs: readonly RequestPair[], ctx: PlanContext): PlannedRequest[] {
  if (pairs.length === 0) return [];
  const idOf = ctx.submissionId ?? ((i: number) => defaultSubmissionId(ctx.trackingId, i));
  const raw =
    ctx.shape === 'perIdentity'
      ? planPerIdentity(pairs, ctx.maxIdentities ?? Infinity)
      : ctx.requestType === 'REVOKE_ACCESS'
        ? planRevoke(pairs)
        : planRectangles(pairs, ctx.maxIdentities ?? Infinity);
  return raw.map((r, index) => {
    const submissionId = idOf(index);
    return {
      submissionId,
      fingerprints: r.fingerprints,
      body: r.build(ctx, submissionId),
    };
  });
}

interface RawRequest {
  readonly fingerprints: string[];
  build(ctx: PlanContext, submissionId: string): AccessRequestBody;
}

function withMeta(ctx: PlanContext): { clientMetadata?: Metadata } {
  return ctx.clientMetadata === undefined ? {} : { clientMetadata: { ...ctx.clientMetadata } };
}

// The flat shape lists an item once for every identity, so its tag can name one request only: items
// of one identity may come from several requests (`owners`), a rectangle of several identities not.
function rectangle(
  identities: string[],
  items: AnyItem[],
  fingerprints: string[],
  owners: readonly (string | undefined)[] = [],
): RawRequest {
  return {
    fingerprints,
    build: (ctx, submissionId) => ({
      requestType: ctx.requestType,
      requestedFor: [...identities],
      requestedItems: items.map((it, k) =>
        tagItem(it as AccessItem, owners[k] ?? ctx.trackingId, submissionId),
      ),
      ...withMeta(ctx),
    }),
  };
}

function groupByItemSet(pairs: readonly RequestPair[]): Group[] {
  const perIdentity = new Map<string, RequestPair[]>();
  for (const p of pairs) {
    const list = perIdentity.get(p.identityId);
    if (list === undefined) perIdentity.set(p.identityId, [p]);
    else list.push(p);
  }
  const groups = new Map<string, Group>();
  for (const [identity, list] of perIdentity) {
    const key = list.map((p) => itemKey(p.item)).join('\n');
    let g = groups.get(key);
    if (g === undefined) {
      g = { identities: [], items: list.map((p) => p.item), pairs: new Map() };
      groups.set(key, g);
    }
    g.identities.push(identity);
    g.pairs.set(identity, list);
  }
  return [...groups.values()];
}

function planRectangles(pairs: readonly RequestPair[], maxIdentities: number): RawRequest[] {
  const out: RawRequest[] = [];
  for (const g of groupByItemSet(pairs)) {
    const idx = g.items.map((_, i) => i);
    const entIdx = idx.filter((i) => g.items[i]?.type === 'ENTITLEMENT');
    const otherIdx = idx.filter((i) => g.items[i]?.type !== 'ENTITLEMENT');
    const itemChunks: number[][] =
      entIdx.length === 0
        ? [otherIdx]
        : chunk(entIdx, MAX_ENTITLEMENTS).map((c, k) => (k === 0 ? [...otherIdx, ...c] : c));
    const cap =
      entIdx.length === 0 ? maxIdentities : Math.min(maxIdentities, MAX_IDENTITIES_WITH_ENTITLEMENTS);
    const identityChunks = cap === Infinity ? [g.identities] : chunk(g.identities, cap);
    for (const ids of identityChunks) {
      for (const itemIdx of itemChunks) {
        const sorted = [...itemIdx].sort((a, b) => a - b);
        const fingerprints: string[] = [];
        for (const identity of ids) {
          const list = g.pairs.get(identity) ?? [];
          for (const i of sorted) {
            const p = list[i];
            if (p !== undefined) fingerprints.push(p.fingerprint);
          }
        }
        // One identity: its items may come from several requests (a MODIFY lane), each tagged as its own.
        const only: readonly PlannablePair[] = ids.length === 1 ? (g.pairs.get(ids[0] as string) ?? []) : [];
        out.push(
          rectangle(
            ids,
            sorted.map((i) => g.items[i] as AnyItem),
            fingerprints,
            sorted.map((i) => only[i]?.owner),
          ),
        );
      }
    }
  }
  return out;
}

function planRevoke(pairs: readonly RequestPair[]): RawRequest[] {
  const perIdentity = new Map<string, RequestPair[]>();
  for (const p of pairs) {
    const list = perIdentity.get(p.identityId);
    if (list === undefined) perIdentity.set(p.identityId, [p]);
    else list.push(p);
  }
  const out: RawRequest[] = [];
  for (const [identity, list] of perIdentity) {
    const ents = list.filter(isEntitlement);
    const others = list.filter((p) => !isEntitlement(p));
    const batches: RequestPair[][] =
      ents.length === 0 ? [others] : ents.map((e, k) => (k === 0 ? [...others, e] : [e]));
    for (const batch of batches) {
      out.push(
        rectangle(
          [identity],
          batch.map((p) => p.item),
          batch.map((p) => p.fingerprint),
          batch.map((p) => (p as PlannablePair).owner),
        ),
      );
    }
  }
  return out;
}

interface Bin {
  readonly targets: { identity: string; pairs: RequestPair[] }[];
  entitlements: number;
}

function planPerIdentity(pairs: readonly RequestPair[], maxIdentities: number): RawRequest[] {
  const perIdentity = new Map<string, RequestPair[]>();
  for (const p of pairs) {
    const list = perIdentity.get(p.identityId);
    if (list === undefined) perIdentity.set(p.identityId, [p]);
    else list.push(p);
  }
  const anyEntitlement = pairs.some(isEntitlement);
  // Split identities with more than 25 entitlements; the first part keeps their other items.
  const parts: { identity: string; pairs: RequestPair[]; entitlements: number }[] = [];
  for (const [identity, list] of perIdentity) {
    const ents = list.filter(isEntitlement);
    const others = list.filter((p) => !isEntitlement(p));
    const entChunks = ents.length === 0 ? [[]] : chunk(ents, MAX_ENTITLEMENTS);
    entChunks.forEach((c, k) => {
      parts.push({ identity, pairs: k === 0 ? [...others, ...c] : c, entitlements: c.length });
    });
  }
  const bins: Bin[] = [];
  for (const part of parts) {
    const fits = (b: Bin): boolean =>
      b.targets.length < maxIdentities &&
      (!anyEntitlement ||
        (b.targets.length < MAX_IDENTITIES_WITH_ENTITLEMENTS &&
          b.entitlements + part.entitlements <= MAX_ENTITLEMENTS &&
          !b.targets.some((t) => t.identity === part.identity)));
    let bin = bins.find(fits);
    if (bin === undefined) {
      bin = { targets: [], entitlements: 0 };
      bins.push(bin);
    }
    bin.targets.push({ identity: part.identity, pairs: part.pairs });
    bin.entitlements += part.entitlements;
  }
  return bins.map((b) => ({
    fingerprints: b.targets.flatMap((t) => t.pairs.map((p) => p.fingerprint)),
    build: (ctx, submissionId): AccessRequestBody => {
      const targets: PerIdentityRequest[] = b.targets.map((t) => ({
        identityId: t.identity,
        requestedItems: t.pairs.map((p) => tagItem(p.item as PerIdentityItem, ownerOf(p, ctx), submissionId)),
      }));
      return { requestType: 'GRANT_ACCESS', requestedForWithRequestedItems: targets, ...withMeta(ctx) };
    },
  }));
}

/** The plan context of an accepted request; `submissionId` re-plans what is left under that id. */
export function planContextOf(data: SubmissionJobData, submissionId?: string): PlanContext {
  const r = data.request;
  return {
    trackingId: data.trackingId,
    requestType: r.requestType,
    ...(r.clientMetadata === undefined ? {} : { clientMetadata: r.clientMetadata }),
    shape: r.requestedForWithRequestedItems !== undefined ? 'perIdentity' : 'requestedFor',
    ...(submissionId === undefined ? {} : { submissionId: () => submissionId }),
  };
}
