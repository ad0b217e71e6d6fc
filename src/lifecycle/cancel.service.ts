import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { isFinalState } from '../access-request/lifecycle';
import { IdentityNowClient } from '../identitynow/identitynow.client';
import {
  IdnAuthConfigError,
  IdnError,
  IdnPermanentError,
  IdnRateLimitedError,
} from '../identitynow/identitynow.errors';
import { CallStore } from '../submission/call.store';
import { DedupeStore } from '../submission/dedupe.store';
import { RequestEvents } from '../tracking/request-events';
import {
  type PairCancelRecord,
  type PairResult,
  REQUEST_FIELD,
  RequestStore,
  type StoredPair,
} from '../tracking/request.store';
import { LifecycleService } from './lifecycle.service';
import { rowFits, type StatusRow, statusRow } from './status-matcher';

export type CancelPassResult =
  | { readonly kind: 'done' }
  | { readonly kind: 'delay'; readonly until: number }
  | { readonly kind: 'retry'; readonly reason: string }
  | { readonly kind: 'rate-limited'; readonly retryAfterMs: number };

export interface CancelPassInput {
  readonly trackingId: string;
  readonly finalAttempt: boolean;
  readonly signal?: AbortSignal;
}

/** Reads rows first: done, forbidden or shared-request cancels are reported on the pair, not sent. */
@Injectable()
export class CancelService {
  private readonly calls: CallStore;

  constructor(
    @Inject(RequestStore) private readonly requests: RequestStore,
    @Inject(LifecycleService) private readonly lifecycle: LifecycleService,
    @Inject(RequestEvents) private readonly events: RequestEvents,
    @Inject(IdentityNowClient) private readonly client: IdentityNowClient,
    @Inject(DedupeStore) private readonly dedupe: DedupeStore,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    // Only its key names are used: the cancel goes through the lifecycle's script.
    this.calls = new CallStore(requests.redis, requests, config);
  }

  async pass(input: CancelPassInput): Promise<CancelPassResult> {
    const { trackingId, signal } = input;
    await this.cancelUnsent(trackingId);
    const stored = await this.requests.load(trackingId);
    const noted = stored?.pairs.filter((p) => p.cancel?.state === 'PENDING') ?? [];
    if (noted.length === 0) return { kind: 'done' };
    const notes = new Map<string, PairCancelRecord | undefined>();
    let result: CancelPassResult = { kind: 'done' };
    const live = this.resolveSettled(
      noted.filter((p) => p.call === undefined),
      notes,
    );
    if (live.length > 0) {
      result = await this.cancelLive(trackingId, live, notes, input.finalAttempt, signal);
    }
    if (notes.size > 0) {
      const fields: Record<string, string | undefined> = {};
      for (const [fp, n] of notes)
        fields[REQUEST_FIELD.cancel + fp] = n === undefined ? undefined : JSON.stringify(n);
      await this.lifecycle.store.write(trackingId, { fields });
    }
    await this.events.changed([trackingId]);
    const waiting = noted.filter((p) => p.call !== undefined);
    if (result.kind === 'done' && waiting.length > 0) {
      const age = Date.now() - Math.min(...waiting.map((p) => Date.parse(p.cancel?.at ?? '')));
      return { kind: 'delay', until: Date.now() + Math.min(30_000, Math.max(500, age / 2)) };
    }
    return result;
  }

  /** A noted pair whose call is back to unsent (a 429, or proved absent) ends CANCELLED before it goes. */
  private async cancelUnsent(trackingId: string): Promise<void> {
    const stored = await this.requests.load(trackingId);
    const inCalls = stored?.pairs.filter((p) => p.cancel?.state === 'PENDING' && p.call !== undefined) ?? [];
    if (stored === undefined || inCalls.length === 0) return;
    await this.lifecycle.store.cancel(
      trackingId,
      this.calls.cancelKeys(stored.meta.clientId),
      inCalls.map((p) => ({
        fp: p.fp,
        call: p.call as string,
        claimKey: this.dedupe.claimKey(p.fp),
        cancelled: JSON.stringify({
          outcome: 'CANCELLED',
          reason: `cancelled before it was sent to IdentityNow: ${p.cancel?.comment ?? ''}`,
        } satisfies PairResult),
        note: JSON.stringify(p.cancel),
      })),
    );
  }

  private resolveSettled(
    pairs: readonly StoredPair[],
    notes: Map<string, PairCancelRecord | undefined>,
  ): StoredPair[] {
    const live: StoredPair[] = [];
    for (const p of pairs) {
      const note = p.cancel as PairCancelRecord;
      const state = p.idn?.state;
      if (p.o.outcome === 'CANCELLED') notes.set(p.fp, undefined);
      else if (p.o.outcome !== 'SUBMITTED') {
        // The caller asked; the body must say why nothing was cancelled rather than drop the note.
        const reason =
          p.o.unknown === true
            ? 'its submission ended with an unknown outcome, so there is nothing known to cancel; re-drive it, then cancel'
            : `the pair ended ${p.o.outcome} before it could be cancelled`;
        notes.set(p.fp, { ...note, state: 'REFUSED', reason });
      } else if (state === 'CANCELLED') notes.set(p.fp, { ...note, state: 'SENT' });
      else if (isFinalState(state)) {
        notes.set(p.fp, { ...note, state: 'REFUSED', reason: `IdentityNow had already ended it (${state})` });
      } else live.push(p);
    }
    return live;
  }

  private async cancelLive(
    trackingId: string,
    pairs: readonly StoredPair[],
    notes: Map<string, PairCancelRecord | undefined>,
    finalAttempt: boolean,
    signal: AbortSignal | undefined,
  ): Promise<CancelPassResult> {
    const read = (q: Parameters<IdentityNowClient['listAccessRequestStatus']>[0]) =>
      this.client.listAccessRequestStatus(q, signal === undefined ? {} : { signal });
    const refuse = (p: StoredPair, reason: string): void => {
      notes.set(p.fp, { ...(p.cancel as PairCancelRecord), state: 'REFUSED', reason });
    };
    const known = (p: StoredPair): string[] => [
      ...(p.o.accessRequestIds ?? []),
      ...(p.idn?.accessRequestId === undefined ? [] : [p.idn.accessRequestId]),
    ];
    const withIds = pairs.filter((p) => known(p).length > 0);
    pairs
      .filter((p) => known(p).length === 0)
      .forEach((p) => {
        refuse(p, "not cancelled: IdentityNow's id of this pair is not known");
      });
    let rows: StatusRow[];
    try {
      const raw = await this.lifecycle.readByIds(read, [...new Set(withIds.flatMap(known))]);
      rows = raw.map(statusRow).filter((r): r is StatusRow => r !== undefined);
    } catch (e) {
      return this.failed(e, withIds, refuse, finalAttempt);
    }
    await this.lifecycle.applyRows(
      trackingId,
      rows.filter((r) => r.trackingId === trackingId),
    );
    const byRequest = new Map<string, StoredPair[]>();
    let unlisted = false;
    for (const p of withIds) {
      const ids = new Set(
        rows.filter((r) => r.trackingId === trackingId && rowFits(p, r)).map((r) => r.accessRequestId),
      );
      ids.delete(undefined);
      if (ids.size === 0) {
        if (finalAttempt) refuse(p, 'not cancelled: IdentityNow does not list it (yet); ask again later');
        unlisted = true;
      }
      for (const id of ids) byRequest.set(id as string, [...(byRequest.get(id as string) ?? []), p]);
    }
    for (const [id, carried] of byRequest) {
      const its = rows.filter((r) => r.accessRequestId === id);
      const open = its.filter((r) => !isFinalState(r.state));
      if (open.some((r) => r.trackingId !== trackingId)) {
        carried.forEach((p) => {
          refuse(
            p,
            `not cancelled: IdentityNow request ${id} also carries access that another request asked for`,
          );
        });
      } else if (open.length === 0) {
        carried.forEach((p) => {
          const state = its[0]?.state;
          if (state === 'CANCELLED') notes.set(p.fp, { ...(p.cancel as PairCancelRecord), state: 'SENT' });
          else refuse(p, `IdentityNow had already ended it (${state ?? 'unknown'})`);
        });
      } else if (open.some((r) => r.cancelable === false)) {
        carried.forEach((p) => {
          refuse(p, `IdentityNow no longer allows cancelling it (${open[0]?.state ?? 'unknown'})`);
        });
      } else {
        const comment = (carried[0]?.cancel as PairCancelRecord).comment;
        try {
          await this.client.cancelAccessRequest(
            { accountActivityId: id, comment },
            signal === undefined ? {} : { signal },
          );
          carried.forEach((p) => notes.set(p.fp, { ...(p.cancel as PairCancelRecord), state: 'SENT' }));
        } catch (e) {
          const r = this.failed(e, carried, refuse, finalAttempt);
          if (r.kind !== 'done') return r;
        }
      }
    }
    if (unlisted && !finalAttempt)
      return { kind: 'retry', reason: 'IdentityNow does not list every pair yet' };
    return { kind: 'done' };
  }

  /** A 400 ("can no longer be cancelled"), 403 or 404 is the answer; anything else is tried again. */
  private failed(
    e: unknown,
    pairs: readonly StoredPair[],
    refuse: (p: StoredPair, reason: string) => void,
    finalAttempt: boolean,
  ): CancelPassResult {
    if (e instanceof IdnRateLimitedError) return { kind: 'rate-limited', retryAfterMs: e.retryAfterMs };
    if (e instanceof IdnPermanentError || e instanceof IdnAuthConfigError) {
      pairs.forEach((p) => {
        refuse(p, `IdentityNow refused the cancel: ${e.reason}`);
      });
      return { kind: 'done' };
    }
    if (!(e instanceof IdnError)) throw e;
    if (!finalAttempt) return { kind: 'retry', reason: e.reason };
    pairs.forEach((p) => {
      refuse(p, `could not cancel in IdentityNow: ${e.reason}`);
    });
    return { kind: 'done' };
  }
}
