import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entitlements, grant, ID1, ID2, identities, perIdentity, revoke, ROLE1 } from '../support/bodies';
import { AUTH } from '../support/clients';
import { startGateway, texts, type TestGateway } from '../support/gateway';
import { startRedis, type PrivateRedis } from '../support/redis-server';
import { future } from '../support/time';

type Body = Record<string, unknown>;
const items = (b: Body): Body[] => b.requestedItems as Body[];
const withItem = (base: () => Body, patch: Body, index = 0): Body => {
  const b = base();
  items(b)[index] = { ...items(b)[index], ...patch };
  return b;
};

/** Each case breaks exactly one rule of identitynow.md (or of the gateway) and names the message. */
const cases: { rule: string; body: unknown; message: string | RegExp }[] = [
  {
    rule: 'body must be an object',
    body: [grant()],
    message: 'the request body must be a JSON object (an IdentityNow AccessRequest)',
  },
  {
    rule: 'unknown top-level field',
    body: { ...grant(), priority: 'high' },
    message: 'priority is not a field of an IdentityNow access request; remove it',
  },
  {
    rule: 'unknown item field',
    body: withItem(grant, { colour: 'red' }),
    message: 'requestedItems[0].colour is not a field of an IdentityNow access request; remove it',
  },
  {
    rule: 'requestedFor required',
    body: { requestedItems: items(grant()) },
    message:
      'requestedFor is required (an array of identity ids), unless requestedForWithRequestedItems is used',
  },
  {
    rule: 'requestedItems required',
    body: { requestedFor: [ID1] },
    message: 'requestedItems is required (at least one item), unless requestedForWithRequestedItems is used',
  },
  {
    rule: 'requestedFor is an array',
    body: { ...grant(), requestedFor: ID1 },
    message: 'requestedFor must be an array',
  },
  {
    rule: 'requestedFor not empty',
    body: { ...grant(), requestedFor: [] },
    message: 'requestedFor must contain at least 1 elements',
  },
  {
    rule: 'identity ids not empty',
    body: { ...grant(), requestedFor: [ID1, ''] },
    message: 'each value in requestedFor must be a non-empty string of at most 255 characters',
  },
  {
    rule: 'requestedItems not empty',
    body: { ...grant(), requestedItems: [] },
    message: 'requestedItems must contain at least 1 elements',
  },
  {
    rule: 'item is an object',
    body: { ...grant(), requestedItems: ['ROLE'] },
    message: /^requestedItems\[0\]/,
  },
  {
    rule: 'item is not an array',
    body: { ...grant(), requestedItems: [[]] },
    message: 'requestedItems[0] must not be an array',
  },
  {
    rule: 'item type enum',
    body: withItem(grant, { type: 'GROUP' }),
    message: 'requestedItems[0].type must be one of ACCESS_PROFILE, ROLE, ENTITLEMENT',
  },
  {
    rule: 'item id required',
    body: { ...grant(), requestedItems: [{ type: 'ROLE' }] },
    message: 'requestedItems[0].id must be a string',
  },
  {
    rule: 'item id not empty',
    body: withItem(grant, { id: '   ' }),
    message: 'requestedItems[0].id must be a non-empty string of at most 255 characters',
  },
  {
    rule: 'requestType enum',
    body: { ...grant(), requestType: 'DELETE_ACCESS' },
    message: 'requestType must be one of GRANT_ACCESS, REVOKE_ACCESS, MODIFY_ACCESS',
  },
  {
    rule: 'at most 25 entitlements',
    body: { requestedFor: [ID1], requestedItems: entitlements(26) },
    message: 'requestedItems may contain at most 25 ENTITLEMENT items per request (found 26)',
  },
  {
    rule: 'at most 10 identities with entitlements',
    body: { requestedFor: identities(11), requestedItems: entitlements(1) },
    message: 'requestedFor may contain at most 10 identities when ENTITLEMENT items are requested (found 11)',
  },
  {
    rule: 'revoke: exactly one identity',
    body: { ...revoke(), requestedFor: [ID1, ID2] },
    message: 'requestedFor must contain exactly one identity for REVOKE_ACCESS (found 2)',
  },
  {
    rule: 'revoke: at most one entitlement',
    body: {
      ...revoke(),
      requestedItems: [
        { type: 'ENTITLEMENT', id: 'e1', comment: 'x' },
        { type: 'ENTITLEMENT', id: 'e2', comment: 'x' },
      ],
    },
    message: 'requestedItems may contain at most one ENTITLEMENT for REVOKE_ACCESS (found 2)',
  },
  {
    rule: 'revoke: comment required on every item',
    body: {
      ...revoke(),
      requestedItems: [
        { type: 'ROLE', id: 'r0', comment: 'x' },
        { type: 'ROLE', id: 'r1', comment: 'x' },
        { type: 'ROLE', id: 'r2', comment: 'x' },
        { type: 'ROLE', id: 'r3' },
      ],
    },
    message: 'requestedItems[3].comment is required for REVOKE_ACCESS',
  },
  {
    rule: 'revoke: no startDate',
    body: withItem(revoke, { startDate: future(1) }),
    message: 'requestedItems[0].startDate is not allowed for REVOKE_ACCESS',
  },
  {
    rule: 'revoke: no requestedForWithRequestedItems',
    body: { ...perIdentity(), requestType: 'REVOKE_ACCESS' },
    message: 'requestedForWithRequestedItems is only allowed for GRANT_ACCESS (requestType is REVOKE_ACCESS)',
  },
  {
    rule: 'removeDate in the future',
    body: withItem(grant, { removeDate: '2020-01-01T00:00:00Z' }),
    message: 'requestedItems[0].removeDate must be in the future (got 2020-01-01T00:00:00Z)',
  },
  {
    rule: 'date needs a time',
    body: withItem(grant, { removeDate: '2031-01-01' }),
    message:
      'requestedItems[0].removeDate must be an ISO-8601 date-time with a time and a UTC offset, e.g. 2030-01-31T17:00:00Z',
  },
  {
    rule: 'date needs an offset',
    body: withItem(grant, { removeDate: '2031-01-01T10:00:00' }),
    message:
      'requestedItems[0].removeDate must be an ISO-8601 date-time with a time and a UTC offset, e.g. 2030-01-31T17:00:00Z',
  },
  {
    rule: 'date must exist in the calendar',
    body: withItem(grant, { removeDate: '2031-02-30T10:00:00Z' }),
    message:
      'requestedItems[0].removeDate must be an ISO-8601 date-time with a time and a UTC offset, e.g. 2030-01-31T17:00:00Z',
  },
  {
    rule: 'no empty date strings',
    body: withItem(grant, { startDate: '' }),
    message: 'requestedItems[0].startDate must not be an empty string (omit the field instead)',
  },
  {
    rule: 'removeDate after startDate',
    body: withItem(grant, { startDate: future(10), removeDate: future(5) }),
    message: 'requestedItems[0].removeDate must be after requestedItems[0].startDate',
  },
  {
    rule: 'no empty comment',
    body: withItem(grant, { comment: '' }),
    message: 'requestedItems[0].comment must be a non-empty string of at most 4000 characters',
  },
  {
    rule: 'no empty assignmentId',
    body: withItem(revoke, { assignmentId: '' }),
    message: 'requestedItems[0].assignmentId must be a non-empty string of at most 255 characters',
  },
  {
    rule: 'either/or: requestedFor with requestedForWithRequestedItems',
    body: { ...perIdentity(), requestedFor: [ID1] },
    message: 'requestedFor must be omitted when requestedForWithRequestedItems is used',
  },
  {
    rule: 'either/or: requestedItems with requestedForWithRequestedItems',
    body: { ...perIdentity(), requestedItems: items(grant()) },
    message: 'requestedItems must be omitted when requestedForWithRequestedItems is used',
  },
  {
    rule: 'per-identity items not empty',
    body: { requestedForWithRequestedItems: [{ identityId: ID1, requestedItems: [] }] },
    message: 'requestedForWithRequestedItems[0].requestedItems must contain at least 1 elements',
  },
  {
    rule: 'per-identity: at most 10 identities with entitlements',
    body: {
      requestedForWithRequestedItems: identities(11).map((identityId) => ({
        identityId,
        requestedItems: entitlements(1),
      })),
    },
    message:
      'requestedForWithRequestedItems may contain at most 10 identities when ENTITLEMENT items are requested (found 11)',
  },
  {
    rule: 'per-identity: removeDate in the future',
    body: {
      requestedForWithRequestedItems: [
        { identityId: ID1, requestedItems: [{ type: 'ROLE', id: 'r', removeDate: '2001-01-01T00:00:00Z' }] },
      ],
    },
    message:
      'requestedForWithRequestedItems[0].requestedItems[0].removeDate must be in the future (got 2001-01-01T00:00:00Z)',
  },
  {
    rule: 'reserved request metadata',
    body: { ...grant(), clientMetadata: { gatewayClientId: 'spoof' } },
    message:
      'clientMetadata.gatewayClientId is reserved: clientMetadata keys starting with "gateway" are set by the gateway',
  },
  {
    rule: 'reserved item metadata',
    body: withItem(grant, { clientMetadata: { gatewaySubmissionId: 'x' } }),
    message:
      'requestedItems[0].clientMetadata.gatewaySubmissionId is reserved: clientMetadata keys starting with "gateway" are set by the gateway',
  },
  {
    rule: 'metadata values are strings',
    body: { ...grant(), clientMetadata: { ticket: 7 } },
    message: 'clientMetadata.ticket must be a string',
  },
  {
    rule: 'metadata is a map',
    body: { ...grant(), clientMetadata: ['a'] },
    message: 'clientMetadata must be an object mapping strings to strings',
  },
  {
    rule: 'pair cap',
    body: {
      requestedFor: identities(101),
      requestedItems: Array.from({ length: 100 }, (_, i) => ({ type: 'ROLE', id: `r${i}` })),
    },
    message:
      'requestedFor x requestedItems is 10100 identity-item pairs; the gateway accepts at most 10000 per request',
  },
  {
    rule: 'nesting depth',
    body: {
      ...grant(),
      clientMetadata: { a: { b: { c: { d: { e: { f: { g: { h: { i: { j: 'x' } } } } } } } } } },
    },
    message: 'the request body is nested deeper than 10 levels',
  },
];

const ISO_MESSAGE = 'must be an ISO-8601 date-time with a time and a UTC offset, e.g. 2030-01-31T17:00:00Z';

/**
 * Shape errors and cross-field rules in one answer: a rule is judged when the values it reads are
 * well-formed, and a rule about a field's presence applies whatever its value.
 */
const combined: { name: string; body: unknown; messages: string[] }[] = [
  {
    name: 'revoke without comment and with a malformed removeDate',
    body: { ...revoke(), requestedItems: [{ type: 'ROLE', id: ROLE1, removeDate: '2031-01-01' }] },
    messages: [
      `requestedItems[0].removeDate ${ISO_MESSAGE}`,
      'requestedItems[0].comment is required for REVOKE_ACCESS',
    ],
  },
  {
    name: 'unknown field, revoke for two identities, no requestedItems',
    body: { requestType: 'REVOKE_ACCESS', requestedFor: [ID1, ID2], priority: 'high' },
    messages: [
      'priority is not a field of an IdentityNow access request; remove it',
      'requestedItems is required (at least one item), unless requestedForWithRequestedItems is used',
      'requestedFor must contain exactly one identity for REVOKE_ACCESS (found 2)',
    ],
  },
  {
    name: 'bad item type, reserved metadata, a past removeDate on another item',
    body: {
      ...grant(),
      clientMetadata: { gatewayClientId: 'spoof' },
      requestedItems: [
        { type: 'GROUP', id: 'g1' },
        { type: 'ROLE', id: ROLE1, removeDate: '2020-01-01T00:00:00Z' },
      ],
    },
    messages: [
      'requestedItems[0].type must be one of ACCESS_PROFILE, ROLE, ENTITLEMENT',
      'clientMetadata.gatewayClientId is reserved: clientMetadata keys starting with "gateway" are set by the gateway',
      'requestedItems[1].removeDate must be in the future (got 2020-01-01T00:00:00Z)',
    ],
  },
  {
    name: 'a malformed comment is not also "required"; a malformed startDate is still not allowed',
    body: { ...revoke(), requestedItems: [{ type: 'ROLE', id: ROLE1, comment: '', startDate: 'soon' }] },
    messages: [
      'requestedItems[0].comment must be a non-empty string of at most 4000 characters',
      `requestedItems[0].startDate ${ISO_MESSAGE}`,
      'requestedItems[0].startDate is not allowed for REVOKE_ACCESS',
    ],
  },
  {
    name: 'a malformed identity list hides the identity counts, not the entitlement cap',
    body: { requestedFor: [...identities(11), ''], requestedItems: entitlements(26) },
    messages: [
      'each value in requestedFor must be a non-empty string of at most 255 characters',
      'requestedItems may contain at most 25 ENTITLEMENT items per request (found 26)',
    ],
  },
  {
    name: 'per-identity: bad item type, REVOKE_ACCESS, a past removeDate',
    body: {
      requestType: 'REVOKE_ACCESS',
      requestedForWithRequestedItems: [
        {
          identityId: ID1,
          requestedItems: [
            { type: 'GROUP', id: 'g1' },
            { type: 'ROLE', id: ROLE1, removeDate: '2020-01-01T00:00:00Z' },
          ],
        },
      ],
    },
    messages: [
      'requestedForWithRequestedItems[0].requestedItems[0].type must be one of ACCESS_PROFILE, ROLE, ENTITLEMENT',
      'requestedForWithRequestedItems is only allowed for GRANT_ACCESS (requestType is REVOKE_ACCESS)',
      'requestedForWithRequestedItems[0].requestedItems[1].removeDate must be in the future (got 2020-01-01T00:00:00Z)',
    ],
  },
];

describe('POST /v3/access-requests validation (one rule per case)', () => {
  let redis: PrivateRedis;
  let gw: TestGateway;
  beforeAll(async () => {
    redis = await startRedis();
    gw = await startGateway({ REDIS_URL: redis.url, QUEUE_PREFIX: 'val' });
  });
  afterAll(async () => {
    await gw.close();
    await redis.stop();
  });

  it.each(cases)('400: $rule', async ({ body, message }) => {
    const res = await request(gw.server)
      .post('/v3/access-requests')
      .set('authorization', AUTH)
      .send(body as object);
    expect(res.status).toBe(400);
    expect(res.body.detailCode).toBe('400.1 Bad Request Content');
    const got = texts(res.body);
    if (typeof message === 'string') expect(got).toContain(message);
    else expect(got.some((t) => message.test(t))).toBe(true);
    expect(res.body.causes).toEqual([]);
    expect(typeof res.body.trackingId).toBe('string');
  });

  it('reports every broken rule at once, one message each', async () => {
    const body = {
      requestedFor: [ID1, ID2],
      requestType: 'REVOKE_ACCESS',
      requestedItems: [
        { type: 'ROLE', id: 'r1' },
        { type: 'ROLE', id: 'r2', startDate: future(1), comment: 'x' },
      ],
    };
    const res = await request(gw.server).post('/v3/access-requests').set('authorization', AUTH).send(body);
    expect(res.status).toBe(400);
    expect(texts(res.body)).toEqual([
      'requestedFor must contain exactly one identity for REVOKE_ACCESS (found 2)',
      'requestedItems[0].comment is required for REVOKE_ACCESS',
      'requestedItems[1].startDate is not allowed for REVOKE_ACCESS',
    ]);
  });

  it.each(combined)('400 with shape and cross-field errors together: $name', async ({ body, messages }) => {
    const res = await request(gw.server)
      .post('/v3/access-requests')
      .set('authorization', AUTH)
      .send(body as object);
    expect(res.status).toBe(400);
    expect(texts(res.body)).toEqual(messages);
  });

  it('nothing invalid reaches the queue', async () => {
    const keys = await redis.client().keys('val:submissions:*');
    expect(keys.filter((k) => /:[0-9a-f-]{36}$/.test(k))).toEqual([]);
  });

  it('400 for malformed JSON, 415 for another content type, 413 over the body limit, all ErrorResponseDto', async () => {
    const malformed = await request(gw.server)
      .post('/v3/access-requests')
      .set('authorization', AUTH)
      .set('content-type', 'application/json')
      .send('{"requestedFor": [');
    expect(malformed.status).toBe(400);
    expect(malformed.body.messages[0].text).toBe('the request body is not valid JSON');

    const text = await request(gw.server)
      .post('/v3/access-requests')
      .set('authorization', AUTH)
      .set('content-type', 'text/plain')
      .send('hello');
    expect(text.status).toBe(415);
    expect(text.body.detailCode).toBe('415 Unsupported Media Type');
    expect(text.body.messages[0].text).toBe('Content-Type must be application/json');

    const form = await request(gw.server)
      .post('/v3/access-requests')
      .set('authorization', AUTH)
      .type('form')
      .send('requestedFor=x');
    expect(form.status).toBe(415);

    const huge = { ...grant(), clientMetadata: { note: 'x'.repeat(gw.config.http.bodyLimitBytes) } };
    const large = await request(gw.server).post('/v3/access-requests').set('authorization', AUTH).send(huge);
    expect(large.status).toBe(413);
    expect(large.body.detailCode).toBe('413 Payload Too Large');
    expect(large.body.messages[0].text).toBe(
      `the request body is larger than the limit of ${gw.config.http.bodyLimitBytes} bytes`,
    );
  });

  it('no stack traces or internals in error bodies', async () => {
    const res = await request(gw.server)
      .post('/v3/access-requests')
      .set('authorization', AUTH)
      .set('content-type', 'application/json')
      .send('{');
    expect(JSON.stringify(res.body)).not.toMatch(/node_modules|at \w+ \(|\.js:\d+/);
    const unknown = await request(gw.server).get('/no/such/route');
    expect(unknown.status).toBe(404);
    expect(unknown.body.detailCode).toBe('404 Not found');
  });
});
