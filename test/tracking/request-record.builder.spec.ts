import { describe, expect, it } from 'vitest';
import type { PairCancelRecord, StoredPair, StoredRequest } from '../../src/tracking/request.store';
import { buildRecord } from '../../src/tracking/request-record.builder';
import type { IdentityNowState } from '../../src/access-request/request-record';

const at = '2026-01-01T00:00:00.000Z';

function submitted(state: IdentityNowState, cancel: PairCancelRecord): StoredRequest {
  const pair: StoredPair = {
    fp: 'fp-1',
    d: { i: 0, requestedFor: 'id-1', type: 'ROLE', id: 'role-1', requestType: 'GRANT_ACCESS' },
    o: { outcome: 'SUBMITTED', accessRequestIds: ['ar-1'] },
    call: undefined,
    attempts: 1,
    idn: { state },
    cancel,
  };
  return {
    trackingId: 'tid',
    meta: { clientId: 'dev', createdAt: at },
    phase: 'finished',
    pairs: [pair],
    updatedAt: at,
    version: 3,
    closedAt: undefined,
    notified: undefined,
  };
}

describe('status body of a cancelled pair', () => {
  it('a cancel refused on a retry ("already cancelled") shows SENT once IdentityNow says CANCELLED', () => {
    const refused: PairCancelRecord = { state: 'REFUSED', comment: 'stop', reason: 'already cancelled', at };
    expect(buildRecord(submitted('CANCELLED', refused), () => undefined).pairs[0]?.cancel).toEqual({
      state: 'SENT',
    });
    // Refused for a reason that stands (approval completed): still REFUSED with it.
    expect(buildRecord(submitted('REQUEST_COMPLETED', refused), () => undefined).pairs[0]?.cancel).toEqual({
      state: 'REFUSED',
      reason: 'already cancelled',
    });
  });
});
