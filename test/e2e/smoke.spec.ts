import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway';
import { startRedis, type PrivateRedis } from '../support/redis-server';

describe('smoke', () => {
  let redis: PrivateRedis;
  let gw: TestGateway;
  beforeAll(async () => {
    redis = await startRedis();
    gw = await startGateway({ REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await gw.close();
    await redis.stop();
  });

  it('accepts', async () => {
    const res = await request(gw.server)
      .post('/v3/access-requests')
      .set('authorization', 'Bearer dev-secret')
      .send({ requestedFor: ['id1'], requestedItems: [{ type: 'ROLE', id: 'r1' }] });
    console.log(res.status, res.body, res.headers);
    const bad = await request(gw.server)
      .post('/v3/access-requests')
      .set('authorization', 'Bearer dev-secret')
      .send({
        requestedFor: ['id1', 'id2'],
        requestType: 'REVOKE_ACCESS',
        requestedItems: [
          { type: 'ROLEX', id: 'r1', foo: 1 },
          { type: 'ENTITLEMENT', id: '', startDate: '2020-01-01' },
        ],
      });
    console.log(bad.status, JSON.stringify(bad.body, null, 1));
    const st = await request(gw.server)
      .get(`/v3/access-requests/${res.body.trackingId}`)
      .set('authorization', 'Bearer dev-secret');
    console.log(st.status, JSON.stringify(st.body));
    const malformed = await request(gw.server)
      .post('/v3/access-requests')
      .set('authorization', 'Bearer dev-secret')
      .set('content-type', 'application/json')
      .send('{"a":');
    console.log(malformed.status, malformed.body);
    const txt = await request(gw.server)
      .post('/v3/access-requests')
      .set('authorization', 'Bearer dev-secret')
      .set('content-type', 'text/plain')
      .send('hello');
    console.log(txt.status, txt.body);
    const form = await request(gw.server)
      .post('/v3/access-requests')
      .set('authorization', 'Bearer dev-secret')
      .type('form')
      .send('a=b');
    console.log(form.status, form.body);
    const tok = await request(gw.server)
      .post('/oauth/token')
      .type('form')
      .send('grant_type=client_credentials&client_id=dev&client_secret=dev-secret');
    console.log(tok.status, tok.body);
    const noauth = await request(gw.server).get('/v3/access-requests/x');
    console.log(noauth.status, noauth.body);
    const docs = await request(gw.server).get('/docs-json');
    console.log(docs.status, Object.keys(docs.body.paths ?? {}));
    const r = await request(gw.server).get('/health/ready');
    console.log(r.status, r.body);
    expect(res.status).toBe(202);
  });
});
