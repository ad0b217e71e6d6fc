import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grant } from '../support/bodies';
import { SIGNING_SECRET, writeClientsFile } from '../support/clients';
import { startGateway, type TestGateway } from '../support/gateway';
import { countJobs } from '../support/queue';
import { startRedis, type PrivateRedis } from '../support/redis-server';

/**
 * Concurrent submits share one quota script call per client (quota.service.ts batches a turn's
 * submits); the decisions must still be exact: exactly `requestsPerMinute` accepted, per client.
 */
describe('quota under a concurrent burst', () => {
  let redis: PrivateRedis;
  let gw: TestGateway;
  const clientsFile = writeClientsFile([
    { id: 'five', secret: 'five-secret-123456', requestsPerMinute: 5 },
    { id: 'two', secret: 'two-secret-1234567', requestsPerMinute: 2 },
    { id: 'free', secret: 'free-secret-123456' },
  ]);

  beforeAll(async () => {
    redis = await startRedis();
    gw = await startGateway({
      REDIS_URL: redis.url,
      QUEUE_PREFIX: 'qb',
      CLIENTS_FILE: clientsFile,
      TOKEN_SIGNING_SECRET: SIGNING_SECRET,
    });
  });
  afterAll(async () => {
    await gw.close();
    await redis.stop();
  });

  const submit = (secret: string) =>
    request(gw.server).post('/v3/access-requests').set('authorization', `Bearer ${secret}`).send(grant());

  it('accepts exactly the quota of each client, answers 429 to the rest, queues only the accepted', async () => {
    const burst = [
      ...Array.from({ length: 12 }, () => ['five', 'five-secret-123456']),
      ...Array.from({ length: 6 }, () => ['two', 'two-secret-1234567']),
      ...Array.from({ length: 4 }, () => ['free', 'free-secret-123456']),
    ];
    const results = await Promise.all(
      burst.map(async ([id, secret]) => ({ id, res: await submit(secret!) })),
    );
    const count = (id: string, status: number) =>
      results.filter((r) => r.id === id && r.res.status === status).length;
    expect([count('five', 202), count('five', 429)]).toEqual([5, 7]);
    expect([count('two', 202), count('two', 429)]).toEqual([2, 4]);
    expect(count('free', 202)).toBe(4);
    for (const r of results.filter((x) => x.res.status === 429)) {
      expect(r.res.body.messages[0].text).toMatch(
        /^client (five|two) is over its quota of [52] requests per minute/,
      );
      expect(Number(r.res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    expect(await countJobs(redis.url, 'qb')).toBe(11);
  });
});
