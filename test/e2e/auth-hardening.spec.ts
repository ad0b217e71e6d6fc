import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grant } from '../support/bodies';
import { basic, SIGNING_SECRET, writeClientsFile } from '../support/clients';
import { startGateway, texts, type TestGateway } from '../support/gateway';
import { parseMetrics, sampleValue } from '../support/prometheus';
import { startRedis, type PrivateRedis } from '../support/redis-server';
import { sleep } from '../support/time';

const ADMIN = { ADMIN_USER: 'ops-admin', ADMIN_PASSWORD: 'correct-horse-battery' };
const DOTTED = 'a.b.c'; // looks like a JWT to a parser that only counts dots
const JWT_SHAPED = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';

describe('hardened authentication', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  const env = (clientsFile: string, extra: Record<string, string> = {}) => ({
    REDIS_URL: redis.url,
    QUEUE_PREFIX: 'hard',
    CLIENTS_FILE: clientsFile,
    TOKEN_SIGNING_SECRET: SIGNING_SECRET,
    AUTH_FAILURES_PER_MINUTE: '1000',
    ...extra,
  });

  const tokenFor = async (gw: TestGateway, id: string, secret: string): Promise<string> => {
    const res = await request(gw.server)
      .post('/oauth/token')
      .type('form')
      .send({ grant_type: 'client_credentials', client_id: id, client_secret: secret });
    expect(res.status).toBe(200);
    return res.body.access_token as string;
  };
  const submit = (gw: TestGateway, credential: string) =>
    request(gw.server).post('/v3/access-requests').set('authorization', `Bearer ${credential}`).send(grant());

  describe('bearer parsing', () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startGateway(
        env(
          writeClientsFile([
            { id: 'dotted', secret: DOTTED },
            { id: 'jwt-shaped', secret: JWT_SHAPED },
          ]),
        ),
      );
    });
    afterAll(async () => {
      await gw.close();
    });

    it('a secret with two dots, even one shaped like a JWT, is a secret: it authenticates as its client', async () => {
      for (const secret of [DOTTED, JWT_SHAPED]) {
        const res = await submit(gw, secret);
        expect(res.status, secret).toBe(202);
        const token = await tokenFor(gw, secret === DOTTED ? 'dotted' : 'jwt-shaped', secret);
        expect((await submit(gw, token)).status).toBe(202);
      }
    });
  });

  describe('tokens follow the client secret', () => {
    it('an old token is refused after its client secret changed, or the client is gone; rotation with two secrets has no gap', async () => {
      const file = writeClientsFile([
        { id: 'app', secret: 'app-secret-one-1234' },
        { id: 'other', secret: 'other-secret-12345' },
      ]);
      let gw = await startGateway(env(file));
      try {
        const oldToken = await tokenFor(gw, 'app', 'app-secret-one-1234');
        expect((await submit(gw, oldToken)).status).toBe(202);

        // Rotation, step 1: both secrets listed. Tokens of either work; the new secret works.
        writeClientsFile(
          [
            { id: 'app', secret: ['app-secret-one-1234', 'app-secret-two-1234'] },
            { id: 'other', secret: 'other-secret-12345' },
          ],
          file,
        );
        await gw.close();
        gw = await startGateway(env(file));
        expect((await submit(gw, oldToken)).status).toBe(202);
        expect((await submit(gw, 'app-secret-two-1234')).status).toBe(202);
        const newToken = await tokenFor(gw, 'app', 'app-secret-two-1234');

        // Step 2: the old secret removed. Its tokens stop; the new secret's token goes on.
        writeClientsFile(
          [
            { id: 'app', secret: 'app-secret-two-1234' },
            { id: 'other', secret: 'other-secret-12345' },
          ],
          file,
        );
        await gw.close();
        gw = await startGateway(env(file));
        const refused = await submit(gw, oldToken);
        expect(refused.status).toBe(401);
        expect(refused.body.detailCode).toBe('401 Unauthorized');
        expect((await submit(gw, 'app-secret-one-1234')).status).toBe(401);
        expect((await submit(gw, newToken)).status).toBe(202);

        // The client removed: its tokens stop too.
        writeClientsFile([{ id: 'other', secret: 'other-secret-12345' }], file);
        await gw.close();
        gw = await startGateway(env(file));
        expect((await submit(gw, newToken)).status).toBe(401);
      } finally {
        await gw.close();
      }
    });
  });

  it('the signing key rotates without refusing a valid token: TOKEN_ACCEPTED_SIGNING_SECRET verifies, never signs', async () => {
    const file = writeClientsFile([{ id: 'app', secret: 'app-secret-rotate-1' }]);
    const k1 = 'k1-signing-secret-0123456789abcdef';
    const k2 = 'k2-signing-secret-0123456789abcdef';
    const start = (signing: string, accepted?: string) =>
      startGateway(
        env(file, {
          TOKEN_SIGNING_SECRET: signing,
          ...(accepted === undefined ? {} : { TOKEN_ACCEPTED_SIGNING_SECRET: accepted }),
        }),
      );
    const before = await start(k1);
    const phase1 = await start(k1, k2); // every process learns the new key
    const phase2 = await start(k2, k1); // then every process signs with it
    const after = await start(k2); // the old key goes once its tokens have expired
    try {
      const oldToken = await tokenFor(before, 'app', 'app-secret-rotate-1');
      const newToken = await tokenFor(phase2, 'app', 'app-secret-rotate-1');
      for (const gw of [phase1, phase2]) {
        expect((await submit(gw, oldToken)).status).toBe(202);
        expect((await submit(gw, newToken)).status).toBe(202);
      }
      expect((await submit(after, newToken)).status).toBe(202);
      expect((await submit(after, oldToken)).status).toBe(401);
      expect((await submit(before, newToken)).status).toBe(401);
    } finally {
      for (const gw of [before, phase1, phase2, after]) await gw.close();
    }
  });

  describe('clients file', () => {
    it('refuses duplicate secret hashes and duplicate ids, naming both entries', async () => {
      const sameSecret = writeClientsFile([
        { id: 'first', secret: 'shared-secret-1234' },
        { id: 'second', secret: 'shared-secret-1234' },
      ]);
      await expect(startGateway(env(sameSecret))).rejects.toThrow(
        /clients\[0\] \("first"\) and clients\[1\] \("second"\) have the same secretSha256/,
      );
      const sameId = writeClientsFile([
        { id: 'twin', secret: 'twin-secret-one-12' },
        { id: 'twin', secret: 'twin-secret-two-12' },
      ]);
      await expect(startGateway(env(sameId))).rejects.toThrow(
        /clients\[0\] and clients\[1\] have the same id "twin"/,
      );
      const rotationTwice = writeClientsFile([
        { id: 'a', secret: ['a-secret-123456789', 'b-secret-123456789'] },
        { id: 'b', secret: 'b-secret-123456789' },
      ]);
      await expect(startGateway(env(rotationTwice))).rejects.toThrow(/\("a"\) and clients\[1\] \("b"\)/);
    });
  });

  describe('failed-authentication throttling', () => {
    const LIMIT = 3;
    const file = writeClientsFile([{ id: 'app', secret: 'the-right-secret-1' }]);
    let a: TestGateway;
    let b: TestGateway;
    beforeAll(async () => {
      const throttled = env(file, {
        AUTH_FAILURES_PER_MINUTE: String(LIMIT),
        QUEUE_PREFIX: 'throttle',
        ...ADMIN,
      });
      a = await startGateway(throttled);
      b = await startGateway(throttled);
    });
    afterAll(async () => {
      await a.close();
      await b.close();
    });

    it('missing credentials are not counted as guesses', async () => {
      for (let i = 0; i < LIMIT * 3; i++) {
        expect((await request(a.server).post('/v3/access-requests').send(grant())).status).toBe(401);
        expect((await request(a.server).get('/admin/queues')).status).toBe(401);
      }
      expect((await submit(a, 'the-right-secret-1')).status).toBe(202);
      expect(await redis.client().keys('throttle:auth-failures:*')).toEqual([]);
    });

    it('a successful authentication never touches Redis', async () => {
      const calls = async (): Promise<number> => {
        const stats = await redis.client().info('commandstats');
        return [...stats.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)]
          .filter((m) => m[1] !== 'info')
          .reduce((n, m) => n + Number(m[2]), 0);
      };
      const before = await calls();
      for (let i = 0; i < 5; i++) await tokenFor(a, 'app', 'the-right-secret-1');
      expect(await calls()).toBe(before);
    });

    it(`over ${LIMIT} failures from one address across API processes: 429 with Retry-After on every surface, right credentials included`, async () => {
      // Failures on both processes count toward one total.
      for (let i = 0; i < LIMIT; i++) {
        const res = await submit(i % 2 === 0 ? a : b, `wrong-${i}`);
        expect(res.status).toBe(401);
      }
      const tipped = await request(b.server)
        .post('/oauth/token')
        .type('form')
        .send({ grant_type: 'client_credentials', client_id: 'app', client_secret: 'wrong' });
      expect(tipped.status).toBe(429);
      expect(tipped.body.detailCode).toBe('429 Too Many Requests');
      expect(texts(tipped.body)[0]).toMatch(/too many failed authentications from this address/);
      const retryAfter = Number(tipped.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);

      // Process a learns of the lockout from its next failure; from then on it refuses everything.
      expect(
        (await request(a.server).get('/admin/queues').set('authorization', basic('x', 'y'))).status,
      ).toBe(429);
      for (const gw of [a, b]) {
        const right = await submit(gw, 'the-right-secret-1');
        expect(right.status).toBe(429);
        expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
        const admin = await request(gw.server)
          .get('/admin/queues')
          .set('authorization', basic(ADMIN.ADMIN_USER, ADMIN.ADMIN_PASSWORD));
        expect(admin.status).toBe(429);
        expect(admin.body.detailCode).toBe('429 Too Many Requests');
        const token = await request(gw.server)
          .post('/oauth/token')
          .type('form')
          .send({ grant_type: 'client_credentials', client_id: 'app', client_secret: 'the-right-secret-1' });
        expect(token.status).toBe(429);
      }

      // One lockout, counted where it tipped (the token endpoint of b); no address in any label.
      const metricsB = (await request(b.server).get('/metrics')).text;
      expect(sampleValue(parseMetrics(metricsB), 'gateway_auth_lockouts_total', { surface: 'token' })).toBe(
        1,
      );
      const metricsA = (await request(a.server).get('/metrics')).text;
      expect(
        sampleValue(parseMetrics(metricsA), 'gateway_auth_lockouts_total', { surface: 'client' }) ?? 0,
      ).toBe(0);
      expect(sampleValue(parseMetrics(metricsA), 'gateway_auth_failures_total', { surface: 'admin' })).toBe(
        1,
      );
      // The refused submit with the right secret is a lockout, not a quota refusal.
      const rejected = (reason: string): number | undefined =>
        sampleValue(parseMetrics(metricsA), 'gateway_access_requests_rejected_total', {
          client: '-',
          reason,
        });
      expect(rejected('auth_throttled')).toBe(1);
      expect(rejected('quota_exceeded')).toBeUndefined();
      for (const text of [metricsA, metricsB]) {
        const auth = parseMetrics(text).filter((s) => s.name.startsWith('gateway_auth_'));
        expect(auth.length).toBeGreaterThan(0);
        for (const s of auth) expect(Object.keys(s.labels)).toEqual(['surface']);
        expect(text).not.toContain('127.0.0.1');
      }
    });
  });

  it('the lockout ends with its window', async () => {
    const file = writeClientsFile([{ id: 'app', secret: 'the-right-secret-2' }]);
    const gw = await startGateway(
      env(file, { AUTH_FAILURES_PER_MINUTE: '2', AUTH_FAILURE_WINDOW_MS: '1500', QUEUE_PREFIX: 'reset' }),
    );
    try {
      let status = 401;
      for (let i = 0; i < 20 && status !== 429; i++) status = (await submit(gw, `wrong-${i}`)).status;
      expect(status).toBe(429);
      expect((await submit(gw, 'the-right-secret-2')).status).toBe(429);
      let after = 429;
      for (let i = 0; i < 100 && after === 429; i++) {
        await sleep(100);
        after = (await submit(gw, 'the-right-secret-2')).status;
      }
      expect(after).toBe(202);
    } finally {
      await gw.close();
    }
  });

  it('X-Forwarded-For is ignored unless TRUST_PROXY names the proxy; then each forwarded address has its own count', async () => {
    const file = writeClientsFile([{ id: 'app', secret: 'the-right-secret-3' }]);
    const limit = { AUTH_FAILURES_PER_MINUTE: '2' };
    const direct = await startGateway(env(file, { ...limit, QUEUE_PREFIX: 'direct' }));
    const proxied = await startGateway(
      env(file, { ...limit, QUEUE_PREFIX: 'proxied', TRUST_PROXY: 'loopback' }),
    );
    const fail = (gw: TestGateway, forwardedFor: string) =>
      request(gw.server)
        .post('/v3/access-requests')
        .set('authorization', 'Bearer wrong')
        .set('x-forwarded-for', forwardedFor)
        .send(grant());
    try {
      const spoofed = [];
      for (let i = 0; i < 3; i++) spoofed.push((await fail(direct, `203.0.113.${i}`)).status);
      expect(spoofed).toEqual([401, 401, 429]);

      const forwarded = [];
      for (let i = 0; i < 3; i++) forwarded.push((await fail(proxied, `203.0.113.${i}`)).status);
      expect(forwarded).toEqual([401, 401, 401]);
      expect((await fail(proxied, '203.0.113.9')).status).toBe(401);
      expect((await fail(proxied, '203.0.113.9')).status).toBe(401);
      expect((await fail(proxied, '203.0.113.9')).status).toBe(429);
      const other = await request(proxied.server)
        .post('/v3/access-requests')
        .set('authorization', 'Bearer the-right-secret-3')
        .set('x-forwarded-for', '198.51.100.1')
        .send(grant());
      expect(other.status).toBe(202);
    } finally {
      await direct.close();
      await proxied.close();
    }
  });
});
