import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { upstreamMessage } from '../../src/identitynow/identitynow.errors';
import { roleGrant } from '../support/bodies';
import { AUTH, basic } from '../support/clients';
import { startFaultSystem, type FaultSystem } from '../support/fault-system';
import { sleep, waitUntil } from '../support/time';
import { pairKey, startWorkerStack, type WorkerStack } from '../support/worker-stack';

/**
 * The seven ways a review found to send one request twice (issue #10), each reproduced against an
 * IdentityNow that creates late, lists later, and fails the reads meant to check it.
 */
const ADMIN = basic('ops', 'ops-password-1');
const ADMIN_ENV = { ADMIN_USER: 'ops', ADMIN_PASSWORD: 'ops-password-1' };
const submits = (s: { sim: WorkerStack['sim'] }): number =>
  s.sim.control.records({ operation: 'submit' }).calls.length;

describe('never twice: in-process worker', () => {
  let s: WorkerStack | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('#3 a status read right after a timeout proves nothing: IdentityNow created late and listed later', async () => {
    s = await startWorkerStack({ env: { IDN_TIMEOUT_MS: '1000', RECONCILE_SETTLE_MS: '3000' } });
    // Created 1.3 s after the call (the worker gave up at 1 s), listed 1.2 s after that.
    s.sim.control.script({
      operation: 'submit',
      action: { kind: 'create-late', afterMs: 1_300, statusLagMs: 1_200 },
    });
    const id = await s.post(roleGrant(['nt3'], ['r']));
    const rec = await s.settled(id, 30_000);
    expect(rec.state).toBe('SUBMITTED');
    expect(rec.pairs[0]?.accessRequestIds).toHaveLength(1);
    expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', 'nt3', 'ROLE', 'r'))).toBe(1);
    expect(submits(s)).toBe(1);
  });

  it('#2 a status read that fails for good (404, then refused credentials) keeps the claim and never resends; the re-drive checks first', async () => {
    s = await startWorkerStack({ env: { ...ADMIN_ENV, SUBMIT_ATTEMPTS: '3' } });
    // A token is cached first, so the token endpoint is only asked again during the check.
    expect((await s.settled(await s.post(roleGrant(['nt2-warm'], ['r'])))).state).toBe('SUBMITTED');
    s.sim.control.clearRecords();
    s.sim.control.script({ operation: 'submit', action: { kind: 'error', status: 500, commit: true } });
    s.sim.control.script({ operation: 'status', count: 1, action: { kind: 'error', status: 404 } });
    // Then the token expires and the token endpoint refuses the credentials during the check.
    s.sim.control.script({ operation: 'status', count: 1, action: { kind: 'error', status: 401 } });
    s.sim.control.script({ operation: 'token', count: 20, action: { kind: 'error', status: 400 } });
    const id = await s.post(roleGrant(['nt2'], ['r']));
    const failed = await s.settled(id);
    expect(failed.state).toBe('FAILED');
    expect(failed.pairs[0]?.reason).toMatch(/outcome is unknown, so the pair stays claimed/);
    // Still claimed: the caller told FAILED cannot create it a second time by asking again.
    const again = await s.post(roleGrant(['nt2'], ['r']));
    expect((await s.settled(again)).pairs[0]).toMatchObject({ outcome: 'DUPLICATE', duplicateOf: id });
    s.sim.control.clearScript();
    const res = await request(s.gw.server).post(`/admin/requests/${id}/retry`).set('authorization', ADMIN);
    expect(res.status).toBe(202);
    const rec = await s.settled(id);
    expect(rec.state).toBe('SUBMITTED');
    expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', 'nt2', 'ROLE', 'r'))).toBe(1);
    expect(submits(s)).toBe(1);
  });

  it('#4 progress lives as long as the failed job; the dashboard retry is a real re-drive; without progress a re-drive is refused', async () => {
    s = await startWorkerStack({
      env: { ...ADMIN_ENV, SUBMIT_ATTEMPTS: '2', FAILED_JOB_RETENTION_SECONDS: '200000' },
    });
    s.sim.control.script({ operation: 'submit', action: { kind: 'error', status: 500, commit: true } });
    s.sim.control.script({ operation: 'status', count: 5, action: { kind: 'error', status: 503 } });
    const id = await s.post(roleGrant(['nt4'], ['r']));
    expect((await s.settled(id)).state).toBe('FAILED');
    await waitUntil(
      'the job to fail',
      async () => (await s?.redis.client().zscore('arg:submissions:failed', id)) !== null,
    );
    expect(await s.redis.client().ttl(`arg:req:${id}`)).toBeGreaterThan(86_400);
    s.sim.control.clearScript();
    // Bull Board's own retry button: the job runs again and re-drives (reconciles, finds it, done).
    const board = await request(s.gw.server)
      .put(`/admin/queues/api/queues/submissions/${id}/retry`)
      .set('authorization', ADMIN);
    expect([200, 204]).toContain(board.status);
    // Bull Board sets no re-drive marker, so the status says FAILED until a worker takes the job.
    await waitUntil('the re-drive', async () => (await s?.status(id))?.state === 'SUBMITTED');
    expect(submits(s)).toBe(1);
    expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', 'nt4', 'ROLE', 'r'))).toBe(1);

    // A failed request whose progress is gone cannot be re-planned from scratch: 409.
    s.sim.control.script({ operation: 'submit', action: { kind: 'error', status: 404 } });
    const lost = await s.post(roleGrant(['nt4b'], ['r']));
    expect((await s.settled(lost)).state).toBe('FAILED');
    await waitUntil(
      'the job to fail',
      async () => (await s?.redis.client().zscore('arg:submissions:failed', lost)) !== null,
    );
    await s.redis.client().del(`arg:req:${lost}`);
    const refused = await request(s.gw.server)
      .post(`/admin/requests/${lost}/retry`)
      .set('authorization', ADMIN);
    expect(refused.status).toBe(409);
    expect(refused.body.messages[0].text).toMatch(/no stored progress/);
  });

  it('#5 every attempt re-checks its claims: a pair another request holds now is its duplicate, sent once', async () => {
    s = await startWorkerStack({ env: { DEDUPE_WINDOW_SECONDS: '1' } });
    // The first call meets a 429: everything waits 3 s, longer than the claim lives.
    s.sim.control.script({
      operation: 'submit',
      action: { kind: 'error', status: 429, retryAfterSeconds: 3 },
    });
    const a = await s.post(roleGrant(['nt5'], ['r']));
    await waitUntil('the 429', () => submits(s as WorkerStack) === 1);
    await sleep(1_500);
    const b = await s.post(roleGrant(['nt5'], ['r']));
    const [ra, rb] = [await s.settled(a, 30_000), await s.settled(b, 30_000)];
    expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', 'nt5', 'ROLE', 'r'))).toBe(1);
    const outcomes = [ra.pairs[0]?.outcome, rb.pairs[0]?.outcome].sort();
    expect(outcomes).toEqual(['DUPLICATE', 'SUBMITTED']);
    const dup = ra.pairs[0]?.outcome === 'DUPLICATE' ? ra : rb;
    expect(dup.pairs[0]?.duplicateOf).toBe(dup === ra ? b : a);
  });

  it('#5 a GRANT waiting out a 429 is not sent once a later REVOKE of the same access ended its claim', async () => {
    s = await startWorkerStack();
    s.sim.control.script({
      operation: 'submit',
      action: { kind: 'error', status: 429, retryAfterSeconds: 2 },
    });
    const grant = await s.post(roleGrant(['nt5r'], ['r']));
    await waitUntil('the 429', () => submits(s as WorkerStack) === 1);
    const revoke = await s.post({
      requestType: 'REVOKE_ACCESS',
      requestedFor: ['nt5r'],
      requestedItems: [{ type: 'ROLE', id: 'r', comment: 'leaver' }],
    });
    expect((await s.settled(revoke, 30_000)).state).toBe('SUBMITTED');
    const g = await s.settled(grant, 30_000);
    expect(g.pairs[0]).toMatchObject({ outcome: 'FAILED', reason: expect.stringMatching(/ended its claim/) });
    expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', 'nt5r', 'ROLE', 'r'))).toBe(0);
    expect(s.sim.control.pairCount(pairKey('REVOKE_ACCESS', 'nt5r', 'ROLE', 'r'))).toBe(1);
  });

  it('#6 an error page of hundreds of KB is cut and scanned in bounded time (no regex over unbounded input)', () => {
    // Every '<' starts a scan that never finds its '>': quadratic for an unbounded input.
    const page = '<'.repeat(600_000);
    const message = upstreamMessage(page);
    expect(message.length).toBeLessThanOrEqual(600);
  });
});

describe('never twice: worker processes', () => {
  let f: FaultSystem | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });
  const post = async (body: object): Promise<string> => {
    const res = await fetch(`${(f as FaultSystem).apis[0]?.url ?? ''}/v3/access-requests`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: AUTH },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { trackingId: string }).trackingId;
  };
  const state = async (id: string): Promise<{ state: string; pairs: { outcome: string }[] }> => {
    const res = await fetch(`${(f as FaultSystem).apis[0]?.url ?? ''}/v3/access-requests/${id}`, {
      headers: { authorization: AUTH },
    });
    return (await res.json()) as { state: string; pairs: { outcome: string }[] };
  };
  const settled = async (id: string): Promise<string> => {
    let last = '';
    await waitUntil(
      `request ${id} to settle`,
      async () => {
        last = (await state(id)).state;
        return last !== 'QUEUED' && last !== 'PROCESSING';
      },
      60_000,
    );
    return last;
  };

  it('#1 a call found in flight whose status read then fails is never sent again without a successful read', async () => {
    f = await startFaultSystem({ workerEnv: { IDN_TIMEOUT_MS: '1500', WORKER_LOCK_DURATION_MS: '2000' } });
    const sim = f.sim.control;
    sim.script({ operation: 'submit', action: { kind: 'create-late', afterMs: 200 } });
    const id = await post(roleGrant(['nt1'], ['r']));
    await waitUntil('the late creation', () => sim.records().created.length === 1);
    await f.workers[0]?.stop('SIGKILL');
    // The next worker finds the call in flight; its first status reads fail, then one succeeds.
    sim.script({ operation: 'status', count: 3, action: { kind: 'error', status: 503 } });
    await f.startWorker();
    expect(await settled(id)).toBe('SUBMITTED');
    expect(sim.pairCount(pairKey('GRANT_ACCESS', 'nt1', 'ROLE', 'r'))).toBe(1);
    expect(sim.records({ operation: 'submit' }).calls).toHaveLength(1);
  });

  it('#6 a worker that lost its job lock (a stalled process) sends nothing when it wakes up', async () => {
    // A budget of one call per 3 s: the call waits for budget, ready to send, when its worker freezes.
    f = await startFaultSystem({
      workerEnv: {
        IDN_TIMEOUT_MS: '2000',
        WORKER_LOCK_DURATION_MS: '2000',
        IDN_RATE_LIMIT_MAX: '1',
        IDN_RATE_LIMIT_WINDOW_MS: '3000',
      },
    });
    const sim = f.sim.control;
    expect(await settled(await post(roleGrant(['nt6-warm'], ['r'])))).toBe('SUBMITTED');
    const id = await post(roleGrant(['nt6'], ['r']));
    await sleep(500);
    const first = f.workers[0];
    first?.proc.kill('SIGSTOP');
    await f.startWorker();
    await waitUntil(
      'the second worker to submit',
      () => sim.pairCount(pairKey('GRANT_ACCESS', 'nt6', 'ROLE', 'r')) === 1,
      60_000,
    );
    first?.proc.kill('SIGCONT');
    expect(await settled(id)).toBe('SUBMITTED');
    // Long enough for the woken worker to get budget and, if it were allowed, to send.
    await sleep(7_000);
    expect(sim.pairCount(pairKey('GRANT_ACCESS', 'nt6', 'ROLE', 'r'))).toBe(1);
  });

  it('#7 a re-drive writes no status: what the worker wrote last is what the status shows', async () => {
    f = await startFaultSystem({ apiEnv: ADMIN_ENV, workerEnv: { SUBMIT_ATTEMPTS: '1' } });
    f.sim.control.script({ operation: 'submit', action: { kind: 'error', status: 404 } });
    const id = await post(roleGrant(['nt7'], ['r']));
    expect(await settled(id)).toBe('FAILED');
    await waitUntil(
      'the job to fail',
      async () => (await f?.redis.client().zscore('arg:submissions:failed', id)) !== null,
    );
    await f.workers[0]?.stop('SIGKILL');
    const monitor = f.redis.client().duplicate();
    const writes: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      writes.push(args.join(' '));
    });
    await monitor.monitor();
    const res = await fetch(`${f.apis[0]?.url ?? ''}/admin/requests/${id}/retry`, {
      method: 'POST',
      headers: { authorization: ADMIN },
    });
    expect(res.status).toBe(202);
    await sleep(200);
    monitor.disconnect();
    // The status (request record) is left alone: only the re-drive marker and BullMQ's own job moves.
    const statusWrites = writes.filter((w) => /^(set|hset|hmset|del) arg:(request|req):/i.test(w));
    expect(statusWrites.every((w) => new RegExp(`^hset arg:req:${id} phase redrive$`, 'i').test(w))).toBe(
      true,
    );
    await f.startWorker();
    expect(await settled(id)).toBe('SUBMITTED');
  });
});
