import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { expandPairs, type RequestPair } from '../access-request/pairs';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import type { RequestRecord } from '../access-request/request-record';
import type { SubmissionJobData } from '../queue/submission-job';
import type { PairDescriptor, PairResult, RequestMeta, StoredRequest } from '../tracking/request.store';
import { RequestStore } from '../tracking/request.store';
import { CallStore, type CallContext, type Fence, type NewCall, type Placement } from './call.store';
import { planLanes } from './lanes';
import { DedupeStore } from './dedupe.store';
import { planContextOf, planSubmissions } from './submission.planner';

/** Where a request stands after a pass of its job. */
/** `wrote`: this pass handed pairs to calls (an intake or a re-drive). */
export type RequestPassResult =
  | { readonly kind: 'complete'; readonly record: RequestRecord; readonly wrote: boolean }
  | { readonly kind: 'failed'; readonly record: RequestRecord; readonly wrote: boolean }
  /** Pairs are still carried by these calls; their jobs must exist. */
  | { readonly kind: 'open'; readonly calls: readonly string[]; readonly wrote: boolean }
  | { readonly kind: 'lock-lost' };

interface HandoffEntry {
  readonly pair: RequestPair;
  readonly d?: PairDescriptor;
  readonly o: PairResult;
}

function descriptor(p: RequestPair, i: number): PairDescriptor {
  return { i, requestedFor: p.identityId, type: p.item.type, id: p.item.id, requestType: p.requestType };
}

function callContext(data: SubmissionJobData): CallContext {
  const r = data.request;
  return {
    clientId: data.clientId,
    requestType: r.requestType,
    ...(r.clientMetadata === undefined ? {} : { clientMetadata: r.clientMetadata }),
    shape: r.requestedForWithRequestedItems !== undefined ? 'perIdentity' : 'requestedFor',
  };
}

/** The request job: claims and hands pairs to calls; it never calls IdentityNow. */
@Injectable()
export class IntakeService {
  constructor(
    @Inject(RequestStore) private readonly requests: RequestStore,
    @Inject(CallStore) private readonly calls: CallStore,
    @Inject(DedupeStore) private readonly dedupe: DedupeStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async pass(data: SubmissionJobData, fence: Fence): Promise<RequestPassResult> {
    let stored = await this.requests.load(data.trackingId);
    const wrote = stored === undefined || stored.phase === 'finished' || stored.phase === 'redrive';
    if (stored === undefined) {
      if ((await this.intake(data, fence)) === 'lock-lost') return { kind: 'lock-lost' };
    } else if (stored.phase === 'finished' || stored.phase === 'redrive') {
      // A finished request job runs again only when it was retried: take its FAILED pairs back.
      if ((await this.redrive(data, stored, fence)) === 'lock-lost') return { kind: 'lock-lost' };
    }
    stored = await this.requests.load(data.trackingId);
    if (stored === undefined) throw new Error(`request ${data.trackingId} vanished during its intake`);
    const open = [...new Set(stored.pairs.map((p) => p.call).filter((c): c is string => c !== undefined))];
    if (open.length > 0) return { kind: 'open', calls: open, wrote };
    const record = await this.requests.record(data.trackingId);
    if (record === undefined) throw new Error(`request ${data.trackingId} vanished`);
    return record.pairs.some((p) => p.outcome === 'FAILED')
      ? { kind: 'failed', record, wrote }
      : { kind: 'complete', record, wrote };
  }

  private meta(data: SubmissionJobData): RequestMeta {
    return {
      clientId: data.clientId,
      createdAt: data.acceptedAt,
      ...(data.requestId === undefined ? {} : { requestId: data.requestId }),
      ...(data.traceparent === undefined ? {} : { traceparent: data.traceparent }),
    };
  }

  /** First pass: claims (atomic, all pairs at once), then the request and its calls in one script. */
  private async intake(data: SubmissionJobData, fence: Fence): Promise<'written' | 'exists' | 'lock-lost'> {
    const pairs = expandPairs(data.request);
    const claims = await this.dedupe.claim(data.trackingId, pairs);
    const owned = pairs.filter((_, i) => claims[i]?.owned !== false);
    const r = await this.handoff(
      data,
      fence,
      'new',
      owned,
      pairs.map((p, i) => {
        const c = claims[i];
        const o: PairResult =
          c === undefined || c.owned
            ? { outcome: 'PENDING' }
            : { outcome: 'DUPLICATE', duplicateOf: c.holder };
        return { pair: p, d: descriptor(p, i), o };
      }),
      's',
    );
    // A first hand-off puts no pair into an existing call, so nothing can have changed under it.
    if (r === 'changed') throw new Error(`request ${data.trackingId}: unexpected hand-off conflict`);
    return r;
  }

  /** A re-drive races only the passes of the calls it puts pairs back into: it reads them again. */
  private async redrive(
    data: SubmissionJobData,
    stored: StoredRequest,
    fence: Fence,
  ): Promise<'written' | 'exists' | 'lock-lost'> {
    for (let round = 0; round < 5; round++) {
      const r = await this.redriveOnce(data, stored, fence);
      if (r !== 'changed') return r;
    }
    throw new Error(`request ${data.trackingId}: its calls kept changing during the re-drive`);
  }

  /**
   * FAILED pairs come back: into their call while its outcome is unknown (it reconciles first); found
   * since → SUBMITTED; proven absent → claimed again like any FAILED pair.
   */
  private async redriveOnce(
    data: SubmissionJobData,
    stored: StoredRequest,
    fence: Fence,
  ): Promise<'written' | 'exists' | 'lock-lost' | 'changed'> {
    const failed = stored.pairs.filter((p) => p.o.outcome === 'FAILED' && p.call === undefined);
    const byFp = new Map(expandPairs(data.request).map((p) => [p.fingerprint, p]));
    const unknown = failed.filter((p) => p.o.unknown === true && p.o.call !== undefined);
    const calls = new Map(
      await Promise.all(
        [...new Set(unknown.map((p) => p.o.call as string))].map(
          async (id) => [id, await this.calls.load(id)] as const,
        ),
      ),
    );
    const back: typeof unknown = [];
    const found: typeof unknown = [];
    const free = failed.filter((p) => !unknown.includes(p));
    for (const p of unknown) {
      const call = calls.get(p.o.call as string);
      // Gone (expired) or in a state an unknown call cannot reach: nothing is known; it stays FAILED.
      if (call === undefined) continue;
      if (call.absent) free.push(p);
      else if (call.state === 'unknown') back.push(p);
      else if (call.state === 'settled') found.push(p);
    }
    const toClaim = free.map((p) => byFp.get(p.fp)).filter((p): p is RequestPair => p !== undefined);
    const claims = await this.dedupe.claim(data.trackingId, toClaim);
    const owned = toClaim.filter((_, i) => claims[i]?.owned !== false);
    const entries: HandoffEntry[] = toClaim.map((p, i) => {
      const c = claims[i];
      const o: PairResult =
        c === undefined || c.owned ? { outcome: 'PENDING' } : { outcome: 'DUPLICATE', duplicateOf: c.holder };
      return { pair: p, o };
    });
    const existing = [
      ...back.map((p) => ({
        fp: p.fp,
        o: { outcome: 'PENDING' as const },
        place: { call: p.o.call as string },
      })),
      ...found.map((p) => ({ fp: p.fp, o: { outcome: 'SUBMITTED' as const, call: p.o.call as string } })),
    ];
    return this.handoff(data, fence, 'redrive', owned, entries, `r${Date.now().toString(36)}-s`, existing);
  }

  /** Owned pairs go to lanes (shared calls) or to calls of their own; the rest is written as given. */
  private async handoff(
    data: SubmissionJobData,
    fence: Fence,
    mode: 'new' | 'redrive',
    owned: readonly RequestPair[],
    entries: readonly HandoffEntry[],
    ownCallTag: string,
    existing: readonly { fp: string; o: PairResult; place?: Placement }[] = [],
  ): Promise<'written' | 'exists' | 'lock-lost' | 'changed'> {
    const plan = planLanes(data, owned);
    const calls = this.newCalls(data, plan.own, (i) => `${data.trackingId}-${ownCallTag}${i}`);
    const place = new Map<string, Placement>();
    calls.forEach((c, k) => {
      for (const u of c.units) place.set(u.fp, { newCall: k });
    });
    plan.lanes.forEach((l, k) => {
      for (const u of l.units) place.set(u.fp, { lane: k });
    });
    const r = await this.calls.handoff({
      trackingId: data.trackingId,
      clientId: data.clientId,
      fence,
      mode,
      meta: this.meta(data),
      calls,
      lanes: plan.lanes,
      candidates: plan.lanes.map(() => `c-${randomUUID()}`),
      pairs: [
        ...existing,
        ...entries.map((e) => ({
          fp: e.pair.fingerprint,
          ...(e.d === undefined ? {} : { d: e.d }),
          o: e.o,
          place: e.o.outcome === 'PENDING' ? place.get(e.pair.fingerprint) : undefined,
        })),
      ],
    });
    return r.outcome;
  }

  private newCalls(
    data: SubmissionJobData,
    pairs: readonly RequestPair[],
    idOf: (i: number) => string,
  ): NewCall[] {
    const ctx = callContext(data);
    const byFp = new Map(pairs.map((p) => [p.fingerprint, p]));
    return planSubmissions(pairs, {
      ...planContextOf(data),
      submissionId: idOf,
      maxIdentities: this.config.idn.maxIdentitiesPerCall,
    }).map((plan) => ({
      id: plan.submissionId,
      ctx,
      units: plan.fingerprints.map((fp) => {
        const p = byFp.get(fp) as RequestPair;
        return { t: data.trackingId, fp, identityId: p.identityId, item: p.item };
      }),
    }));
  }
}
