import { describe, expect, it } from 'vitest';
import {
  CALL_EVENT_KINDS,
  CALL_STATES,
  type CallEvent,
  type CallEventKind,
  type CallState,
  IllegalTransitionError,
  type PairEffect,
  transition,
} from '../../src/submission/call-state';

const RULES = { settleMs: 15_000, orphanMs: 11_000 };
const ENDED = 100_000;

const EVENTS: Record<CallEventKind, CallEvent> = {
  seal: { kind: 'seal' },
  created: { kind: 'created' },
  rejected: { kind: 'rejected', pairs: 1, splittable: true },
  'not-created': { kind: 'not-created' },
  ambiguous: { kind: 'ambiguous', at: 200_000 },
  orphaned: { kind: 'orphaned', sentAt: 300_000 },
  'read-found': { kind: 'read-found' },
  'read-absent': { kind: 'read-absent', readStartedAt: ENDED + RULES.settleMs },
  'read-failed': { kind: 'read-failed' },
  emptied: { kind: 'emptied' },
  split: { kind: 'split' },
  'give-up': { kind: 'give-up' },
};

const x = 'illegal';
type Row = [CallState, CallEventKind, CallState | typeof x, PairEffect?, number?];

// Every (state, event) pair: the next state and what happens to the call's pairs, or illegal.
const TABLE: Record<CallState, Partial<Record<CallEventKind, [CallState, PairEffect, number?]>>> = {
  pending: {
    seal: ['in-flight', 'none'],
    emptied: ['abandoned', 'none'],
    split: ['split', 'moved'],
    'give-up': ['abandoned', 'failed-release'],
  },
  'verified-absent': {
    seal: ['in-flight', 'none'],
    emptied: ['abandoned', 'none'],
    split: ['split', 'moved'],
    'give-up': ['abandoned', 'failed-release'],
  },
  'in-flight': {
    created: ['settled', 'submitted'],
    rejected: ['settled', 'failed-release'],
    'not-created': ['pending', 'none'],
    ambiguous: ['unknown', 'none', 200_000],
    orphaned: ['unknown', 'none', 300_000 + RULES.orphanMs],
  },
  unknown: {
    'read-found': ['settled', 'submitted'],
    'read-absent': ['verified-absent', 'none'],
    'read-failed': ['unknown', 'none', ENDED],
    'give-up': ['unknown', 'failed-keep-claim', ENDED],
  },
  settled: {},
  abandoned: {},
  split: {},
};

const rows: Row[] = CALL_STATES.flatMap((state) =>
  CALL_EVENT_KINDS.map((event): Row => {
    const expected = TABLE[state][event];
    return expected === undefined ? [state, event, x] : [state, event, ...expected];
  }),
);

describe('call state machine: every (state, event) pair', () => {
  it.each(rows)('%s + %s → %s %s', (state, event, next, pairs, endedAt) => {
    const from = { state, endedAt: ENDED };
    if (next === x) {
      expect(() => transition(from, EVENTS[event], RULES)).toThrow(IllegalTransitionError);
      return;
    }
    const t = transition(from, EVENTS[event], RULES);
    expect(t.next.state).toBe(next);
    expect(t.pairs).toBe(pairs);
    if (endedAt !== undefined) expect(t.next.endedAt).toBe(endedAt);
  });
});

describe('call state machine: the guards', () => {
  const unknown = { state: 'unknown' as const, endedAt: ENDED };

  it('a status read that began before the settle time proves nothing: still unknown', () => {
    const early = transition(unknown, { kind: 'read-absent', readStartedAt: ENDED + 14_999 }, RULES);
    expect(early.next).toEqual(unknown);
    const onTime = transition(unknown, { kind: 'read-absent', readStartedAt: ENDED + 15_000 }, RULES);
    expect(onTime.next.state).toBe('verified-absent');
  });

  it('an orphaned call is unknown from the latest moment it can have ended, not from its discovery', () => {
    const t = transition({ state: 'in-flight' }, { kind: 'orphaned', sentAt: 5_000 }, RULES);
    expect(t.next).toEqual({ state: 'unknown', endedAt: 5_000 + RULES.orphanMs });
  });

  it('a rejected call of several pairs splits; of one pair, or not splittable, fails its pairs', () => {
    const inFlight = { state: 'in-flight' as const };
    expect(transition(inFlight, { kind: 'rejected', pairs: 3, splittable: true }, RULES).next.state).toBe(
      'split',
    );
    expect(transition(inFlight, { kind: 'rejected', pairs: 3, splittable: false }, RULES).pairs).toBe(
      'failed-release',
    );
    expect(transition(inFlight, { kind: 'rejected', pairs: 1, splittable: true }, RULES).pairs).toBe(
      'failed-release',
    );
  });

  it('giving up never releases the claims of a call whose outcome is unknown', () => {
    expect(transition(unknown, { kind: 'give-up' }, RULES).pairs).toBe('failed-keep-claim');
    expect(transition({ state: 'pending' }, { kind: 'give-up' }, RULES).pairs).toBe('failed-release');
  });
});
