import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grant } from '../support/bodies';
import { AUTH } from '../support/clients';
import { startGateway, type TestGateway } from '../support/gateway';
import { countJobs } from '../support/queue';
import { startRedis, type PrivateRedis } from '../support/redis-server';
import { sleep } from '../support/time';

describe('Redis unreachable: 503 with Retry-After, never a hang, never a 202', () => {
  let redis: PrivateRedis;
  let gw: TestGateway;
  beforeAll(async () => {
    redis = await startRedis();
    gw = await startGateway({ REDIS_URL: redis.url, QUEUE_PREFIX: 'out' });
  });
  afterAll(async () => {
    await gw.close();
    await redis.stop();
  });

  const submit = (key?: string) => {
    const r = request(gw.server).post('/v3/access-requests').set('authorization', AUTH).timeout(5_000);
    if (key !== undefined) void r.set('idempotency-key', key);
    return r.send(grant());
  };

  it('answers 503 while Redis is down, recovers when it is back', async () => {
    expect((await submit()).status).toBe(202);
    await redis.kill();

    for (const key of [undefined, 'during-outage']) {
      const res = await submit(key);
      expect(res.status).toBe(503);
      expect(res.body.detailCode).toBe('503 Service Unavailable');
      expect(res.body.messages[0].text).toMatch(/nothing was accepted/);
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    const live = await request(gw.server).get('/health/live');
    expect(live.status).toBe(200);
    const ready = await request(gw.server).get('/health/ready').timeout(5_000);
    expect(ready.status).toBe(503);
    expect(ready.body.checks.redis).toMatch(/unreachable/);

    await redis.restart();
    // ioredis reconnects with backoff; bounded wait for readiness to come back.
    let readyAgain = 0;
    for (let i = 0; i < 50 && readyAgain !== 200; i++) {
      await sleep(100);
      readyAgain = (await request(gw.server).get('/health/ready')).status;
    }
    expect(readyAgain).toBe(200);
    expect((await submit('during-outage')).status).toBe(202);
  });

  it('answers 503 within a second when Redis is paused (not down), and says the truth about what may have landed', async () => {
    const before = await countJobs(redis.url, 'out');
    redis.pause();
    try {
      const unconfirmed = await submit();
      expect(unconfirmed.status).toBe(503);
      expect(unconfirmed.body.messages[0].text).toMatch(/may still have been queued/);
      expect(Number(unconfirmed.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      const keyed = await submit('while-paused');
      expect(keyed.status).toBe(503);
      const status = await request(gw.server)
        .get(`/v3/access-requests/${crypto.randomUUID()}`)
        .set('authorization', AUTH)
        .timeout(5_000);
      expect(status.status).toBe(503);
    } finally {
      redis.resume();
    }
    // The stalled enqueue was executed once Redis came back: exactly what the 503 warned about.
    let after = before;
    for (let i = 0; i < 50 && after === before; i++) {
      await sleep(100);
      after = await countJobs(redis.url, 'out');
    }
    expect(after).toBe(before + 1);
  });
});
