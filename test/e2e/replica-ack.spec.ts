import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grant } from '../support/bodies';
import { AUTH } from '../support/clients';
import { startGateway, texts, type TestGateway } from '../support/gateway';
import { startRedis, type PrivateRedis } from '../support/redis-server';
import { waitUntil } from '../support/time';

/**
 * REDIS_MIN_REPLICAS_ACK=1 on a primary with one replica: a 202 only once the replica has the job
 * (Redis WAIT); otherwise the "may have been queued" 503, or "nothing was accepted" while no replica
 * is in sync at all. Readiness reports the replicas.
 */
describe('REDIS_MIN_REPLICAS_ACK=1: a 202 only once a replica has the job', () => {
  let primary: PrivateRedis;
  let replica: PrivateRedis;
  let gw: TestGateway;

  const inSync = async (): Promise<boolean> => {
    const text = await primary.client().info('replication');
    return /slave0:.*state=online/.test(text);
  };

  beforeAll(async () => {
    primary = await startRedis();
    replica = await startRedis({ extraArgs: ['--replicaof', '127.0.0.1', String(primary.port)] });
    await waitUntil('replica in sync', inSync);
    gw = await startGateway({ REDIS_URL: primary.url, QUEUE_PREFIX: 'ack', REDIS_MIN_REPLICAS_ACK: '1' });
  });
  afterAll(async () => {
    await gw.close();
    await replica.stop();
    await primary.stop();
  });

  const submit = (key?: string, body: Record<string, unknown> = grant()) => {
    const r = request(gw.server).post('/v3/access-requests').set('authorization', AUTH).timeout(5_000);
    if (key !== undefined) void r.set('idempotency-key', key);
    return r.send(body);
  };
  const ready = () => request(gw.server).get('/health/ready').timeout(5_000);

  it('202 with the replica in sync: the job is already on the replica; readiness says so', async () => {
    const res = await submit();
    expect(res.status).toBe(202);
    const trackingId = (res.body as { trackingId: string }).trackingId;
    expect(await replica.client().exists(`ack:submissions:${trackingId}`)).toBe(1);
    const r = await ready();
    expect(r.status).toBe(200);
    expect(r.body.checks.redisReplicas).toBe('ok (1 replica in sync, REDIS_MIN_REPLICAS_ACK 1)');
  });

  it('replica stalled: 503 "may have been queued"; the Idempotency-Key replays the 202 once it caught up', async () => {
    const body = grant();
    replica.pause();
    let res;
    try {
      res = await submit('stalled-replica', body);
    } finally {
      replica.resume();
    }
    expect(res.status).toBe(503);
    const [text = ''] = texts(res.body);
    expect(text).toMatch(/may still have been queued as \/v3\/access-requests\/[0-9a-f-]{36}/);
    const trackingId = /access-requests\/([0-9a-f-]{36})/.exec(text)?.[1] ?? '';
    let replay = await submit('stalled-replica', body);
    await waitUntil('the key settles', async () => {
      replay = await submit('stalled-replica', body);
      return replay.status !== 409;
    });
    expect(replay.status).toBe(202);
    expect((replay.body as { trackingId: string }).trackingId).toBe(trackingId);
    expect(await replica.client().exists(`ack:submissions:${trackingId}`)).toBe(1);
  });

  it('no replica at all: "nothing was accepted" and not ready, until it is back', async () => {
    await replica.kill();
    await waitUntil('primary sees no replica', async () => !(await inSync()));
    // The first enqueue learns it from WAIT (its job is on the primary only); the next is refused up front.
    expect((await submit()).status).toBe(503);
    const refused = await submit();
    expect(refused.status).toBe(503);
    expect(texts(refused.body)[0]).toMatch(/fewer Redis replicas are in sync \(0\).*nothing was accepted/);
    const r = await ready();
    expect(r.status).toBe(503);
    expect(r.body.checks.redisReplicas).toMatch(
      /^0 replicas in sync, REDIS_MIN_REPLICAS_ACK 1: requests are refused/,
    );

    await replica.restart();
    await waitUntil('replica in sync again', inSync);
    expect((await ready()).status).toBe(200);
    expect((await submit()).status).toBe(202);
  });
});
