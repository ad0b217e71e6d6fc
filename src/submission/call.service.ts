import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AccessRequestBody } from '../access-request/access-request.types';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { IdentityNowClient } from '../identitynow/identitynow.client';
import {
  IdnAuthConfigError,
  IdnError,
  IdnPermanentError,
  IdnRateLimitedError,
  IdnRetryableError,
} from '../identitynow/identitynow.errors';
import type { IdnAccessRequest } from '../identitynow/identitynow.types';
import { type AcquireResult, RateLimiterService } from '../identitynow/rate-limiter.service';
import { MetricsService } from '../ops/metrics.service';
import type { PairResult } from '../tracking/request.store';
import { callBodies, sentOutcome, unitPairs } from './call-body';
import { type CallEvent, type CallRules, type CallState, readAllowedAt, transition } from './call-state';
import { CallChanged, type Changes, CallSteps, LockLost, PassChanges } from './call-steps';
import { CallStore, type CallUnit, type Fence, type PairUpdate, type StoredCall } from './call.store';
import { DedupeStore } from './dedupe.store';
import { ReconcilerService } from './reconciler.service';

export interface CallPassInput {
  readonly callId: string;
  readonly fence: Fence;
  readonly attemptsMade: number;
  readonly maxAttempts: number;
  readonly signal?: AbortSignal;
  /** A budget unit the scheduler took for this call; given back if the pass sends nothing. */
  grant?: AcquireResult | undefined;
}

/** How one pass over a call ended, in words the processor turns into BullMQ moves. */
export type CallPassResult =
  | ({ readonly kind: 'done'; readonly spawned: readonly string[] } & Changes)
  | ({ readonly kind: 'delay'; readonly until: number } & Changes)
  | ({ readonly kind: 'rate-limited'; readonly retryAfterMs: number; readonly reason: string } & Changes)
  | ({ readonly kind: 'retry'; readonly reason: string; readonly minDelayMs: number } & Changes)
  | { readonly kind: 'lock-lost' };

const FINAL: readonly CallState[] = ['settled', 'abandoned', 'split'];
const SENDABLE: readonly CallState[] = ['pending', 'verified-absent'];
/** Beyond IDN_TIMEOUT_MS: the orphaned call's own send and its worker's scheduling. */
const ORPHAN_MARGIN_MS = 1_000;
const SUPERSEDED =
  'not sent: a later request for the opposite type (REVOKE_ACCESS / GRANT_ACCESS) of the same access ended its claim';

/** An orphan's deadline counts from the stamp: a send starting late is not made (back to pending). */
const SEND_WINDOW_MS = ORPHAN_MARGIN_MS / 2;
/** Not sent, no attempt used: the call is taken again after this. */
const NOT_SENT_RETRY_MS = 1_000;

class NotSent extends Error {}

/** Continues from the call's state (call-state.ts), never from which operation threw. */
@Injectable()
export class CallService {
  private readonly logger = new Logger('CallService');
  readonly rules: CallRules;
  private readonly steps: CallSteps;
  private readonly maxIdentities: number;

  constructor(
    @Inject(CallStore) private readonly calls: CallStore,
    @Inject(DedupeStore) private readonly dedupe: DedupeStore,
    @Inject(ReconcilerService) private readonly reconciler: ReconcilerService,
    @Inject(IdentityNowClient) private readonly client: IdentityNowClient,
    @Inject(RateLimiterService) private readonly limiter: RateLimiterService,
    @Inject(MetricsService) private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.rules = {
      settleMs: config.submission.reconcileSettleMs,
      orphanMs: config.idn.timeoutMs + ORPHAN_MARGIN_MS,
    };
    this.steps = new CallSteps(calls, dedupe, this.rules, this.logger);
    this.maxIdentities = config.idn.maxIdentitiesPerCall;
  }

  async pass(input: CallPassInput): Promise<CallPassResult> {
    const changes = new PassChanges();
    try {
      return await this.run(input, changes);
    } catch (e) {
      if (e instanceof LockLost) return { kind: 'lock-lost' };
      if (e instanceof CallChanged) return { kind: 'delay', until: Date.now(), ...changes.result() };
      throw e;
    } finally {
      if (input.grant !== undefined) await this.limiter.release(input.grant);
    }
  }

  /** Out of attempts outside a pass (the job stalled too often): pairs end FAILED, claims per state. */
  async abandon(callId: string, fence: Fence, reason: string): Promise<Changes> {
    const changes = new PassChanges();
    let call = await this.calls.load(callId);
    if (call === undefined || FINAL.includes(call.state)) return changes.result();
    try {
      if (call.state === 'in-flight')
        call = await this.steps.step(
          call,
          fence,
          { kind: 'orphaned', sentAt: call.sentAt ?? 0 },
          [],
          changes,
        );
      await this.steps.giveUp(call, fence, reason, changes);
    } catch (e) {
      // Changed: a re-drive put a pair back; the call's job comes back with it (CallQueue.ensure).
      if (!(e instanceof LockLost) && !(e instanceof CallChanged)) throw e;
    }
    return changes.result();
  }

  private async run(input: CallPassInput, changes: PassChanges): Promise<CallPassResult> {
    const { fence, signal } = input;
    const finalAttempt = input.attemptsMade + 1 >= input.maxAttempts;
    const done = (spawned: readonly string[] = []): CallPassResult => ({
      kind: 'done',
      ...changes.result(),
      spawned,
    });
    let call = await this.calls.load(input.callId);
    if (call === undefined || FINAL.includes(call.state)) return done();
    if (call.state === 'in-flight') {
      // Its worker died or lost the job mid-call: the call may still arrive, so its outcome is unknown.
      call = await this.steps.step(call, fence, { kind: 'orphaned', sentAt: call.sentAt ?? 0 }, [], changes);
    }
    if (call.state === 'unknown') {
      const allowedAt = readAllowedAt({ state: call.state, endedAt: call.endedAt ?? 0 }, this.rules);
      if (Date.now() < allowedAt) return { kind: 'delay', until: allowedAt, ...changes.result() };
      const live = await this.calls.live(call);
      if (live.length === 0) return done();
      const readStartedAt = Date.now();
      let found;
      try {
        found = await this.reconciler.findSubmission(
          call.id,
          [...new Set(live.map((u) => u.identityId))],
          new Date(call.createdAt),
          signal,
        );
      } catch (err) {
        const reason = `could not check whether call ${call.id} reached IdentityNow: ${reasonOf(err)}`;
        // Rejected before it was read: nothing learnt, no attempt used.
        if (err instanceof IdnRateLimitedError)
          return { kind: 'rate-limited', retryAfterMs: err.retryAfterMs, reason, ...changes.result() };
        call = await this.steps.step(
          call,
          fence,
          { kind: 'read-failed' },
          this.steps.counted(live),
          changes,
          {
            reason,
          },
        );
        return this.retryOrGiveUp(call, fence, reason, finalAttempt, 0, changes);
      }
      if (found !== undefined) {
        const callId = call.id;
        const results = live.map((u): PairUpdate => {
          const ids = found.accessRequestIds.get(u.identityId) ?? [];
          return this.steps.final(
            u,
            { outcome: 'SUBMITTED', call: callId, ...(ids.length > 0 ? { accessRequestIds: ids } : {}) },
            1,
          );
        });
        await this.steps.step(call, fence, { kind: 'read-found' }, results, changes);
        return done();
      }
      call = await this.steps.step(call, fence, { kind: 'read-absent', readStartedAt }, [], changes);
      if (call.state === 'unknown') return { kind: 'delay', until: allowedAt, ...changes.result() };
    }
    if (!SENDABLE.includes(call.state)) return done();
    return this.send(call, input, finalAttempt, changes);
  }

  private async send(
    initial: StoredCall,
    input: CallPassInput,
    finalAttempt: boolean,
    changes: PassChanges,
  ): Promise<CallPassResult> {
    const { fence } = input;
    const done = (spawned: readonly string[] = []): CallPassResult => ({
      kind: 'done',
      ...changes.result(),
      spawned,
    });
    let call: StoredCall | undefined = initial;
    // Pairs may join an open call, or leave it (cancel), until it is sealed: each decision below is
    // written only if the call still holds exactly the units it was made on, else it is made again.
    for (let round = 0; round < 5; round++) {
      if (call === undefined || !SENDABLE.includes(call.state)) return done();
      const units = call.units.length;
      const live = await this.calls.live(call);
      const remaining = await this.dropLostClaims(call, fence, live, changes);
      if (remaining.length === 0) {
        if (await this.steps.stepIfUnchanged(call, fence, { kind: 'emptied' }, [], changes, units))
          return done();
      } else {
        const bodies = callBodies(call.id, call.ctx, remaining, this.maxIdentities);
        if (bodies.length > 1) {
          const parts = bodies.map((b) => remaining.filter((u) => b.fingerprints.includes(u.fp)));
          const spawned = await this.steps.split(call, fence, parts, changes, units);
          if (spawned !== undefined) return done(spawned);
        } else {
          const sealed = await this.calls.apply({
            call,
            fence,
            from: SENDABLE,
            to: transition({ state: call.state }, { kind: 'seal' }, this.rules).next.state,
            fields: { sentAt: Date.now(), endedAt: undefined },
            pairs: remaining.map((u) => ({ t: u.t, fp: u.fp })),
            strict: { units },
          });
          if (!sealed.ok && sealed.why === 'lock-lost') throw new LockLost();
          if (sealed.ok) {
            const body = bodies[0]?.body as AccessRequestBody;
            return this.deliver(
              { ...call, state: 'in-flight' },
              input,
              remaining,
              body,
              finalAttempt,
              changes,
            );
          }
        }
      }
      call = await this.calls.load(call.id);
    }
    // Pairs kept joining between read and seal: take the call again at once rather than leave it.
    return { kind: 'delay', until: Date.now(), ...changes.result() };
  }

  private async deliver(
    call: StoredCall,
    input: CallPassInput,
    units: readonly CallUnit[],
    body: AccessRequestBody,
    finalAttempt: boolean,
    changes: PassChanges,
  ): Promise<CallPassResult> {
    const { fence, signal } = input;
    this.metrics.pairsPerCall(units.length);
    let res;
    try {
      // A worker that lost its job (a stalled event loop) must not send what the new holder now owns.
      const beforeSend = async (): Promise<void> => {
        const stampedAt = Date.now();
        if (!(await this.calls.stampSend(call.id, fence, stampedAt))) throw new LockLost();
        if (!(await this.calls.replicated(call.id)))
          throw new NotSent('Redis replicas did not acknowledge the call before its send; nothing was sent');
        if (Date.now() - stampedAt > SEND_WINDOW_MS)
          throw new NotSent(
            'the worker stalled between marking the call in flight and sending it; nothing was sent',
          );
      };
      const grant = input.grant;
      input.grant = undefined;
      res = await this.client.createAccessRequest(body as IdnAccessRequest, {
        beforeSend,
        ...(grant === undefined ? {} : { grant }),
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (err) {
      if (err instanceof LockLost) throw err;
      if (err instanceof NotSent) {
        await this.steps.step(call, fence, { kind: 'not-created' }, [], changes, { reason: err.message });
        return { kind: 'delay', until: Date.now() + NOT_SENT_RETRY_MS, ...changes.result() };
      }
      const e = err instanceof IdnError ? err : undefined;
      const reason = reasonOf(err);
      if (e instanceof IdnRateLimitedError) {
        await this.steps.step(call, fence, { kind: 'not-created' }, [], changes, { reason });
        return { kind: 'rate-limited', retryAfterMs: e.retryAfterMs, reason, ...changes.result() };
      }
      if (e instanceof IdnPermanentError || e instanceof IdnAuthConfigError) {
        // Nothing was created. A 400/404 may be one bad pair's doing: halves go again, until it is alone.
        const splittable = e instanceof IdnPermanentError && (e.status === 400 || e.status === 404);
        const t = transition(
          { state: 'in-flight' },
          { kind: 'rejected', pairs: units.length, splittable },
          this.rules,
        );
        if (t.next.state === 'split') {
          const mid = Math.ceil(units.length / 2);
          const spawned = await this.steps.split(
            call,
            fence,
            [units.slice(0, mid), units.slice(mid)],
            changes,
          );
          return { kind: 'done', ...changes.result(), spawned: spawned ?? [] };
        }
        const failed = units.map((u) => this.steps.final(u, { outcome: 'FAILED', reason, call: call.id }, 1));
        await this.steps.step(
          call,
          fence,
          { kind: 'rejected', pairs: units.length, splittable },
          failed,
          changes,
          {
            reason,
          },
        );
        await this.dedupe.releaseEach(units.map((u) => ({ trackingId: u.t, fingerprint: u.fp })));
        return { kind: 'done', ...changes.result(), spawned: [] };
      }
      const ambiguous = e instanceof IdnRetryableError ? e.ambiguous : true;
      const event: CallEvent = ambiguous ? { kind: 'ambiguous', at: Date.now() } : { kind: 'not-created' };
      const next = await this.steps.step(call, fence, event, this.steps.counted(units), changes, { reason });
      return this.retryOrGiveUp(
        next,
        fence,
        reason,
        finalAttempt,
        ambiguous ? this.rules.settleMs : 0,
        changes,
      );
    }
    const pairs = unitPairs(call.ctx, units);
    const results = units.map((u, i) => {
      const pair = pairs[i];
      const result: PairResult = pair === undefined ? { outcome: 'SUBMITTED' } : sentOutcome(res, pair);
      return this.steps.final(u, { ...result, call: call.id }, 1);
    });
    await this.steps.step(call, fence, { kind: 'created' }, results, changes);
    return { kind: 'done', ...changes.result(), spawned: [] };
  }

  /** Re-checks the claims of the pairs about to go: a pair another request holds now is its duplicate. */
  private async dropLostClaims(
    call: StoredCall,
    fence: Fence,
    live: readonly CallUnit[],
    changes: PassChanges,
  ): Promise<CallUnit[]> {
    const claims = await this.dedupe.reclaim(
      unitPairs(call.ctx, live).map((pair, i) => {
        const t = live[i]?.t ?? '';
        return { trackingId: t, pair, requestKey: this.calls.requestKey(t), callId: call.id };
      }),
      fence,
    );
    if (claims === undefined) throw new LockLost();
    const dropped: PairUpdate[] = [];
    const kept: CallUnit[] = [];
    live.forEach((u, i) => {
      const c = claims[i];
      if (c?.kind === 'gone') return;
      if (c === undefined || c.kind === 'owned') kept.push(u);
      else if (c.kind === 'taken')
        dropped.push(this.steps.final(u, { outcome: 'DUPLICATE', duplicateOf: c.holder }, 0));
      else dropped.push(this.steps.final(u, { outcome: 'FAILED', reason: SUPERSEDED }, 0));
    });
    if (dropped.length > 0) {
      const r = await this.calls.apply({ call, fence, from: SENDABLE, pairs: dropped });
      if (!r.ok && r.why === 'lock-lost') throw new LockLost();
      if (r.ok) changes.add(r);
    }
    return kept;
  }

  private async retryOrGiveUp(
    call: StoredCall,
    fence: Fence,
    reason: string,
    finalAttempt: boolean,
    minDelayMs: number,
    changes: PassChanges,
  ): Promise<CallPassResult> {
    if (finalAttempt) {
      await this.steps.giveUp(call, fence, reason, changes);
      return { kind: 'done', ...changes.result(), spawned: [] };
    }
    return { kind: 'retry', reason, minDelayMs, ...changes.result() };
  }
}

function reasonOf(err: unknown): string {
  if (err instanceof IdnError) return err.reason;
  return err instanceof Error ? err.message : String(err);
}
