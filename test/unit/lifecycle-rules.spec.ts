import { describe, expect, it } from 'vitest';
import { isFinalState, pairIsOpen, releasesClaim } from '../../src/access-request/lifecycle';
import type { PairOutcome } from '../../src/access-request/request-record';
import { requestState } from '../../src/access-request/request-state';
import { matchStatuses, statusRow, type StatusRow } from '../../src/lifecycle/status-matcher';
import type { IdnRequestedItemStatus } from '../../src/identitynow/identitynow.types';
import type { StoredPair } from '../../src/tracking/request.store';

const states = (...o: PairOutcome[]): { outcome: PairOutcome }[] => o.map((outcome) => ({ outcome }));

describe('request state with CANCELLED pairs (pinned rule)', () => {
  it.each([
    [['CANCELLED'], 'CANCELLED'],
    [['CANCELLED', 'DUPLICATE'], 'CANCELLED'],
    [['CANCELLED', 'FAILED'], 'FAILED'],
    [['CANCELLED', 'SUBMITTED'], 'PARTIALLY_SUBMITTED'],
    [['CANCELLED', 'SUBMITTED', 'DUPLICATE'], 'PARTIALLY_SUBMITTED'],
    [['CANCELLED', 'PENDING'], 'PROCESSING'],
    [['DUPLICATE', 'DUPLICATE'], 'DUPLICATE'],
    [['SUBMITTED', 'DUPLICATE'], 'SUBMITTED'],
  ] as [PairOutcome[], string][])('%j → %s', (outcomes, expected) => {
    expect(requestState(states(...outcomes))).toBe(expected);
  });
});

describe('lifecycle rules', () => {
  it('final states, and which of them release a claim', () => {
    expect(isFinalState('EXECUTING')).toBe(false);
    expect(isFinalState('PROVISIONING_VERIFICATION_PENDING')).toBe(false);
    for (const s of [
      'REJECTED',
      'CANCELLED',
      'TERMINATED',
      'PROVISIONING_FAILED',
      'NOT_ALL_ITEMS_PROVISIONED',
      'ERROR',
    ] as const) {
      expect(isFinalState(s)).toBe(true);
      expect(releasesClaim('GRANT_ACCESS', s)).toBe(true);
      expect(releasesClaim('MODIFY_ACCESS', s)).toBe(true);
      expect(releasesClaim('REVOKE_ACCESS', s)).toBe(false);
    }
    expect(releasesClaim('GRANT_ACCESS', 'REQUEST_COMPLETED')).toBe(false);
    expect(releasesClaim('GRANT_ACCESS', 'EXECUTING')).toBe(false);
  });

  it('a request is open while a pair is pending or submitted without a final state', () => {
    expect(pairIsOpen('PENDING', undefined)).toBe(true);
    expect(pairIsOpen('SUBMITTED', undefined)).toBe(true);
    expect(pairIsOpen('SUBMITTED', 'EXECUTING')).toBe(true);
    expect(pairIsOpen('SUBMITTED', 'REJECTED')).toBe(false);
    for (const o of ['FAILED', 'DUPLICATE', 'CANCELLED'] as const)
      expect(pairIsOpen(o, undefined)).toBe(false);
  });
});

const T = 'tracking-1';
let seq = 0;
function pair(
  identity: string,
  type: 'ROLE' | 'ENTITLEMENT',
  id: string,
  o: Partial<StoredPair['o']> = {},
): StoredPair {
  return {
    fp: `fp-${identity}-${type}-${id}`,
    d: { i: seq++, requestedFor: identity, type, id, requestType: 'GRANT_ACCESS' },
    o: { outcome: 'SUBMITTED', call: 'call-1', accessRequestIds: ['ar-1'], ...o },
    call: undefined,
    attempts: 1,
    idn: undefined,
    cancel: undefined,
  };
}

function row(
  identity: string,
  type: string,
  state: string,
  extra: Partial<IdnRequestedItemStatus> = {},
): StatusRow {
  const r = statusRow({
    id: `row-${seq++}`,
    type: type as 'ROLE',
    state,
    requestType: 'GRANT_ACCESS',
    accessRequestId: 'ar-1',
    modified: new Date(Date.UTC(2030, 0, 1, 0, 0, seq)).toISOString(),
    requestedFor: { id: identity },
    clientMetadata: { gatewayTrackingId: T, gatewaySubmissionId: 'call-1' },
    ...extra,
  });
  if (r === undefined) throw new Error('row not parsed');
  return r;
}

describe('matching status rows to pairs', () => {
  it('rows without the gateway metadata or with an unknown state are ignored', () => {
    expect(statusRow({ type: 'ROLE', state: 'EXECUTING', requestedFor: { id: 'i' } })).toBeUndefined();
    expect(
      statusRow({
        type: 'ROLE',
        state: 'SOMETHING',
        requestedFor: { id: 'i' },
        clientMetadata: { gatewayTrackingId: T },
      }),
    ).toBeUndefined();
  });

  it('one pair per identity and type: its own row, by identity, type, call and access request id', () => {
    const a = pair('u1', 'ROLE', 'r1');
    const b = pair('u2', 'ROLE', 'r1');
    const c = pair('u1', 'ENTITLEMENT', 'e1');
    const found = matchStatuses(
      [a, b, c],
      [
        row('u1', 'ROLE', 'REJECTED'),
        row('u2', 'ROLE', 'EXECUTING'),
        row('u1', 'ENTITLEMENT', 'REQUEST_COMPLETED'),
        // Another call's row for the same identity and type is not this pair's.
        row('u1', 'ROLE', 'REQUEST_COMPLETED', {
          clientMetadata: { gatewayTrackingId: T, gatewaySubmissionId: 'call-9' },
        }),
      ],
    );
    expect(found.get(a.fp)?.state).toBe('REJECTED');
    expect(found.get(b.fp)?.state).toBe('EXECUTING');
    expect(found.get(c.fp)?.state).toBe('REQUEST_COMPLETED');
  });

  it('the newest row wins; an older row than what is known changes nothing', () => {
    const a = pair('u1', 'ROLE', 'r1');
    const older = row('u1', 'ROLE', 'EXECUTING');
    const newer = row('u1', 'ROLE', 'REQUEST_COMPLETED', { id: older.rowId });
    expect(matchStatuses([a], [newer, older]).get(a.fp)?.state).toBe('REQUEST_COMPLETED');
    const known = { ...a, idn: { state: 'REQUEST_COMPLETED' as const, modified: newer.modified as string } };
    expect(matchStatuses([known], [older]).size).toBe(0);
  });

  it('two items of one type for one identity in one call share the group state', () => {
    const a = pair('u1', 'ROLE', 'r1');
    const b = pair('u1', 'ROLE', 'r2');
    const both = (rows: StatusRow[]): (string | undefined)[] => {
      const m = matchStatuses([a, b], rows);
      return [m.get(a.fp)?.state, m.get(b.fp)?.state];
    };
    expect(both([row('u1', 'ROLE', 'EXECUTING'), row('u1', 'ROLE', 'EXECUTING')])).toEqual([
      'EXECUTING',
      'EXECUTING',
    ]);
    // One ended, one still open: the group is still open.
    expect(both([row('u1', 'ROLE', 'REJECTED'), row('u1', 'ROLE', 'EXECUTING')])).toEqual([
      'EXECUTING',
      'EXECUTING',
    ]);
    // Only one row listed yet and it ended: wait for the other.
    expect(both([row('u1', 'ROLE', 'REJECTED')])).toEqual([undefined, undefined]);
    expect(both([row('u1', 'ROLE', 'REQUEST_COMPLETED'), row('u1', 'ROLE', 'REQUEST_COMPLETED')])).toEqual([
      'REQUEST_COMPLETED',
      'REQUEST_COMPLETED',
    ]);
    // Ended differently: both show the failure (which releases the claims; the caller asks again).
    expect(both([row('u1', 'ROLE', 'REJECTED'), row('u1', 'ROLE', 'REQUEST_COMPLETED')])).toEqual([
      'REJECTED',
      'REJECTED',
    ]);
  });

  it('pairs not submitted, or already final, are not matched', () => {
    const failed = pair('u1', 'ROLE', 'r1', { outcome: 'FAILED' });
    const done = { ...pair('u2', 'ROLE', 'r1'), idn: { state: 'REJECTED' as const } };
    expect(
      matchStatuses([failed, done], [row('u1', 'ROLE', 'EXECUTING'), row('u2', 'ROLE', 'EXECUTING')]).size,
    ).toBe(0);
  });
});
