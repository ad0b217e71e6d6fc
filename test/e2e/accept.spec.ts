import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  entitlements,
  grant,
  ID1,
  ID2,
  identities,
  modify,
  perIdentity,
  revoke,
  ROLE1,
} from '../support/bodies';
import { AUTH } from '../support/clients';
import { startGateway, type TestGateway } from '../support/gateway';
import { readJob } from '../support/queue';
import { startRedis, type PrivateRedis } from '../support/redis-server';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('POST /v3/access-requests accepts every valid shape and queues it', () => {
  let redis: PrivateRedis;
  let gw: TestGateway;
  const post = (body: object) =>
    request(gw.server).post('/v3/access-requests').set('authorization', AUTH).send(body);

  beforeAll(async () => {
    redis = await startRedis();
    gw = await startGateway({
      REDIS_URL: redis.url,
      QUEUE_PREFIX: 'acc',
      SUBMIT_ATTEMPTS: '5',
      BACKOFF_BASE_MS: '250',
    });
  });
  afterAll(async () => {
    await gw.close();
    await redis.stop();
  });

  it.each([
    ['GRANT_ACCESS', grant],
    ['REVOKE_ACCESS', revoke],
    ['MODIFY_ACCESS', modify],
    ['requestedForWithRequestedItems', perIdentity],
  ])('202 for %s, with the job in Redis', async (_name, body) => {
    const res = await post(body());
    expect(res.status).toBe(202);
    expect(res.body.trackingId).toMatch(UUID);
    expect(res.body).toEqual({
      trackingId: res.body.trackingId,
      state: 'QUEUED',
      statusUrl: `/v3/access-requests/${res.body.trackingId}`,
    });
    expect(res.headers.location).toBe(res.body.statusUrl);

    const job = await readJob(redis.url, 'acc', res.body.trackingId);
    expect(job).toBeDefined();
    expect(job!.data.v).toBe(1);
    expect(job!.data.trackingId).toBe(res.body.trackingId);
    expect(job!.data.clientId).toBe('dev');
    expect(job!.data.request.clientMetadata?.gatewayClientId).toBe('dev');
    expect(job!.opts.attempts).toBe(5);
    expect(job!.opts.backoff).toEqual({ type: 'full-jitter', delay: 250 });
  });

  it('queues the body as IdentityNow will receive it: dates in UTC, ids trimmed, nulls dropped, type defaulted', async () => {
    const res = await post({
      requestedFor: [` ${ID1} `],
      requestType: null,
      requestedItems: [
        {
          type: 'ROLE',
          id: ROLE1,
          startDate: '2020-01-01T10:00:00+02:00',
          removeDate: '2099-06-30T17:00:00-05:00',
          assignmentId: null,
        },
      ],
      clientMetadata: { ticket: 'CHG-9' },
    });
    expect(res.status).toBe(202);
    const job = await readJob(redis.url, 'acc', res.body.trackingId);
    expect(job!.data.request).toEqual({
      requestType: 'GRANT_ACCESS',
      requestedFor: [ID1],
      requestedItems: [
        {
          type: 'ROLE',
          id: ROLE1,
          startDate: '2020-01-01T08:00:00.000Z',
          removeDate: '2099-06-30T22:00:00.000Z',
        },
      ],
      clientMetadata: { ticket: 'CHG-9', gatewayClientId: 'dev' },
    });
  });

  it('has no identity cap without entitlements, and takes exactly 25 entitlements for 10 identities', async () => {
    expect(
      (await post({ requestedFor: identities(11), requestedItems: [{ type: 'ROLE', id: ROLE1 }] })).status,
    ).toBe(202);
    expect((await post({ requestedFor: identities(10), requestedItems: entitlements(25) })).status).toBe(202);
  });

  it('a past startDate is passed on (IdentityNow provisions it as soon as possible)', async () => {
    const res = await post({
      requestedFor: [ID1],
      requestedItems: [{ type: 'ROLE', id: ROLE1, startDate: '2001-01-01T00:00:00Z' }],
    });
    expect(res.status).toBe(202);
  });

  it('status: the owner sees QUEUED with every pair PENDING; duplicates inside one request appear once', async () => {
    const res = await post({ requestedFor: [ID1, ID2, ID1], requestedItems: [{ type: 'ROLE', id: ROLE1 }] });
    const status = await request(gw.server).get(res.body.statusUrl).set('authorization', AUTH);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({
      trackingId: res.body.trackingId,
      clientId: 'dev',
      state: 'QUEUED',
      attempts: 0,
    });
    expect(status.body.pairs).toEqual([
      { requestedFor: ID1, type: 'ROLE', id: ROLE1, requestType: 'GRANT_ACCESS', outcome: 'PENDING' },
      { requestedFor: ID2, type: 'ROLE', id: ROLE1, requestType: 'GRANT_ACCESS', outcome: 'PENDING' },
    ]);
    expect(Date.parse(status.body.createdAt)).not.toBeNaN();
  });

  it('status: unknown ids are 404 in the ErrorResponseDto shape', async () => {
    const res = await request(gw.server)
      .get('/v3/access-requests/5b1f3a52-0000-4000-8000-000000000000')
      .set('authorization', AUTH);
    expect(res.status).toBe(404);
    expect(res.body.detailCode).toBe('404 Not found');
    const junk = await request(gw.server).get('/v3/access-requests/not-a-uuid').set('authorization', AUTH);
    expect(junk.status).toBe(404);
  });
});
