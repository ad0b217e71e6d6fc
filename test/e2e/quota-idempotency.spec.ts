import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grant, ID2 } from '../support/bodies';
import { SIGNING_SECRET, writeClientsFile } from '../support/clients';
import { startGateway, type TestGateway } from '../support/gateway';
import { countJobs } from '../support/queue';
import { startRedis, type PrivateRedis } from '../support/redis-server';

describe('per-client quota and Idempotency-Key, across API processes', () => {
  let redis: PrivateRedis;
  let a: TestGateway;
  let b: TestGateway;
  const clientsFile = writeClientsFile([
    { id: 'limited', secret: 'limited-secret-123', requestsPerMinute: 3 },
    { id: 'app-one', secret: 'app-one-secret-123' },
    { id: 'app-two', secret: 'app-two-secret-123' },
  ]);

  beforeAll(async () => {
    redis = await startRedis();
    const env = {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: 'qi',
      CLIENTS_FILE: clientsFile,
      TOKEN_SIGNING_SECRET: SIGNING_SECRET,
    };
    a = await startGateway(env);
    b = await startGateway(env);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await redis.stop();
  });

  const submit = (gw: TestGateway, secret: string, body: object = grant(), key?: string) => {
    const r = request(gw.server).post('/v3/access-requests').set('authorization', `Bearer ${secret}`);
    if (key !== undefined) void r.set('idempotency-key', key);
    return r.send(body);
  };

  it('two API instances share one quota; the request over it gets 429 with Retry-After', async () => {
    const statuses = [
      (await submit(a, 'limited-secret-123')).status,
      (await submit(b, 'limited-secret-123')).status,
      (await submit(a, 'limited-secret-123')).status,
    ];
    expect(statuses).toEqual([202, 202, 202]);
    const over = await submit(b, 'limited-secret-123');
    expect(over.status).toBe(429);
    expect(over.body.detailCode).toBe('429 Too Many Requests');
    expect(over.body.messages[0].text).toBe(
      'client limited is over its quota of 3 requests per minute; retry after the Retry-After delay',
    );
    const retryAfter = Number(over.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Status reads and token calls do not count.
    const token = await request(a.server)
      .post('/oauth/token')
      .type('form')
      .send({ grant_type: 'client_credentials', client_id: 'limited', client_secret: 'limited-secret-123' });
    expect(token.status).toBe(200);
    // Other clients are not affected.
    expect((await submit(a, 'app-one-secret-123')).status).toBe(202);
  });

  it('same key + same body → the original 202 again, marked replayed, and one job only', async () => {
    const before = await countJobs(redis.url, 'qi');
    const body = grant();
    const first = await submit(a, 'app-one-secret-123', body, 'order-42');
    expect(first.status).toBe(202);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    // Same JSON with keys in another order, through the other API process.
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const second = await submit(b, 'app-one-secret-123', reordered, 'order-42');
    expect(second.status).toBe(202);
    expect(second.body).toEqual(first.body);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(await countJobs(redis.url, 'qi')).toBe(before + 1);
  });

  it('same key + different body → 422; the key is scoped per client', async () => {
    await submit(a, 'app-one-secret-123', grant(), 'order-43');
    const changed = await submit(a, 'app-one-secret-123', { ...grant(), requestedFor: [ID2] }, 'order-43');
    expect(changed.status).toBe(422);
    expect(changed.body.detailCode).toBe('422 Unprocessable Entity');
    expect(changed.body.messages[0].text).toBe(
      'Idempotency-Key was already used with a different body; use a new key for a different request',
    );
    const otherClient = await submit(
      a,
      'app-two-secret-123',
      { ...grant(), requestedFor: [ID2] },
      'order-43',
    );
    expect(otherClient.status).toBe(202);
    expect(otherClient.headers['idempotent-replayed']).toBeUndefined();
  });

  it('concurrent requests with one key: exactly one job; the others get 409 or the replay', async () => {
    const before = await countJobs(redis.url, 'qi');
    const body = grant();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => submit(i % 2 === 0 ? a : b, 'app-two-secret-123', body, 'burst-1')),
    );
    const accepted = results.filter((r) => r.status === 202);
    const conflicts = results.filter((r) => r.status === 409);
    expect(accepted.length + conflicts.length).toBe(8);
    expect(new Set(accepted.map((r) => r.body.trackingId as string)).size).toBe(1);
    for (const c of conflicts) expect(c.body.detailCode).toBe('409 Conflict');
    expect(await countJobs(redis.url, 'qi')).toBe(before + 1);
  });

  it('a rejected request does not burn its key', async () => {
    const invalid = await submit(a, 'app-one-secret-123', { requestedFor: [] }, 'order-44');
    expect(invalid.status).toBe(400);
    const valid = await submit(a, 'app-one-secret-123', grant(), 'order-44');
    expect(valid.status).toBe(202);
    expect(valid.headers['idempotent-replayed']).toBeUndefined();
  });

  it('a malformed key is a 400 that says what a key may be', async () => {
    const res = await submit(a, 'app-one-secret-123', grant(), 'x'.repeat(300));
    expect(res.status).toBe(400);
    expect(res.body.messages[0].text).toBe('Idempotency-Key must be 1 to 255 visible ASCII characters');
  });
});
