import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../src/access-request/request-record';
import { basic } from '../support/clients';
import { waitUntil } from '../support/time';
import { pairKey, startWorkerStack, type WorkerStack } from '../support/worker-stack';

const ADMIN = { ADMIN_USER: 'ops-admin', ADMIN_PASSWORD: 'correct-horse-battery' };
const role = (identity: string, ...roles: string[]): object => ({
  requestedFor: [identity],
  requestedItems: roles.map((id) => ({ type: 'ROLE', id })),
});

describe('lifecycle: following submitted pairs to their end in IdentityNow', () => {
  let s: WorkerStack;

  beforeAll(async () => {
    s = await startWorkerStack({
      env: { IDN_STATUS_POLL_MS: '200', ...ADMIN },
      // Nothing ends by itself: each test moves the items it means to.
      sim: { progression: { completeAfterMs: null, rejectRate: 0 } },
    });
  });
  afterAll(async () => {
    await s.close();
  });

  const until = async (
    trackingId: string,
    what: string,
    cond: (r: RequestRecord) => boolean,
  ): Promise<RequestRecord> => {
    let last: RequestRecord | undefined;
    await waitUntil(what, async () => cond((last = await s.status(trackingId))));
    return last as RequestRecord;
  };

  const statusReads = (): number => s.sim.control.records({ operation: 'status' }).calls.length;
  const sweptAfterNow = async (): Promise<void> => {
    const base = statusReads();
    await waitUntil('two more status reads', () => statusReads() >= base + 2);
  };

  it('records IdentityNow states until each pair ends, then closes the request', async () => {
    const id = await s.post({
      requestedFor: ['life-u1', 'life-u1b'],
      requestedItems: [{ type: 'ROLE', id: 'life-role' }],
    });
    const submitted = await s.settled(id);
    expect(submitted.state).toBe('SUBMITTED');
    expect(submitted.closedAt).toBeUndefined();
    const seen = await until(id, 'both pairs seen EXECUTING', (r) =>
      r.pairs.every((p) => p.identityNowState === 'EXECUTING'),
    );
    expect(seen.closedAt).toBeUndefined();

    s.sim.control.setItemState('REQUEST_COMPLETED', { identityId: 'life-u1', itemId: 'life-role' });
    const half = await until(
      id,
      'one completed',
      (r) => r.pairs[0]?.identityNowState === 'REQUEST_COMPLETED',
    );
    expect(half.pairs[1]?.identityNowState).toBe('EXECUTING');
    expect(half.closedAt).toBeUndefined();

    s.sim.control.setItemState('REJECTED', { identityId: 'life-u1b', itemId: 'life-role' });
    const closed = await until(id, 'the request to close', (r) => r.closedAt !== undefined);
    expect(closed.pairs.map((p) => [p.requestedFor, p.outcome, p.identityNowState])).toEqual([
      ['life-u1', 'SUBMITTED', 'REQUEST_COMPLETED'],
      ['life-u1b', 'SUBMITTED', 'REJECTED'],
    ]);
    expect(closed.state).toBe('SUBMITTED');
    expect(Date.parse(closed.closedAt as string)).toBeGreaterThanOrEqual(Date.parse(half.updatedAt));
  });

  it('two roles for one identity in one call cannot be told apart: they share one state (documented)', async () => {
    const id = await s.post(role('life-u6', 'life-a', 'life-b'));
    await s.settled(id);
    await until(id, 'both seen', (r) => r.pairs.every((p) => p.identityNowState === 'EXECUTING'));
    s.sim.control.setItemState('REQUEST_COMPLETED', { identityId: 'life-u6', itemId: 'life-a' });
    // Still open as a group while one of them is (checked after a sweep that read after the change).
    await sweptAfterNow();
    const open = await s.status(id);
    expect(open.pairs.map((p) => p.identityNowState)).toEqual(['EXECUTING', 'EXECUTING']);
    expect(open.closedAt).toBeUndefined();
    s.sim.control.setItemState('REJECTED', { identityId: 'life-u6', itemId: 'life-b' });
    const closed = await until(id, 'the request to close', (r) => r.closedAt !== undefined);
    // Ended differently: both show the failure, and both claims are released (asked again, the
    // completed one is IdentityNow's to refuse as already held).
    expect(closed.pairs.map((p) => p.identityNowState)).toEqual(['REJECTED', 'REJECTED']);
    const again = await s.settled(await s.post(role('life-u6', 'life-a', 'life-b')));
    expect(again.pairs.map((p) => p.outcome)).toEqual(['SUBMITTED', 'SUBMITTED']);
  });

  it('a rejected GRANT releases its claim: a duplicate of it shows FAILED and the same pair asked again is submitted', async () => {
    const holder = await s.post(role('life-u2', 'life-r'));
    expect((await s.settled(holder)).state).toBe('SUBMITTED');
    const dup = await s.post(role('life-u2', 'life-r'));
    const dupRecord = await s.settled(dup);
    expect(dupRecord.pairs[0]).toMatchObject({
      outcome: 'DUPLICATE',
      duplicateOf: holder,
      holderOutcome: 'SUBMITTED',
    });

    s.sim.control.setItemState('REJECTED', { identityId: 'life-u2', itemId: 'life-r' });
    await until(holder, 'the rejection to be seen', (r) => r.pairs[0]?.identityNowState === 'REJECTED');
    // The duplicate now tells its caller to ask again.
    expect((await s.status(dup)).pairs[0]).toMatchObject({ outcome: 'DUPLICATE', holderOutcome: 'FAILED' });

    const again = await s.post(role('life-u2', 'life-r'));
    const r = await s.settled(again);
    expect(r.pairs[0]).toMatchObject({ outcome: 'SUBMITTED' });
    expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', 'life-u2', 'ROLE', 'life-r'))).toBe(2);
  });

  it('a completed GRANT keeps its claim: the same pair asked again is a DUPLICATE and is not sent', async () => {
    const holder = await s.post(role('life-u3', 'life-c'));
    expect((await s.settled(holder)).state).toBe('SUBMITTED');
    s.sim.control.setItemState('REQUEST_COMPLETED', { identityId: 'life-u3', itemId: 'life-c' });
    await until(holder, 'the completion to be seen', (r) => r.closedAt !== undefined);

    const again = await s.post(role('life-u3', 'life-c'));
    const r = await s.settled(again);
    expect(r.state).toBe('DUPLICATE');
    expect(r.pairs[0]).toMatchObject({
      outcome: 'DUPLICATE',
      duplicateOf: holder,
      holderOutcome: 'SUBMITTED',
    });
    // Nothing can change for a request of duplicates: it closes at once.
    await until(again, 'the duplicate request to close', (x) => x.closedAt !== undefined);
    expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', 'life-u3', 'ROLE', 'life-c'))).toBe(1);
  });

  it('a REVOKE that IdentityNow rejects keeps its claim (only GRANT and MODIFY release)', async () => {
    const body = {
      requestedFor: ['life-u4'],
      requestType: 'REVOKE_ACCESS',
      requestedItems: [{ type: 'ROLE', id: 'life-rv', comment: 'leaver' }],
    };
    const holder = await s.post(body);
    expect((await s.settled(holder)).state).toBe('SUBMITTED');
    s.sim.control.setItemState('REJECTED', { identityId: 'life-u4', itemId: 'life-rv' });
    await until(holder, 'the rejection to be seen', (r) => r.pairs[0]?.identityNowState === 'REJECTED');
    const again = await s.settled(await s.post(body));
    expect(again.pairs[0]).toMatchObject({
      outcome: 'DUPLICATE',
      duplicateOf: holder,
      holderOutcome: 'SUBMITTED',
    });
  });

  it('GET /admin/pairs names the holder, its client, since and until when, and its last known state', async () => {
    const holder = await s.post(role('life-u5', 'life-adm'));
    await s.settled(holder);
    await until(holder, 'the pair to be seen', (r) => r.pairs[0]?.identityNowState === 'EXECUTING');
    const auth = basic(ADMIN.ADMIN_USER, ADMIN.ADMIN_PASSWORD);
    const res = await request(s.gw.server)
      .get('/admin/pairs')
      .query({ identity: 'life-u5', type: 'ROLE', id: 'life-adm', requestType: 'GRANT_ACCESS' })
      .set('authorization', auth);
    expect(res.status).toBe(200);
    const [found] = (res.body as { pairs: { holder: Record<string, unknown> }[] }).pairs;
    expect(found?.holder).toMatchObject({
      trackingId: holder,
      clientId: 'dev',
      outcome: 'SUBMITTED',
      identityNowState: 'EXECUTING',
      closedAt: null,
    });
    const until_ = Date.parse(found?.holder.until as string);
    expect(until_).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    expect(Date.parse(found?.holder.since as string)).toBeLessThanOrEqual(Date.now());

    // All request types: REVOKE and MODIFY of the same access are free.
    const all = await request(s.gw.server)
      .get('/admin/pairs')
      .query({ identity: 'life-u5', type: 'ROLE', id: 'life-adm' })
      .set('authorization', auth);
    expect(
      (all.body as { pairs: { requestType: string; holder: unknown }[] }).pairs.map((p) => [
        p.requestType,
        p.holder === null,
      ]),
    ).toEqual([
      ['GRANT_ACCESS', false],
      ['REVOKE_ACCESS', true],
      ['MODIFY_ACCESS', true],
    ]);

    const bad = await request(s.gw.server)
      .get('/admin/pairs')
      .query({ identity: 'x', type: 'GROUP' })
      .set('authorization', auth);
    expect(bad.status).toBe(400);
    expect(
      (await request(s.gw.server).get('/admin/pairs').query({ identity: 'x', type: 'ROLE', id: 'y' })).status,
    ).toBe(401);
  });
});

describe('lifecycle: following ends after LIFECYCLE_MAX_DAYS', () => {
  let s: WorkerStack;

  beforeAll(async () => {
    s = await startWorkerStack({
      // 0.00003 days ≈ 2.6 s.
      env: { IDN_STATUS_POLL_MS: '200', LIFECYCLE_MAX_DAYS: '0.00003' },
      sim: { progression: { completeAfterMs: null, rejectRate: 0 } },
    });
  });
  afterAll(async () => {
    await s.close();
  });

  it('closes a request still open in IdentityNow and stops following it', async () => {
    const id = await s.post(role('max-u1', 'max-r1'));
    await waitUntil(
      'it to be seen',
      async () => (await s.status(id)).pairs[0]?.identityNowState === 'EXECUTING',
    );
    await waitUntil('it to close', async () => (await s.status(id)).closedAt !== undefined);
    const closed = await s.status(id);
    expect(closed.pairs[0]?.identityNowState).toBe('EXECUTING');
    // No longer followed: a later change in IdentityNow is not read.
    s.sim.control.setItemState('REJECTED', { identityId: 'max-u1' });
    const reads = s.sim.control.records({ operation: 'status' }).calls.length;
    const other = await s.post(role('max-u2', 'max-r2'));
    await waitUntil(
      'a sweep for another request',
      async () => (await s.status(other)).pairs[0]?.identityNowState === 'EXECUTING',
    );
    expect(s.sim.control.records({ operation: 'status' }).calls.length).toBeGreaterThan(reads);
    expect(await s.status(id)).toEqual(closed);
  });
});
