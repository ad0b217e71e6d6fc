import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identities, perIdentity, roleGrant } from '../support/bodies';
import { SIGNING_SECRET, writeClientsFile } from '../support/clients';
import { startGateway, texts, type TestGateway } from '../support/gateway';
import { countJobs } from '../support/queue';
import { startRedis, type PrivateRedis } from '../support/redis-server';

/** `pairsPerMinute` counts identity x item pairs, in the same script call as `requestsPerMinute`. */
describe('pairsPerMinute quota', () => {
  let redis: PrivateRedis;
  let gw: TestGateway;
  const clientsFile = writeClientsFile([
    { id: 'pairs', secret: 'pairs-secret-12345', requestsPerMinute: 100, pairsPerMinute: 10 },
    { id: 'both', secret: 'both-secret-123456', requestsPerMinute: 2, pairsPerMinute: 100 },
    { id: 'burst', secret: 'burst-secret-12345', pairsPerMinute: 7 },
    { id: 'per-identity', secret: 'per-identity-secret', pairsPerMinute: 3 },
  ]);

  beforeAll(async () => {
    redis = await startRedis();
    gw = await startGateway({
      REDIS_URL: redis.url,
      QUEUE_PREFIX: 'qp',
      CLIENTS_FILE: clientsFile,
      TOKEN_SIGNING_SECRET: SIGNING_SECRET,
    });
  });
  afterAll(async () => {
    await gw.close();
    await redis.stop();
  });

  const submit = (secret: string, body: object) =>
    request(gw.server).post('/v3/access-requests').set('authorization', `Bearer ${secret}`).send(body);
  const pairs = (identityCount: number, itemCount: number) =>
    roleGrant(
      identities(identityCount),
      Array.from({ length: itemCount }, (_, i) => `role-${i}`),
    );

  it('counts pairs, not requests: 429 with Retry-After naming the pairs quota; pairs of refused requests do not count', async () => {
    expect((await submit('pairs-secret-12345', pairs(2, 3))).status).toBe(202); // 6
    const over = await submit('pairs-secret-12345', pairs(5, 1)); // 11 > 10
    expect(over.status).toBe(429);
    expect(texts(over.body)).toEqual([
      'client pairs is over its quota of 10 identity-item pairs per minute (this request has 5); retry after the Retry-After delay',
    ]);
    expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(over.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect((await submit('pairs-secret-12345', pairs(2, 2))).status).toBe(202); // 10
    expect((await submit('pairs-secret-12345', pairs(1, 1))).status).toBe(429);
  });

  it('a request larger than the whole quota can never fit: 403 saying to split it, not a 429 to retry forever', async () => {
    const res = await submit('pairs-secret-12345', pairs(4, 3));
    expect(res.status).toBe(403);
    expect(texts(res.body)[0]).toMatch(
      /has 12 identity-item pairs, more than client pairs's pairsPerMinute of 10; split it/,
    );
  });

  it('requestsPerMinute still applies next to it, and its 429 names the requests quota', async () => {
    expect((await submit('both-secret-123456', pairs(1, 1))).status).toBe(202);
    expect((await submit('both-secret-123456', pairs(1, 1))).status).toBe(202);
    const third = await submit('both-secret-123456', pairs(1, 1));
    expect(third.status).toBe(429);
    expect(texts(third.body)[0]).toMatch(/^client both is over its quota of 2 requests per minute/);
  });

  it('counts per-identity items, and is exact under a concurrent burst', async () => {
    expect((await submit('per-identity-secret', perIdentity())).status).toBe(202); // 2 pairs
    expect((await submit('per-identity-secret', perIdentity())).status).toBe(429); // 4 > 3

    const before = await countJobs(redis.url, 'qp');
    const results = await Promise.all(
      Array.from({ length: 20 }, () => submit('burst-secret-12345', pairs(1, 1))),
    );
    expect(results.filter((r) => r.status === 202)).toHaveLength(7);
    expect(results.filter((r) => r.status === 429)).toHaveLength(13);
    expect(await countJobs(redis.url, 'qp')).toBe(before + 7);
  });
});
