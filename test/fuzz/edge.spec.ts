import fc from 'fast-check';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateAccessRequest } from '../../src/access-request/access-request.validator';
import { AUTH } from '../support/clients';
import { startGateway, type TestGateway } from '../support/gateway';
import { readJob } from '../support/queue';
import { startRedis, type PrivateRedis } from '../support/redis-server';

const oddString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\u202e',
    '🙂',
    'ｇａｔｅｗａｙ',
    '__proto__',
    'constructor',
    'x'.repeat(300),
  ),
);
const dateLike = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom(
    '2099-01-01T00:00:00Z',
    '2099-01-01',
    '2099-01-01T00:00:00',
    '2099-02-30T00:00:00Z',
    '',
    'tomorrow',
    '2099-01-01T00:00:00+05:30',
  ),
);
const anything: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  oddString,
  fc.integer(),
  fc.constant(null),
);
const itemType = fc.oneof(fc.constantFrom('ROLE', 'ACCESS_PROFILE', 'ENTITLEMENT'), anything);
const metadata = fc.oneof(fc.dictionary(oddString, fc.oneof(oddString, anything), { maxKeys: 4 }), anything);

const item = fc.record(
  {
    type: itemType,
    id: fc.oneof(oddString, anything),
    comment: fc.oneof(oddString, anything),
    clientMetadata: metadata,
    startDate: fc.oneof(dateLike, anything),
    removeDate: fc.oneof(dateLike, anything),
    assignmentId: fc.oneof(oddString, fc.constant(null)),
    nativeIdentity: fc.oneof(oddString, fc.constant(null)),
    extra: anything,
  },
  { requiredKeys: [] },
);
const perIdentity = fc.record(
  {
    identityId: fc.oneof(oddString, anything),
    requestedItems: fc.oneof(fc.array(item, { maxLength: 4 }), anything),
  },
  { requiredKeys: [] },
);

/** Mostly near-valid bodies (the interesting edge), some huge, some deep, some plain garbage. */
const body: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        requestedFor: fc.oneof(fc.array(fc.oneof(oddString, fc.uuid()), { maxLength: 12 }), anything),
        requestType: fc.oneof(
          fc.constantFrom('GRANT_ACCESS', 'REVOKE_ACCESS', 'MODIFY_ACCESS', null),
          anything,
        ),
        requestedItems: fc.oneof(fc.array(item, { maxLength: 30 }), anything),
        clientMetadata: metadata,
        requestedForWithRequestedItems: fc.oneof(fc.array(perIdentity, { maxLength: 3 }), fc.constant(null)),
      },
      { requiredKeys: [] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1000, max: 5000 }).map((n) => ({
      requestedFor: Array.from({ length: n }, (_, i) => `id-${i}`),
      requestedItems: [{ type: 'ROLE', id: 'r' }],
    })),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 10, max: 3000 }).map((depth) => {
      let v: unknown = 'x';
      for (let i = 0; i < depth; i++) v = { a: v };
      return { requestedFor: ['id'], requestedItems: [{ type: 'ROLE', id: 'r', clientMetadata: v }] };
    }),
  },
  { weight: 1, arbitrary: anything },
);

describe('fuzzing the edge', () => {
  let redis: PrivateRedis;
  let gw: TestGateway;
  beforeAll(async () => {
    redis = await startRedis();
    gw = await startGateway({ REDIS_URL: redis.url, QUEUE_PREFIX: 'fuzz', BODY_LIMIT_BYTES: '262144' });
  });
  afterAll(async () => {
    await gw.close();
    await redis.stop();
  });

  it('never answers 5xx; every 4xx is an ErrorResponseDto; whatever is queued is valid', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const res = await request(gw.server)
          .post('/v3/access-requests')
          .set('authorization', AUTH)
          .set('content-type', 'application/json')
          .send(b === undefined ? 'null' : JSON.stringify(b));
        expect(res.status).toBeLessThan(500);
        if (res.status === 202) {
          accepted += 1;
          const job = await readJob(redis.url, 'fuzz', res.body.trackingId);
          expect(job).toBeDefined();
          const again = validateAccessRequest(job!.data.request, {
            now: new Date(job!.data.acceptedAt),
            allowGatewayMetadata: true,
          });
          expect(again.ok).toBe(true);
          return;
        }
        expect([400, 413, 415]).toContain(res.status);
        expect(typeof res.body.detailCode).toBe('string');
        expect(typeof res.body.trackingId).toBe('string');
        expect(res.body.messages.length).toBeGreaterThan(0);
        for (const m of res.body.messages) {
          expect(m).toEqual({ locale: 'en-US', localeOrigin: 'DEFAULT', text: expect.any(String) });
        }
        expect(res.body.causes).toEqual([]);
      }),
      { numRuns: 400, seed: 20261128 },
    );
    // The generator must also produce acceptable bodies, or the property above proves little.
    expect(accepted).toBeGreaterThan(0);
  });

  it('raw byte garbage is a 400, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 200 }), async (raw) => {
        const res = await request(gw.server)
          .post('/v3/access-requests')
          .set('authorization', AUTH)
          .set('content-type', 'application/json')
          .send(raw);
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(typeof res.body.detailCode).toBe('string');
      }),
      { numRuns: 150, seed: 7 },
    );
  });
});
