import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type RunningSimulator } from '../../src/simulator';
import type { RequestRecord } from '../../src/access-request/request-record';
import { AUTH } from '../support/clients';
import { startGateway, type TestGateway } from '../support/gateway';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process';
import { startRedis, type PrivateRedis } from '../support/redis-server';
import { FAST_ENV, pairKey } from '../support/worker-stack';

/**
 * Worker PROCESSES (the built `dist/main.js`, ROLE=worker) against one Redis and one simulator; the
 * API runs in this process. `npm test` builds first.
 */
describe('submission workers in separate processes', () => {
  let redis: PrivateRedis;
  let sim: RunningSimulator;
  let api: TestGateway;
  let workers: GatewayProcess[] = [];

  const workerEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
    ROLE: 'worker',
    REDIS_URL: redis.url,
    IDN_BASE_URL: sim.url,
    IDN_CLIENT_ID: sim.credentials.clientId,
    IDN_CLIENT_SECRET: sim.credentials.clientSecret,
    ...FAST_ENV,
    WORKER_LOCK_DURATION_MS: '4000',
    ...extra,
  });

  const post = async (body: object): Promise<string> => {
    const res = await request(api.server).post('/v3/access-requests').set('authorization', AUTH).send(body);
    expect(res.status).toBe(202);
    return (res.body as { trackingId: string }).trackingId;
  };
  const settled = async (id: string, timeoutMs = 60_000): Promise<RequestRecord> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const res = await request(api.server).get(`/v3/access-requests/${id}`).set('authorization', AUTH);
      const rec = res.body as RequestRecord;
      if (rec.state !== 'QUEUED' && rec.state !== 'PROCESSING') return rec;
      if (Date.now() > deadline) throw new Error(`${id} still ${rec.state}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const waitFor = async (what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  beforeAll(async () => {
    redis = await startRedis();
    sim = await createSimulator({ reportExisting: false });
    api = await startGateway({ REDIS_URL: redis.url, ROLE: 'api' });
  });
  afterEach(async () => {
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    workers = [];
    sim.control.reset();
    await redis.client().flushall();
  });
  afterAll(async () => {
    await api.close();
    await sim.close();
    await redis.stop();
  });

  it('concurrent overlapping requests: each pair reaches IdentityNow exactly once', async () => {
    workers = await Promise.all([startGatewayProcess(workerEnv()), startGatewayProcess(workerEnv())]);
    const people = ['o1', 'o2', 'o3', 'o4', 'o5'];
    const items = ['i1', 'i2', 'i3', 'i4', 'i5'];
    const bodies = Array.from({ length: 30 }, (_, k) => ({
      requestedFor: [people[k % 5] as string, people[(k * 2 + 1) % 5] as string],
      requestedItems: [items[k % 5], items[(k + 1) % 5], items[(k * 3) % 5]].map((id) => ({
        type: 'ROLE',
        id,
      })),
    }));
    const ids = await Promise.all(bodies.map((b) => post(b)));
    const records = [];
    for (const id of ids) records.push(await settled(id));
    const submittedBy = new Map<string, string[]>();
    for (const rec of records) {
      expect(['SUBMITTED', 'DUPLICATE']).toContain(rec.state);
      for (const p of rec.pairs) {
        const key = pairKey(p.requestType, p.requestedFor, p.type, p.id);
        if (p.outcome === 'SUBMITTED')
          submittedBy.set(key, [...(submittedBy.get(key) ?? []), rec.trackingId]);
        else {
          expect(p.outcome).toBe('DUPLICATE');
          expect(ids).toContain(p.duplicateOf);
        }
      }
    }
    const counts = sim.control.records().pairCounts;
    expect(Object.keys(counts).sort()).toEqual([...submittedBy.keys()].sort());
    for (const [key, holders] of submittedBy) {
      expect(holders).toHaveLength(1);
      expect(counts[key]).toBe(1);
    }
  });

  it('two processes share the budget: no window holds more than the budget, zero 429s', async () => {
    const budget = 12;
    const windowMs = 2_000;
    // The simulator allows 15 per 2 s: our budget is below it, so no call may get a 429.
    sim.control.setRateLimit({ max: 15, windowMs });
    const env = workerEnv({ IDN_RATE_LIMIT_MAX: String(budget), IDN_RATE_LIMIT_WINDOW_MS: String(windowMs) });
    workers = await Promise.all([startGatewayProcess(env), startGatewayProcess(env)]);
    const ids = await Promise.all(
      Array.from({ length: 40 }, (_, k) =>
        // Request metadata of their own: no two share a call, so each makes one call of the budget.
        post({
          requestedFor: [`rl${k}`],
          requestedItems: [{ type: 'ROLE', id: 'r' }],
          clientMetadata: { n: String(k) },
        }),
      ),
    );
    for (const id of ids) expect((await settled(id)).state).toBe('SUBMITTED');
    const calls = sim.control
      .records()
      .calls.filter((c) => c.operation === 'submit' || c.operation === 'status')
      .map((c) => Date.parse(c.time))
      .sort((a, b) => a - b);
    expect(calls).toHaveLength(40);
    expect(sim.control.records().calls.filter((c) => c.status === 429)).toHaveLength(0);
    let busiest = 0;
    for (let i = 0; i < calls.length; i++) {
      const start = calls[i] as number;
      const inWindow = calls.filter((t) => t >= start && t < start + windowMs).length;
      busiest = Math.max(busiest, inWindow);
    }
    expect(busiest).toBeLessThanOrEqual(budget);
    // With a backlog the budget is used: some window is full.
    expect(busiest).toBe(budget);
  });

  it('kill -9 of every worker mid-flight: after restart every pair exactly once, nothing lost', async () => {
    workers = await Promise.all([startGatewayProcess(workerEnv()), startGatewayProcess(workerEnv())]);
    // Slow answers keep submissions in flight when the workers die.
    sim.control.configureFaults({ latency: { minMs: 1_500, maxMs: 1_500 } });
    const ids = await Promise.all(
      Array.from({ length: 8 }, (_, k) =>
        post({
          requestedFor: [`k${k}`],
          requestedItems: [
            { type: 'ROLE', id: 'a' },
            { type: 'ACCESS_PROFILE', id: 'b' },
          ],
        }),
      ),
    );
    // Coalesced: the eight requests travel in one or two calls.
    await waitFor(
      'submissions in flight',
      () => sim.control.records({ operation: 'submit' }).calls.length >= 1,
    );
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    sim.control.configureFaults({ latency: null });
    workers = await Promise.all([startGatewayProcess(workerEnv()), startGatewayProcess(workerEnv())]);
    for (const id of ids) {
      const rec = await settled(id);
      expect(rec.state).toBe('SUBMITTED');
    }
    // The restarted workers found in-flight marks and asked IdentityNow before sending again.
    expect(sim.control.records({ operation: 'status' }).calls.length).toBeGreaterThan(0);
    for (let k = 0; k < 8; k++) {
      expect(sim.control.pairCount(pairKey('GRANT_ACCESS', `k${k}`, 'ROLE', 'a'))).toBe(1);
      expect(sim.control.pairCount(pairKey('GRANT_ACCESS', `k${k}`, 'ACCESS_PROFILE', 'b'))).toBe(1);
    }
  });

  it('SIGTERM lets the in-flight submission finish, then exits 0', async () => {
    workers = [await startGatewayProcess(workerEnv({ SHUTDOWN_GRACE_MS: '10000' }))];
    sim.control.configureFaults({ latency: { minMs: 1_000, maxMs: 1_000 } });
    const id = await post({ requestedFor: ['term'], requestedItems: [{ type: 'ROLE', id: 'r' }] });
    await waitFor(
      'the submission in flight',
      () => sim.control.records({ operation: 'submit' }).calls.length >= 1,
    );
    const code = await workers[0]?.stop('SIGTERM');
    expect(code).toBe(0);
    const res = await request(api.server).get(`/v3/access-requests/${id}`).set('authorization', AUTH);
    expect((res.body as RequestRecord).state).toBe('SUBMITTED');
    expect(sim.control.pairCount(pairKey('GRANT_ACCESS', 'term', 'ROLE', 'r'))).toBe(1);
  });
});
