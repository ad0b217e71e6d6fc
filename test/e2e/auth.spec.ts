import request from 'supertest';
import { AccessRequestsApi, Configuration } from 'sailpoint-api-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/clients/client-registry.service';
import { GatewayTokenService } from '../../src/auth/gateway-token.service';
import { grant, revoke } from '../support/bodies';
import { SIGNING_SECRET, writeClientsFile } from '../support/clients';
import { startGateway, texts, type TestGateway } from '../support/gateway';
import { readJob } from '../support/queue';
import { freePort, startRedis, type PrivateRedis } from '../support/redis-server';

describe('callers: authentication, tokens and policy', () => {
  let redis: PrivateRedis;
  let gw: TestGateway;
  let other: TestGateway;
  const clientsFile = writeClientsFile([
    {
      id: 'hr-portal',
      secret: 'hr-portal-secret-1',
      requestTypes: ['GRANT_ACCESS'],
      itemTypes: ['ROLE', 'ACCESS_PROFILE'],
    },
    { id: 'it-desk', secret: 'it-desk-secret-123' },
  ]);
  const env = () => ({
    REDIS_URL: redis.url,
    QUEUE_PREFIX: 'auth',
    CLIENTS_FILE: clientsFile,
    TOKEN_SIGNING_SECRET: SIGNING_SECRET,
  });

  beforeAll(async () => {
    redis = await startRedis();
    gw = await startGateway(env());
    other = await startGateway(env());
  });
  afterAll(async () => {
    await gw.close();
    await other.close();
    await redis.stop();
  });

  const post = (auth: string | undefined, body: object = grant()) => {
    const r = request(gw.server).post('/v3/access-requests');
    if (auth !== undefined) void r.set('authorization', auth);
    return r.send(body);
  };

  it('401 without credentials, with a wrong secret, or a malformed header; each an ErrorResponseDto', async () => {
    for (const auth of [undefined, 'Bearer wrong-secret', 'Basic aGVsbG8=', 'Bearer', 'Bearer dev-secret']) {
      const res = await post(auth);
      expect(res.status, String(auth)).toBe(401);
      expect(res.body.detailCode).toBe('401 Unauthorized');
      expect(res.body.messages[0].text.length).toBeGreaterThan(10);
    }
  });

  it('a client secret as bearer works, and the client id is written into clientMetadata', async () => {
    const res = await post('Bearer it-desk-secret-123');
    expect(res.status).toBe(202);
    const job = await readJob(redis.url, 'auth', res.body.trackingId);
    expect(job!.data.clientId).toBe('it-desk');
    expect(job!.data.request.clientMetadata).toEqual({ ticket: 'CHG-1', gatewayClientId: 'it-desk' });
  });

  it('POST /oauth/token (form or query) issues a 15-minute token valid on every API process', async () => {
    const form = await request(gw.server)
      .post('/oauth/token')
      .type('form')
      .send({ grant_type: 'client_credentials', client_id: 'it-desk', client_secret: 'it-desk-secret-123' });
    expect(form.status).toBe(200);
    expect(form.body).toMatchObject({ token_type: 'bearer', expires_in: 900 });
    const query = await request(other.server).post(
      '/oauth/token?grant_type=client_credentials&client_id=it-desk&client_secret=it-desk-secret-123',
    );
    expect(query.status).toBe(200);
    // Issued by one process, accepted by the other.
    const res = await request(other.server)
      .post('/v3/access-requests')
      .set('authorization', `Bearer ${form.body.access_token as string}`)
      .send(grant());
    expect(res.status).toBe(202);
  });

  it('POST /oauth/token also takes multipart/form-data (what the SDK sends); a broken multipart body is a 401', async () => {
    const ok = await request(gw.server)
      .post('/oauth/token')
      .field('grant_type', 'client_credentials')
      .field('client_id', 'it-desk')
      .field('client_secret', 'it-desk-secret-123');
    expect(ok.status).toBe(200);
    expect(ok.body.token_type).toBe('bearer');
    const broken = await request(gw.server)
      .post('/oauth/token')
      .set('content-type', 'multipart/form-data')
      .send('no boundary here');
    // The form is the credentials: unreadable credentials are refused like wrong ones (401, not 400).
    expect(broken.status).toBe(401);
    expect(broken.body.detailCode).toBe('401 Unauthorized');
  });

  it('token endpoint errors: wrong secret 401, wrong grant 400, another client id 401', async () => {
    const bad = await request(gw.server)
      .post('/oauth/token')
      .type('form')
      .send({ grant_type: 'client_credentials', client_id: 'it-desk', client_secret: 'nope' });
    expect(bad.status).toBe(401);
    expect(bad.body.detailCode).toBe('401 Unauthorized');
    const grantType = await request(gw.server)
      .post('/oauth/token')
      .type('form')
      .send({ grant_type: 'password', client_id: 'it-desk', client_secret: 'it-desk-secret-123' });
    expect(grantType.status).toBe(400);
    expect(grantType.body.messages[0].text).toBe('grant_type must be client_credentials (got password)');
    const swapped = await request(gw.server).post('/oauth/token').type('form').send({
      grant_type: 'client_credentials',
      client_id: 'hr-portal',
      client_secret: 'it-desk-secret-123',
    });
    expect(swapped.status).toBe(401);
  });

  it('expired, forged or foreign-key tokens are 401', async () => {
    const config = gw.config;
    const secret = sha256('it-desk-secret-123');
    const expired = new GatewayTokenService(config).issue('it-desk', secret, Date.now() - 901_000).token;
    const foreign = new GatewayTokenService({
      ...config,
      auth: { ...config.auth, tokenSigningSecret: 'another-secret-another-secret-xx' },
    }).issue('it-desk', secret).token;
    const valid = new GatewayTokenService(config).issue('it-desk', secret).token;
    const [h, p] = valid.split('.');
    const forged = `${h!}.${Buffer.from(JSON.stringify({ sub: 'hr-portal', exp: 9_999_999_999 })).toString('base64url')}.${valid.split('.')[2]!}`;
    for (const token of [expired, foreign, forged, `${h!}.${p!}.`]) {
      expect((await post(`Bearer ${token}`)).status).toBe(401);
    }
    expect((await post(`Bearer ${valid}`)).status).toBe(202);
  });

  it('403 names what the client policy does not allow', async () => {
    const rt = await post('Bearer hr-portal-secret-1', revoke());
    expect(rt.status).toBe(403);
    expect(rt.body.detailCode).toBe('403 Forbidden');
    expect(texts(rt.body)).toEqual([
      'client hr-portal may not send REVOKE_ACCESS requests (allowed: GRANT_ACCESS)',
      'requestedItems[0].type ENTITLEMENT is not allowed for client hr-portal (allowed: ROLE, ACCESS_PROFILE)',
    ]);
    expect((await post('Bearer hr-portal-secret-1', grant())).status).toBe(202);
  });

  it('status is private: another client gets 404 for a request it did not send', async () => {
    const mine = await post('Bearer it-desk-secret-123');
    const own = await request(gw.server)
      .get(mine.body.statusUrl)
      .set('authorization', 'Bearer it-desk-secret-123');
    expect(own.status).toBe(200);
    const theirs = await request(gw.server)
      .get(mine.body.statusUrl)
      .set('authorization', 'Bearer hr-portal-secret-1');
    expect(theirs.status).toBe(404);
  });

  it("SailPoint's official SDK works against the gateway by changing only its base URL", async () => {
    // The SDK needs a real listening server: put the Nest app's handler behind a loopback port.
    const port = await freePort();
    await gw.app.listen(port, '127.0.0.1');
    try {
      const baseurl = `http://127.0.0.1:${port}`;
      const configuration = new Configuration({
        baseurl,
        clientId: 'it-desk',
        clientSecret: 'it-desk-secret-123',
        tokenUrl: `${baseurl}/oauth/token`,
      });
      const api = new AccessRequestsApi(configuration);
      const res = await api.createAccessRequest({
        accessRequest: {
          requestedFor: ['2c918084660f45d6016617daa9210584'],
          requestType: 'GRANT_ACCESS',
          requestedItems: [{ type: 'ROLE', id: 'sdk-role', comment: 'via SDK' }],
        },
      });
      expect(res.status).toBe(202);
      const body = res.data as unknown as { trackingId: string };
      const job = await readJob(redis.url, 'auth', body.trackingId);
      expect(job!.data.clientId).toBe('it-desk');
      expect(job!.data.request.requestedItems?.[0]).toEqual({
        type: 'ROLE',
        id: 'sdk-role',
        comment: 'via SDK',
      });
    } finally {
      await gw.app.close();
      gw = await startGateway(env());
    }
  });
});
