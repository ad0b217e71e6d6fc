import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pairKey, startWorkerStack, type WorkerStack } from './worker-stack';

const roles = (identities: string[], items: string[], requestType = 'GRANT_ACCESS'): object => ({
  requestType,
  requestedFor: identities,
  requestedItems: items.map((id) => ({
    type: 'ROLE',
    id,
    ...(requestType === 'REVOKE_ACCESS' ? { comment: 'leaver' } : {}),
  })),
});

describe('submission worker (in-process, real Redis, simulator over HTTP)', () => {
  let s: WorkerStack;
  beforeAll(async () => {
    s = await startWorkerStack();
  });
  afterAll(async () => {
    await s.close();
  });
  beforeEach(() => {
    s.sim.control.reset();
  });

  it('submits a request; the same request again is a DUPLICATE naming the holder', async () => {
    const first = await s.post(roles(['alice'], ['r-basic']));
    const done = await s.settled(first);
    expect(done.state).toBe('SUBMITTED');
    expect(done.attempts).toBe(1);
    expect(done.pairs).toEqual([
      expect.objectContaining({
        requestedFor: 'alice',
        type: 'ROLE',
        id: 'r-basic',
        requestType: 'GRANT_ACCESS',
        outcome: 'SUBMITTED',
      }),
    ]);
    const created = s.sim.control.records({ identityId: 'alice' }).created;
    expect(created).toHaveLength(1);
    expect(done.pairs[0]?.accessRequestIds).toEqual([created[0]?.accessRequestId]);
    expect(created[0]?.clientMetadata).toEqual({
      gatewayTrackingId: first,
      gatewaySubmissionId: `${first}-s0`,
    });
    expect(created[0]?.requestClientMetadata).toEqual({ gatewayClientId: 'dev' });

    const second = await s.post(roles(['alice'], ['r-basic']));
    const dup = await s.settled(second);
    expect(dup.state).toBe('DUPLICATE');
    expect(dup.pairs[0]).toMatchObject({
      outcome: 'DUPLICATE',
      duplicateOf: first,
      holderOutcome: 'SUBMITTED',
    });
    expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', 'alice', 'ROLE', 'r-basic'))).toBe(1);
  });

  it('partial duplicates: only the remaining pairs are submitted, regrouped', async () => {
    const a = await s.post(roles(['p1', 'p2'], ['x1']));
    await s.settled(a);
    const b = await s.post(roles(['p1', 'p2', 'p3'], ['x1', 'x2']));
    const rec = await s.settled(b);
    expect(rec.state).toBe('SUBMITTED');
    const out = Object.fromEntries(rec.pairs.map((p) => [`${p.requestedFor}/${p.id}`, p.outcome]));
    expect(out).toEqual({
      'p1/x1': 'DUPLICATE',
      'p2/x1': 'DUPLICATE',
      'p3/x1': 'SUBMITTED',
      'p1/x2': 'SUBMITTED',
      'p2/x2': 'SUBMITTED',
      'p3/x2': 'SUBMITTED',
    });
    for (const id of ['p1', 'p2', 'p3']) {
      expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', id, 'ROLE', 'x1'))).toBe(1);
      expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', id, 'ROLE', 'x2'))).toBe(1);
    }
    // p1,p2 share {x2}; p3 has {x1,x2}: two submissions.
    const submits = s.sim.control.records({ operation: 'submit' }).calls.filter((c) => c.status === 202);
    expect(submits).toHaveLength(3);
  });

  it('revoke-then-grant submits the grant again', async () => {
    const g1 = await s.post(roles(['rv'], ['app']));
    expect((await s.settled(g1)).state).toBe('SUBMITTED');
    const r = await s.post(roles(['rv'], ['app'], 'REVOKE_ACCESS'));
    expect((await s.settled(r)).state).toBe('SUBMITTED');
    const g2 = await s.post(roles(['rv'], ['app']));
    expect((await s.settled(g2)).state).toBe('SUBMITTED');
    expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', 'rv', 'ROLE', 'app'))).toBe(2);
    expect(s.sim.control.pairCount(pairKey('REVOKE_ACCESS', 'rv', 'ROLE', 'app'))).toBe(1);
  });
});
