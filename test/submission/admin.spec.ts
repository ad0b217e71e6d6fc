import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { basic } from '../support/clients';
import { startGateway } from '../support/gateway';
import { startRedis } from '../support/redis-server';
import { waitUntil } from '../support/time';
import { pairKey, startWorkerStack, type WorkerStack } from '../support/worker-stack';

const ADMIN = basic('ops', 'ops-password-1');

describe('POST /admin/requests/{trackingId}/retry', () => {
  let s: WorkerStack;
  beforeAll(async () => {
    s = await startWorkerStack({
      env: { ADMIN_USER: 'ops', ADMIN_PASSWORD: 'ops-password-1', SUBMIT_ATTEMPTS: '3' },
    });
  });
  afterAll(async () => {
    await s.close();
  });
  beforeEach(() => {
    s.sim.control.reset();
  });
  const retry = (id: string, auth?: string): request.Test => {
    const r = request(s.gw.server).post(`/admin/requests/${id}/retry`);
    return auth === undefined ? r : r.set('authorization', auth);
  };
  // The status says FAILED a moment before BullMQ has failed the job, and only a failed job is re-driven.
  const retryOnceFailed = async (id: string): Promise<request.Response> => {
    await waitUntil(
      'the job to fail',
      async () => (await s.redis.client().zscore('arg:submissions:failed', id)) !== null,
    );
    return retry(id, ADMIN);
  };

  it('needs admin credentials; unknown ids are 404; a job that has not failed is 409', async () => {
    const id = await s.post({ requestedFor: ['adm0'], requestedItems: [{ type: 'ROLE', id: 'r' }] });
    expect((await s.settled(id)).state).toBe('SUBMITTED');
    const none = await retry(id);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Basic /);
    expect(none.body).toMatchObject({
      detailCode: expect.any(String),
      messages: [expect.objectContaining({ text: expect.any(String) })],
    });
    expect((await retry(id, basic('ops', 'wrong-password'))).status).toBe(401);
    expect((await retry(id, `Bearer dev-secret`)).status).toBe(401);
    const unknown = await retry('00000000-0000-4000-8000-000000000000', ADMIN);
    expect(unknown.status).toBe(404);
    const done = await retry(id, ADMIN);
    expect(done.status).toBe(409);
    expect(done.body.messages[0].text).toMatch(/completed; only failed requests can be re-driven/);
  });

  it('re-drives a permanently failed request: its released pairs are claimed and submitted', async () => {
    s.sim.control.script({
      operation: 'submit',
      action: { kind: 'error', status: 404, message: 'no such role' },
    });
    const id = await s.post({ requestedFor: ['adm1'], requestedItems: [{ type: 'ROLE', id: 'r' }] });
    const failed = await s.settled(id);
    expect(failed.state).toBe('FAILED');
    const res = await retryOnceFailed(id);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toEqual({ trackingId: id, state: 'QUEUED', statusUrl: `/v3/access-requests/${id}` });
    const rec = await s.settled(id);
    expect(rec.state).toBe('SUBMITTED');
    expect(rec.attempts).toBe(2);
    expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', 'adm1', 'ROLE', 'r'))).toBe(1);
  });

  it('out of attempts with an unknown outcome: the claim is kept, and the re-drive reconciles first', async () => {
    // IdentityNow creates it but answers 500; every status read then fails until attempts run out.
    s.sim.control.script({ operation: 'submit', action: { kind: 'error', status: 500, commit: true } });
    s.sim.control.script({ operation: 'status', count: 10, action: { kind: 'error', status: 503 } });
    const id = await s.post({ requestedFor: ['adm2'], requestedItems: [{ type: 'ROLE', id: 'r' }] });
    const failed = await s.settled(id);
    expect(failed.state).toBe('FAILED');
    expect(failed.attempts).toBe(3);
    expect(failed.pairs[0]?.reason).toMatch(/outcome is unknown, so the pair stays claimed/);
    // Still claimed: a new request for the same pair is a duplicate of the failed one, not a second creation.
    const other = await s.post({ requestedFor: ['adm2'], requestedItems: [{ type: 'ROLE', id: 'r' }] });
    expect((await s.settled(other)).pairs[0]).toMatchObject({
      outcome: 'DUPLICATE',
      duplicateOf: id,
      holderOutcome: 'FAILED',
    });

    s.sim.control.clearScript();
    expect((await retryOnceFailed(id)).status).toBe(202);
    const rec = await s.settled(id);
    expect(rec.state).toBe('SUBMITTED');
    expect(rec.attempts).toBe(4);
    expect(rec.pairs[0]?.accessRequestIds).toHaveLength(1);
    expect(s.sim.control.records({ operation: 'submit' }).calls).toHaveLength(1);
    expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', 'adm2', 'ROLE', 'r'))).toBe(1);
    // The duplicate's status now shows its holder's new outcome.
    const dup = await s.status(other);
    expect(dup.pairs[0]).toMatchObject({ outcome: 'DUPLICATE', holderOutcome: 'SUBMITTED' });
  });
});

describe('admin endpoints without ADMIN_USER', () => {
  it('answer 404', async () => {
    const redis = await startRedis();
    const gw = await startGateway({ REDIS_URL: redis.url });
    try {
      const res = await request(gw.server)
        .post('/admin/requests/00000000-0000-4000-8000-000000000000/retry')
        .set('authorization', ADMIN);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({
        messages: [expect.objectContaining({ text: expect.stringMatching(/ADMIN_USER/) })],
      });
    } finally {
      await gw.close();
      await redis.stop();
    }
  });
});
