import { Queue } from 'bullmq';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fullJitterDelay } from '../../src/submission/backoff';
import { pairKey, startWorkerStack, type WorkerStack } from '../support/worker-stack';

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
      gatewaySubmissionId: expect.stringMatching(/^c-[0-9a-f-]{36}$/),
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
    // Each identity carries its own items (requestedForWithRequestedItems): b's four pairs in one call.
    const submits = s.sim.control.records({ operation: 'submit' }).calls.filter((c) => c.status === 202);
    expect(submits).toHaveLength(2);
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

  it('a job whose data is not valid fails with a clear reason; the worker keeps going', async () => {
    const u = new URL(s.redis.url);
    const queue = new Queue('submissions', {
      connection: { host: u.hostname, port: Number(u.port) },
      prefix: 'arg',
    });
    try {
      const trackingId = '11111111-2222-4333-8444-555555555555';
      await queue.add(
        'submit',
        {
          v: 1,
          trackingId,
          clientId: 'dev',
          acceptedAt: new Date().toISOString(),
          request: {
            requestType: 'REVOKE_ACCESS',
            requestedFor: ['a', 'b'],
            requestedItems: [{ type: 'ROLE', id: 'r' }],
          },
        },
        { jobId: trackingId, attempts: 5 },
      );
      await queue.add('submit', { v: 9 }, { jobId: 'garbage', attempts: 5 });
      const deadline = Date.now() + 20_000;
      let job = await queue.getJob(trackingId);
      while ((await job?.getState()) !== 'failed' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        job = await queue.getJob(trackingId);
      }
      // Re-read: the state can turn 'failed' between reading the job and asking for its state.
      job = await queue.getJob(trackingId);
      expect(job?.failedReason).toMatch(
        /job request is invalid: requestedFor must contain exactly one identity/,
      );
      expect(job?.attemptsMade).toBe(1);
      const rec = await s.status(trackingId);
      expect(rec.state).toBe('FAILED');
      let garbage = await queue.getJob('garbage');
      while ((await garbage?.getState()) !== 'failed' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        garbage = await queue.getJob('garbage');
      }
      garbage = await queue.getJob('garbage');
      expect(garbage?.failedReason).toBe('unsupported job data version 9');
      expect(s.sim.control.records({ operation: 'submit' }).calls).toHaveLength(0);
      // Still consuming.
      expect((await s.settled(await s.post(roles(['after-bad'], ['r'])))).state).toBe('SUBMITTED');
    } finally {
      await queue.close();
    }
  });

  it('readiness includes the running submission worker', async () => {
    const res = await request(s.gw.server).get('/health/ready');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ready', checks: { workers: 'ok' } });
  });

  it('full-jitter backoff stays within [0, min(max, base * 2^(attempt-1))]', () => {
    expect(fullJitterDelay(1, 1000, 300_000, () => 0.999999)).toBe(1000);
    expect(fullJitterDelay(4, 1000, 300_000, () => 0.999999)).toBe(8000);
    expect(fullJitterDelay(30, 1000, 300_000, () => 0.999999)).toBe(300_000);
    expect(fullJitterDelay(3, 1000, 300_000, () => 0)).toBe(0);
    for (let i = 0; i < 200; i++) {
      const d = fullJitterDelay(5, 100, 1000);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(1000);
    }
  });
});
