import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { roleGrant } from '../support/bodies';
import { startRedis } from '../support/redis-server';
import { createSimulator } from '../../src/simulator';
import { pairKey, startWorkerGateway, startWorkerStack, type WorkerStack } from '../support/worker-stack';
import request from 'supertest';

const grant = roleGrant;

describe('submission worker under IdentityNow faults', () => {
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

  const submitCalls = (): { status: number | null; fault: string | null }[] =>
    s.sim.control.records({ operation: 'submit' }).calls.map((c) => ({ status: c.status, fault: c.fault }));
  const statusCalls = (): number => s.sim.control.records({ operation: 'status' }).calls.length;

  it('5xx then success: reconciles (nothing there), sends again, one creation, two attempts', async () => {
    s.sim.control.script({ operation: 'submit', action: { kind: 'error', status: 503 } });
    const id = await s.post(grant(['f1'], ['r1']));
    const rec = await s.settled(id);
    expect(rec.state).toBe('SUBMITTED');
    expect(rec.attempts).toBe(2);
    expect(submitCalls().map((c) => c.status)).toEqual([503, 202]);
    expect(statusCalls()).toBe(1);
    expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', 'f1', 'ROLE', 'r1'))).toBe(1);
  });

  it('500 after IdentityNow did create it: found by gatewaySubmissionId, not sent again', async () => {
    s.sim.control.script({ operation: 'submit', action: { kind: 'error', status: 500, commit: true } });
    const id = await s.post(grant(['f2'], ['r1', 'r2']));
    const rec = await s.settled(id);
    expect(rec.state).toBe('SUBMITTED');
    expect(submitCalls().map((c) => c.status)).toEqual([500]);
    const created = s.sim.control.records({ identityId: 'f2' }).created;
    expect(created).toHaveLength(2);
    for (const p of rec.pairs) expect(p.accessRequestIds).toEqual([created[0]?.accessRequestId]);
  });

  it('lost response (connection dropped after processing): exactly one creation', async () => {
    s.sim.control.script({ operation: 'submit', action: { kind: 'lost-response' } });
    const id = await s.post(grant(['f3'], ['r1']));
    const rec = await s.settled(id);
    expect(rec.state).toBe('SUBMITTED');
    expect(rec.pairs[0]?.accessRequestIds).toHaveLength(1);
    expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', 'f3', 'ROLE', 'r1'))).toBe(1);
    expect(submitCalls()).toHaveLength(1);
  });

  it('timeout (IdentityNow hangs): ambiguous, reconciled, one creation', async () => {
    s.sim.control.script({ operation: 'submit', action: { kind: 'hang' } });
    const id = await s.post(grant(['f4'], ['r1']));
    const rec = await s.settled(id);
    expect(rec.state).toBe('SUBMITTED');
    expect(rec.attempts).toBe(2);
    expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', 'f4', 'ROLE', 'r1'))).toBe(1);
  });

  it('429 storm: waits Retry-After without using an attempt', async () => {
    s.sim.control.startRateLimitStorm(2, 1);
    const id = await s.post(grant(['f5'], ['r1']));
    const rec = await s.settled(id, 40_000);
    expect(rec.state).toBe('SUBMITTED');
    expect(rec.attempts).toBe(1);
    const calls = submitCalls();
    expect(calls.filter((c) => c.status === 429).length).toBeGreaterThanOrEqual(1);
    expect(calls.filter((c) => c.status === 202)).toHaveLength(1);
    expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', 'f5', 'ROLE', 'r1'))).toBe(1);
  });

  it('400: one call, no status read, FAILED with the reason, claims released', async () => {
    s.sim.control.script({
      operation: 'submit',
      action: { kind: 'error', status: 400, message: 'role r1 does not exist' },
    });
    const id = await s.post(grant(['f6'], ['r1']));
    const rec = await s.settled(id);
    expect(rec.state).toBe('FAILED');
    expect(rec.attempts).toBe(1);
    expect(rec.pairs[0]).toMatchObject({ outcome: 'FAILED' });
    expect(rec.pairs[0]?.reason).toMatch(/^IdentityNow 400\b.*role r1 does not exist/);
    expect(submitCalls()).toHaveLength(1);
    expect(statusCalls()).toBe(0);
    // Released: the same request is accepted and submitted normally.
    const again = await s.post(grant(['f6'], ['r1']));
    expect((await s.settled(again)).state).toBe('SUBMITTED');
    expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', 'f6', 'ROLE', 'r1'))).toBe(1);
  });

  it('401 mid-run: concurrent jobs share one token refresh', async () => {
    // Warm up: a token is cached.
    await s.settled(await s.post(grant(['warm'], ['r0'])));
    const before = s.sim.control.records({ operation: 'token' }).calls.length;
    s.sim.control.expireAllTokens();
    const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => s.post(grant([`t${i}`], ['r1']))));
    for (const id of ids) expect((await s.settled(id)).state).toBe('SUBMITTED');
    const tokenCalls = s.sim.control.records({ operation: 'token' }).calls.length - before;
    expect(tokenCalls).toBe(1);
    for (let i = 0; i < 6; i++)
      expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', `t${i}`, 'ROLE', 'r1'))).toBe(1);
  });
});

describe('submission worker with an API-authority (non-PAT) client', () => {
  it('every pair FAILED with the PAT reason; no retries', async () => {
    const redis = await startRedis();
    const sim = await createSimulator({ reportExisting: false });
    const gw = await startWorkerGateway(
      redis,
      sim,
      {},
      { clientId: 'sim-api-client', clientSecret: 'sim-api-secret' },
    );
    try {
      const res = await request(gw.server)
        .post('/v3/access-requests')
        .set('authorization', 'Bearer dev-secret')
        .send({
          requestedFor: ['a', 'b'],
          requestedItems: [
            { type: 'ENTITLEMENT', id: 'e1' },
            { type: 'ROLE', id: 'r1' },
          ],
        });
      expect(res.status).toBe(202);
      const id = (res.body as { trackingId: string }).trackingId;
      let body:
        { state: string; attempts: number; pairs: { outcome: string; reason?: string }[] } | undefined;
      for (let i = 0; i < 200; i++) {
        const st = await request(gw.server)
          .get(`/v3/access-requests/${id}`)
          .set('authorization', 'Bearer dev-secret');
        body = st.body as typeof body;
        if (body !== undefined && body.state !== 'QUEUED' && body.state !== 'PROCESSING') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(body?.state).toBe('FAILED');
      expect(body?.attempts).toBe(1);
      for (const p of body?.pairs ?? []) {
        expect(p.outcome).toBe('FAILED');
        expect(p.reason).toMatch(/^IdentityNow 403: .*Personal Access Token/);
      }
      expect(sim.control.records({ operation: 'submit' }).calls).toHaveLength(1);
    } finally {
      await gw.close();
      await sim.close();
      await redis.stop();
    }
  });
});
