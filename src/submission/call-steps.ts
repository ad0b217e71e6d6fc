import type { Logger } from '@nestjs/common';
import type { PairResult } from '../tracking/request.store';
import { type CallEvent, type CallRules, transition } from './call-state';
import type { CallStore, CallUnit, Fence, PairUpdate, StoredCall } from './call.store';
import type { DedupeStore } from './dedupe.store';

/** Requests whose pairs a pass changed (`touched`), and those left with no open pair (`completed`). */
export interface Changes {
  readonly completed: readonly string[];
  readonly touched: readonly string[];
}

export class PassChanges {
  private readonly completed = new Set<string>();
  private readonly touched = new Set<string>();

  add(r: { readonly completed: readonly string[]; readonly touched: readonly string[] }): void {
    r.completed.forEach((t) => this.completed.add(t));
    r.touched.forEach((t) => this.touched.add(t));
  }

  result(): Changes {
    return { completed: [...this.completed], touched: [...this.touched] };
  }
}

/** The pass's job lock is gone: stop, write nothing. */
export class LockLost extends Error {}

/** The call is not as the pass read it (a pair went back into it, or its state moved): read it again. */
export class CallChanged extends Error {}

/** The fenced writes of one pass: each state-machine transition with its pair updates, in one script. */
export class CallSteps {
  constructor(
    private readonly calls: CallStore,
    private readonly dedupe: DedupeStore,
    private readonly rules: CallRules,
    private readonly logger: Logger,
  ) {}

  /** Applies one state-machine transition with its pair updates; returns the call as it now is. */
  async step(
    call: StoredCall,
    fence: Fence,
    event: CallEvent,
    pairs: readonly PairUpdate[],
    changes: PassChanges,
    extra: { reason?: string } = {},
  ): Promise<StoredCall> {
    const t = transition({ state: call.state, endedAt: call.endedAt ?? 0 }, event, this.rules);
    const r = await this.calls.apply({
      call,
      fence,
      from: [call.state],
      to: t.next.state,
      fields: {
        ...(t.next.endedAt !== undefined && t.next.state === 'unknown' ? { endedAt: t.next.endedAt } : {}),
        ...(t.next.state === 'verified-absent' ? { absent: 1 } : {}),
        ...(extra.reason !== undefined ? { reason: extra.reason } : {}),
      },
      pairs,
      // A re-drive may put a pair back into an unknown call: what the pass read must still be all of it.
      ...(call.state === 'unknown' ? { strict: { rev: call.rev } } : {}),
    });
    if (!r.ok) {
      if (r.why === 'lock-lost') throw new LockLost();
      this.logger.warn(`call ${call.id}: ${event.kind} found the call changed (${r.why} ${r.state ?? ''})`);
      throw new CallChanged();
    }
    changes.add(r);
    return { ...call, state: t.next.state, endedAt: t.next.endedAt ?? call.endedAt };
  }

  /** A transition out of `pending` that is written only if no pair joined or left meanwhile. */
  async stepIfUnchanged(
    call: StoredCall,
    fence: Fence,
    event: CallEvent,
    pairs: readonly PairUpdate[],
    changes: PassChanges,
    units: number,
  ): Promise<boolean> {
    const t = transition({ state: call.state }, event, this.rules);
    const r = await this.calls.apply({
      call,
      fence,
      from: [call.state],
      to: t.next.state,
      pairs,
      strict: { units },
    });
    if (!r.ok && r.why === 'lock-lost') throw new LockLost();
    if (r.ok) changes.add(r);
    return r.ok;
  }

  /** Splits into calls `<call>.<k>`; undefined when the call changed meanwhile (`units`). */
  async split(
    call: StoredCall,
    fence: Fence,
    parts: readonly (readonly CallUnit[])[],
    changes: PassChanges,
    units?: number,
  ): Promise<string[] | undefined> {
    const children = parts.map((p, k) => ({ id: `${call.id}.${k}`, ctx: call.ctx, units: p }));
    const moves = children.flatMap((c) =>
      c.units.map((u): PairUpdate => ({ t: u.t, fp: u.fp, moveTo: c.id })),
    );
    const r = await this.calls.apply({
      call,
      fence,
      from: [call.state],
      to: 'split',
      fields: { children: JSON.stringify(children.map((c) => c.id)) },
      pairs: moves,
      newCalls: children,
      ...(units === undefined ? {} : { strict: { units } }),
    });
    if (!r.ok && r.why === 'lock-lost') throw new LockLost();
    if (!r.ok) return undefined;
    changes.add(r);
    return children.map((c) => c.id);
  }

  final(u: CallUnit, result: PairResult, attempts: number): PairUpdate {
    return { t: u.t, fp: u.fp, result, final: true, attempts };
  }

  /** The pass used an attempt for these pairs (they stay in the call). */
  counted(units: readonly CallUnit[]): PairUpdate[] {
    return units.map((u) => ({ t: u.t, fp: u.fp, attempts: 1 }));
  }

  /** Out of attempts: released only where nothing can have been created; an unknown outcome keeps its claims. */
  async giveUp(call: StoredCall, fence: Fence, reason: string, changes: PassChanges): Promise<void> {
    const live = await this.calls.live(call);
    const unknown = call.state === 'unknown';
    const why = unknown
      ? `gave up; the last call's outcome is unknown, so the pair stays claimed: ${reason}`
      : `gave up: ${reason}`;
    const results = live.map((u) =>
      this.final(
        u,
        { outcome: 'FAILED', reason: why, call: call.id, ...(unknown ? { unknown: true } : {}) },
        0,
      ),
    );
    await this.step(call, fence, { kind: 'give-up' }, results, changes);
    if (!unknown) await this.dedupe.releaseEach(live.map((u) => ({ trackingId: u.t, fingerprint: u.fp })));
  }
}
