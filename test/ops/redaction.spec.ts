import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import request, { type Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/app-config';
import {
  createLogger,
  jobLogger,
  NestPinoLogger,
  PINO_LOGGER,
  type PinoLogger,
  REDACTED,
} from '../../src/ops/logger';
import { basic } from '../support/clients';
import { startGateway, type TestGateway } from '../support/gateway';
import { LogCapture } from '../support/log-capture';
import { startRedis, type PrivateRedis } from '../support/redis-server';

/** Canaries: distinctive strings that must never show up anywhere we can look. */
const CANARY = {
  clientSecret: 'canary-client-secret-7f3a9c21d0',
  wrongBearer: 'canary-wrong-bearer-55ab93e1',
  wrongOauthSecret: 'canary-wrong-oauth-secret-c4e1',
  idnClientSecret: 'canary-idn-client-secret-b41d77',
  tokenSigningSecret: 'canary-token-signing-secret-0123456789abcdef',
  adminPassword: 'canary-admin-password-91e2',
  // Base64 of "canary-webhook-secret-0123456789ab": the clients file keeps it in plain text.
  webhookSecret: 'whsec_Y2FuYXJ5LXdlYmhvb2stc2VjcmV0LTAxMjM0NTY3ODlhYg==',
};
const PREFIX = '{canary}';

/** Every key and every value of every type, as text. */
async function dumpRedis(client: Redis): Promise<{ keys: string[]; text: string }> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  const parts: string[] = [];
  for (const key of keys) {
    const type = await client.type(key);
    parts.push(`${type} ${key}`);
    switch (type) {
      case 'string':
        parts.push((await client.getBuffer(key))?.toString('latin1') ?? '');
        break;
      case 'hash':
        for (const [f, v] of Object.entries(await client.hgetall(key))) parts.push(f, v);
        break;
      case 'list':
        parts.push(...(await client.lrange(key, 0, -1)));
        break;
      case 'set':
        parts.push(...(await client.smembers(key)));
        break;
      case 'zset':
        parts.push(...(await client.zrange(key, 0, -1, 'WITHSCORES')));
        break;
      case 'stream':
        for (const [id, fields] of await client.xrange(key, '-', '+')) parts.push(id, ...fields);
        break;
      default:
        throw new Error(`unexpected Redis type ${type} for ${key}`);
    }
  }
  return { keys, text: parts.join('\n') };
}

const responseText = (res: Response): string => `${JSON.stringify(res.headers)}\n${res.text}`;

describe('secrets never leak: logs, metrics, error bodies, Redis', () => {
  let redis: PrivateRedis;
  let gw: TestGateway;
  let dir: string;
  const logs = new LogCapture();
  const responses: string[] = [];
  let issuedToken = '';

  beforeAll(async () => {
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'arg-canary-'));
    const clientsFile = join(dir, 'clients.json');
    writeFileSync(
      clientsFile,
      JSON.stringify({
        clients: [
          {
            id: 'hr-portal',
            secretSha256: createHash('sha256').update(CANARY.clientSecret).digest('hex'),
            requestsPerMinute: 1000,
            webhook: { url: 'http://127.0.0.1:9/hooks', secret: CANARY.webhookSecret },
          },
        ],
      }),
    );
    gw = await startGateway(
      {
        REDIS_URL: redis.url,
        QUEUE_PREFIX: PREFIX,
        CLIENTS_FILE: clientsFile,
        TOKEN_SIGNING_SECRET: CANARY.tokenSigningSecret,
        IDN_BASE_URL: 'http://127.0.0.1:9',
        IDN_CLIENT_ID: 'idn-client',
        IDN_CLIENT_SECRET: CANARY.idnClientSecret,
        ADMIN_USER: 'admin',
        ADMIN_PASSWORD: CANARY.adminPassword,
        // Everything the gateway can log, including Nest's own framework lines.
        LOG_LEVEL: 'trace',
      },
      { logDestination: logs, logger: undefined },
    );
    const s = gw.server;
    const keep = (res: Response): Response => {
      responses.push(responseText(res));
      return res;
    };
    const body = { requestedFor: ['identity-1'], requestedItems: [{ type: 'ROLE', id: 'role-1' }] };

    // 1. The client secret as a bearer credential.
    expect(
      keep(
        await request(s)
          .post('/v3/access-requests')
          .set('authorization', `Bearer ${CANARY.clientSecret}`)
          .set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')
          .send(body),
      ).status,
    ).toBe(202);
    // 2. The client secret in a /oauth/token form body, in its query string, and as Basic.
    const tok = keep(
      await request(s)
        .post('/oauth/token')
        .type('form')
        .send(`grant_type=client_credentials&client_id=hr-portal&client_secret=${CANARY.clientSecret}`),
    );
    expect(tok.status).toBe(200);
    issuedToken = tok.body.access_token as string;
    expect(issuedToken.length).toBeGreaterThan(20);
    expect(
      keep(
        await request(s)
          .post(
            `/oauth/token?grant_type=client_credentials&client_id=hr-portal&client_secret=${CANARY.clientSecret}`,
          )
          .type('form')
          .send(''),
      ).status,
    ).toBe(200);
    expect(
      keep(
        await request(s)
          .post('/oauth/token')
          .type('form')
          .send(`grant_type=client_credentials&client_id=hr-portal&client_secret=${CANARY.wrongOauthSecret}`),
      ).status,
    ).toBe(401);
    expect(
      keep(
        await request(s)
          .post('/oauth/token')
          .set('authorization', basic('hr-portal', CANARY.wrongOauthSecret))
          .type('form')
          .send('grant_type=client_credentials'),
      ).status,
    ).toBe(401);
    // 3. The issued token as a bearer credential; a wrong bearer.
    expect(
      keep(
        await request(s)
          .post('/v3/access-requests')
          .set('authorization', `Bearer ${issuedToken}`)
          .set('idempotency-key', 'canary-run')
          .send({ ...body, requestedFor: ['identity-2'] }),
      ).status,
    ).toBe(202);
    expect(
      keep(
        await request(s)
          .post('/v3/access-requests')
          .set('authorization', `Bearer ${CANARY.wrongBearer}`)
          .send(body),
      ).status,
    ).toBe(401);
    // 4. Errors on a request that carries a secret: invalid body, malformed JSON, wrong media type.
    expect(
      keep(
        await request(s)
          .post('/v3/access-requests')
          .set('authorization', `Bearer ${CANARY.clientSecret}`)
          .send({ requestedFor: [], requestedItems: [] }),
      ).status,
    ).toBe(400);
    expect(
      keep(
        await request(s)
          .post('/v3/access-requests')
          .set('authorization', `Bearer ${issuedToken}`)
          .set('content-type', 'application/json')
          .send('{"requestedFor": ['),
      ).status,
    ).toBe(400);
    expect(
      keep(
        await request(s)
          .post('/v3/access-requests')
          .set('authorization', `Bearer ${CANARY.clientSecret}`)
          .set('content-type', 'text/plain')
          .send('x'),
      ).status,
    ).toBe(415);
    // 5. The admin password, right and wrong.
    expect(
      keep(
        await request(s)
          .get('/admin/queues/api/queues')
          .set('authorization', basic('admin', CANARY.adminPassword)),
      ).status,
    ).toBe(200);
    expect(
      keep(
        await request(s)
          .get('/admin/queues')
          .set('authorization', basic('admin', `${CANARY.adminPassword}x`)),
      ).status,
    ).toBe(401);
    // 6. Status reads with each credential.
    const accepted = JSON.parse(responses[0]!.slice(responses[0]!.indexOf('\n') + 1)) as {
      trackingId: string;
    };
    for (const cred of [CANARY.clientSecret, issuedToken]) {
      expect(
        keep(
          await request(s)
            .get(`/v3/access-requests/${accepted.trackingId}`)
            .set('authorization', `Bearer ${cred}`),
        ).status,
      ).toBe(200);
    }
  });

  afterAll(async () => {
    await gw.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const secrets = (): [string, string][] => [
    ...Object.entries(CANARY),
    ['issuedToken', issuedToken],
    // The token's signature part alone is as good as the token for a forger.
    ['issuedTokenSignature', issuedToken.split('.').pop() ?? issuedToken],
  ];

  const expectClean = (where: string, text: string): void => {
    const hits = secrets()
      .filter(([, value]) => value !== '' && text.includes(value))
      .map(([name]) => name);
    expect(hits, `${where} contains ${hits.join(', ')}`).toEqual([]);
  };

  it('logged one JSON line per HTTP request, with request id and no secret', () => {
    expect(logs.lines.length).toBeGreaterThan(10);
    const parsed = logs.records;
    const requests = parsed.filter((l) => l.msg === 'http request');
    expect(requests).toHaveLength(responses.length);
    for (const line of requests) {
      expect(line.requestId).toEqual(expect.any(String));
      expect(String(line.path)).not.toContain('?');
    }
    expect(
      requests.some((l) => l.traceparent === '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'),
    ).toBe(true);
    // Nest's own lines go through the same logger.
    expect(parsed.some((l) => l.context === 'RoutesResolver' || l.context === 'NestFactory')).toBe(true);
    expectClean('logs', logs.lines.join(''));
  });

  it('exposes no secret in /metrics', async () => {
    const res = await request(gw.server).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toContain('gateway_http_requests_total');
    expectClean('metrics', res.text);
  });

  it('echoes no secret in any response body or header (error bodies included)', () => {
    expect(responses.length).toBeGreaterThan(10);
    for (const [i, r] of responses.entries()) {
      // The token response is the one place the issued token legitimately appears.
      if (r.includes('"access_token"')) continue;
      expectClean(`response ${i}`, r);
    }
  });

  it('stores no secret in any Redis key or value, and every key has the prefix', async () => {
    const client = redis.client();
    const { keys, text } = await dumpRedis(client);
    expect(keys.length).toBeGreaterThan(3);
    expect(text).toContain('identity-1'); // the dump really holds the jobs
    expectClean('Redis keys', keys.join('\n'));
    expectClean('Redis values', text);
    for (const key of keys) expect(key.startsWith(`${PREFIX}:`), key).toBe(true);
  });

  it("scrubs the clients file's webhook secrets (kept in plain text to sign) from the gateway's lines", () => {
    gw.app.get<PinoLogger>(PINO_LOGGER).warn(`a line that quotes ${CANARY.webhookSecret}`);
    const line = logs.lines.find((l) => l.includes('a line that quotes'));
    expect(line).toContain(REDACTED);
    expect(line).not.toContain(CANARY.webhookSecret);
  });
});

describe('createLogger redaction (second line of defence)', () => {
  const config = loadConfig({
    NODE_ENV: 'development',
    IDN_BASE_URL: 'http://127.0.0.1:9',
    IDN_CLIENT_ID: 'idn',
    IDN_CLIENT_SECRET: CANARY.idnClientSecret,
    ADMIN_USER: 'admin',
    ADMIN_PASSWORD: CANARY.adminPassword,
    REDIS_URL: 'redis://gateway:canary-url-pass%2F1@127.0.0.1:1',
    REDIS_PASSWORD: 'canary-redis-pass-2',
  });
  const logged = (fn: (capture: LogCapture) => void): string => {
    const capture = new LogCapture();
    fn(capture);
    expect(capture.lines.length).toBeGreaterThan(0);
    return capture.lines.join('');
  };

  it('redacts credential fields wherever a caller puts them', () => {
    const out = logged((c) => {
      const log = createLogger(config, { destination: c, level: 'info' });
      log.info(
        {
          headers: { authorization: 'Bearer canary-h1' },
          req: { headers: { authorization: 'Bearer canary-h2', cookie: 'canary-h3' } },
          oauth: { body: 'grant_type=client_credentials&client_secret=canary-h4' },
          client_secret: 'canary-h5',
          access_token: 'canary-h6',
          upstream: { token: 'canary-h7', response: { access_token: 'canary-h8' } },
        },
        'calling',
      );
    });
    expect(out).not.toMatch(/canary-h\d/);
    expect(out).toContain(REDACTED);
  });

  it('scrubs configured secret values from messages, errors and child bindings', () => {
    const out = logged((c) => {
      const log = createLogger(config, { destination: c, level: 'info' });
      log.info(`token call with ${CANARY.idnClientSecret}`);
      log.child({ note: CANARY.adminPassword }).warn('child');
      log.error({ err: new Error(`upstream echoed ${CANARY.idnClientSecret}`) }, 'failed');
      new NestPinoLogger(log).error(`nest says ${CANARY.idnClientSecret}`, 'Ctx');
      log.error({ err: new Error('NOAUTH canary-url-pass/1 canary-redis-pass-2') }, 'redis');
    });
    expect(out).not.toContain('canary-url-pass');
    expect(out).not.toContain('canary-redis-pass');
    expect(out).not.toContain(CANARY.idnClientSecret);
    expect(out).not.toContain(CANARY.adminPassword);
    expect(out.split(REDACTED).length).toBeGreaterThanOrEqual(5);
  });

  it('maps Nest log calls to pino levels with context and fields', () => {
    const capture = new LogCapture();
    const nest = new NestPinoLogger(createLogger(config, { destination: capture, level: 'trace' }));
    nest.log('hello', 'Boot');
    nest.error({ requestId: 'r-1' }, 'unhandled error', 'Filter');
    nest.verbose('detail');
    const lines = capture.records;
    expect(lines[0]).toMatchObject({ level: 'info', msg: 'hello', context: 'Boot' });
    expect(lines[1]).toMatchObject({
      level: 'error',
      msg: 'unhandled error',
      context: 'Filter',
      requestId: 'r-1',
    });
    expect(lines[2]).toMatchObject({ level: 'trace', msg: 'detail' });
  });

  it('binds the ids of a job (from its HTTP request) to every line of a job logger', () => {
    const capture = new LogCapture();
    const log = jobLogger(createLogger(config, { destination: capture, level: 'info' }), {
      trackingId: 't-1',
      clientId: 'hr-portal',
      requestId: 'req-1',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    });
    log.info({ outcome: 'SUBMITTED', attempt: 1 }, 'job outcome');
    expect(capture.records[0]).toMatchObject({
      trackingId: 't-1',
      clientId: 'hr-portal',
      requestId: 'req-1',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      outcome: 'SUBMITTED',
      msg: 'job outcome',
    });
  });

  it('writes nothing at LOG_LEVEL=silent', () => {
    const capture = new LogCapture();
    const log = createLogger(loadConfig({ NODE_ENV: 'development', LOG_LEVEL: 'silent' }), {
      destination: capture,
    });
    log.error('nope');
    expect(capture.lines).toEqual([]);
  });
});
