import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grant } from '../support/bodies';
import { SIGNING_SECRET, writeClientsFile } from '../support/clients';
import { startGateway, type TestGateway } from '../support/gateway';
import { freePort, startRedis, type PrivateRedis } from '../support/redis-server';

interface Answer {
  status: number;
  body: string;
}

/** Over a real socket, so what the HTTP parser, Fastify and Nest make of the bytes is what is tested. */
function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Buffer,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Never a 5xx; every refusal is an ErrorResponseDto, 401s included. */
function expectHandled(answer: Answer, what: string): void {
  expect(answer.status, `${what} → ${answer.status} ${answer.body}`).toBeLessThan(500);
  if (answer.status >= 400) {
    const dto = JSON.parse(answer.body) as { detailCode?: unknown; messages?: { text?: unknown }[] };
    expect(typeof dto.detailCode, what).toBe('string');
    expect(typeof dto.messages?.[0]?.text, what).toBe('string');
  }
}

/** Characters Node's client lets into a header value: tab, printable ASCII, and the Latin-1 top half. */
const headerText = fc.string({
  unit: fc.oneof(
    fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
    fc.constantFrom('\t', '%', ':', '.', '=', '+', '/'),
  ),
  maxLength: 120,
});
const tricky = fc.oneof(
  headerText,
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.constantFrom('%', '%zz', '%E0%A4%A', ':', '::', 'a:b:c', '\u0000', 'dev-secret', '%3A', '..', 'a.b.c'),
);
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const b64url = (s: string): string => Buffer.from(s, 'utf8').toString('base64url');
const JWT_HEADER = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

const authorization = fc.oneof(
  headerText,
  headerText.map((s) => `Bearer ${s}`),
  headerText.map((s) => `Basic ${s}`),
  fc.tuple(tricky, tricky).map(([u, p]) => `Basic ${b64(`${u}:${p}`)}`),
  tricky.map((s) => `Basic ${b64(s)}`),
  fc
    .tuple(fc.oneof(fc.constant(JWT_HEADER), headerText.map(b64url)), tricky, headerText)
    .map(([h, p, s]) => `Bearer ${h}.${b64url(p)}.${s.replace(/\s/g, '')}`),
  fc.jsonValue({ maxDepth: 2 }).map((claims) => `Bearer ${JWT_HEADER}.${b64url(JSON.stringify(claims))}.x`),
);

/** Query strings with broken escapes, repeats, brackets and arbitrary text escaped the normal way. */
const queryPart = fc.oneof(
  fc.string({
    unit: fc.constantFrom('a', 'Z', '0', '9', 'F', '%', '&', '=', '+', '.', '[', ']', '_'),
    maxLength: 40,
  }),
  tricky.map(encodeURIComponent),
);
const query = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom('client_id', 'client_secret', 'grant_type', 'client_id[]', 'client_id[a]'),
        queryPart,
      ),
      fc.oneof(fc.constant('client_credentials'), queryPart),
    ),
    { maxLength: 6 },
  )
  .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));

const multipart = fc
  .tuple(
    fc.oneof(
      fc.constant('XyZ'),
      headerText.map((s) => s.replace(/[^\x21-\x7e]/g, '')),
      fc.constant(''),
    ),
    fc.array(
      fc.tuple(fc.oneof(fc.constantFrom('client_id', 'client_secret', 'grant_type'), tricky), tricky),
      {
        maxLength: 4,
      },
    ),
    tricky,
    fc.boolean(),
  )
  .map(([boundary, fields, tail, close]) => ({
    contentType: `multipart/form-data; boundary=${boundary}`,
    body:
      fields
        .map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
        .join('') + (close ? `--${boundary}--\r\n` : tail),
  }));

describe('credential parsers under fuzzing: never a 5xx', () => {
  let redis: PrivateRedis;
  let gw: TestGateway;
  let port: number;

  beforeAll(async () => {
    redis = await startRedis();
    gw = await startGateway({
      REDIS_URL: redis.url,
      QUEUE_PREFIX: 'fuzzauth',
      CLIENTS_FILE: writeClientsFile([{ id: 'app', secret: 'app-secret-123456' }]),
      TOKEN_SIGNING_SECRET: SIGNING_SECRET,
      ADMIN_USER: 'ops-admin',
      ADMIN_PASSWORD: 'correct-horse-battery',
      // Every fuzzed failure counts; the limit is out of the way so the parsers, not the lockout, answer.
      AUTH_FAILURES_PER_MINUTE: '100000',
    });
    port = await freePort();
    await gw.app.listen(port, '127.0.0.1');
  });
  afterAll(async () => {
    await gw.close();
    await redis.stop();
  });

  it('Authorization on client routes, the admin surface and /oauth/token', async () => {
    const body = JSON.stringify(grant());
    await fc.assert(
      fc.asyncProperty(authorization, async (auth) => {
        const headers = { authorization: auth };
        const json = { ...headers, 'content-type': 'application/json' };
        expectHandled(await send(port, 'POST', '/v3/access-requests', json, body), `POST ${auth}`);
        expectHandled(
          await send(port, 'GET', '/v3/access-requests/6b1c1d3e-1f6a-4c1b-9d53-4f3c2f1e0a11', headers),
          `GET ${auth}`,
        );
        expectHandled(await send(port, 'GET', '/admin/queues/api/queues', headers), `admin ${auth}`);
        expectHandled(
          await send(port, 'POST', '/oauth/token?grant_type=client_credentials', headers),
          `token ${auth}`,
        );
      }),
      { numRuns: 150 },
    );
  });

  it('/oauth/token query strings and form bodies', async () => {
    await fc.assert(
      fc.asyncProperty(query, query, async (q, form) => {
        expectHandled(await send(port, 'POST', `/oauth/token?${q}`, {}), `query ${q}`);
        expectHandled(
          await send(
            port,
            'POST',
            '/oauth/token',
            { 'content-type': 'application/x-www-form-urlencoded' },
            form,
          ),
          `form ${form}`,
        );
      }),
      { numRuns: 200 },
    );
  });

  it('/oauth/token multipart bodies', async () => {
    await fc.assert(
      fc.asyncProperty(multipart, async ({ contentType, body }) => {
        const answer = await send(port, 'POST', '/oauth/token', { 'content-type': contentType }, body);
        expectHandled(answer, `multipart ${contentType} ${JSON.stringify(body)}`);
      }),
      { numRuns: 200 },
    );
  });

  it('malformed credentials are a 401 (not a 400 or 500), known examples included', async () => {
    const cases: [string, string, Record<string, string>, string?][] = [
      ['POST', '/oauth/token?grant_type=client_credentials', { authorization: `Basic ${b64('app:%zz')}` }],
      ['POST', '/oauth/token?grant_type=client_credentials', { authorization: `Basic ${b64('%E0%A4%A:x')}` }],
      ['POST', '/oauth/token?grant_type=client_credentials', { authorization: 'Basic !!!' }],
      ['POST', '/oauth/token?grant_type=client_credentials', { authorization: `Basic ${b64('no-colon')}` }],
      ['POST', '/oauth/token?grant_type=client_credentials&client_id=a&client_id=b&client_secret=x', {}],
      [
        'POST',
        '/oauth/token',
        { 'content-type': 'application/json' },
        JSON.stringify({ grant_type: 'client_credentials', client_id: { $ne: 1 }, client_secret: 'x' }),
      ],
      ['POST', '/oauth/token', { 'content-type': 'multipart/form-data' }, 'no boundary'],
      ['POST', '/oauth/token', { 'content-type': 'application/json' }, '{"client_id": "app", "client_secret'],
      ['GET', '/admin/queues', { authorization: 'Basic %%%' }],
      ['GET', '/v3/access-requests/x', { authorization: 'Bearer a.b.c' }],
      ['GET', '/v3/access-requests/x', { authorization: 'Bearer' }],
    ];
    for (const [method, path, headers, body] of cases) {
      const answer = await send(port, method, path, headers, body);
      expect(answer.status, `${method} ${path} ${JSON.stringify(headers)} ${body ?? ''}`).toBe(401);
      expect(JSON.parse(answer.body)).toMatchObject({ detailCode: '401 Unauthorized' });
    }
  });
});
