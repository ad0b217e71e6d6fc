import { future } from '../support/time';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSimulator, type RunningSimulator } from '../../src/simulator';
import { http, submit } from '../support/sim-client';
import { expectConforms, SUBMIT } from './conforms';

const past = (days = 1): string => future(-days);

describe('simulator contract: invalid submit bodies answer 400 in spec shape', () => {
  let sim: RunningSimulator;
  let bearer: string;
  let selfId: string;

  beforeAll(async () => {
    sim = await createSimulator({
      rateLimit: { max: 0, windowMs: 10_000 },
      progression: { completeAfterMs: null, rejectRate: 0 },
    });
    const res = await http(`${sim.url}/oauth/token`, {
      form: { grant_type: 'client_credentials', client_id: 'sim-client', client_secret: 'sim-secret' },
    });
    bearer = res.body.access_token;
    selfId = res.body.identity_id;
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => {
    sim.control.reset();
  });

  const invalid: [string, () => unknown, string][] = [
    [
      'missing requestedFor',
      () => ({ requestedItems: [{ type: 'ROLE', id: 'r' }] }),
      'requestedFor is required',
    ],
    ['missing requestedItems', () => ({ requestedFor: ['a'] }), 'requestedItems is required'],
    [
      'empty requestedItems',
      () => ({ requestedFor: ['a'], requestedItems: [] }),
      'requestedItems must have at least 1',
    ],
    [
      'empty requestedFor',
      () => ({ requestedFor: [], requestedItems: [{ type: 'ROLE', id: 'r' }] }),
      'requestedFor must have at least 1',
    ],
    [
      'requestedFor not an array',
      () => ({ requestedFor: 'a', requestedItems: [{ type: 'ROLE', id: 'r' }] }),
      'requestedFor must be of type array',
    ],
    [
      'unknown item type',
      () => ({ requestedFor: ['a'], requestedItems: [{ type: 'APP', id: 'r' }] }),
      'requestedItems[0].type must be one of',
    ],
    [
      'item without id',
      () => ({ requestedFor: ['a'], requestedItems: [{ type: 'ROLE' }] }),
      'requestedItems[0].id is required',
    ],
    [
      'empty item id',
      () => ({ requestedFor: ['a'], requestedItems: [{ type: 'ROLE', id: ' ' }] }),
      'requestedItems[0].id must not be empty',
    ],
    [
      'unknown requestType',
      () => ({ requestedFor: ['a'], requestType: 'GRANT', requestedItems: [{ type: 'ROLE', id: 'r' }] }),
      'requestType must be one of',
    ],
    [
      'clientMetadata value not a string',
      () => ({ requestedFor: ['a'], requestedItems: [{ type: 'ROLE', id: 'r', clientMetadata: { n: 1 } }] }),
      'requestedItems[0].clientMetadata.n must be of type string',
    ],
    [
      'startDate not a date-time',
      () => ({ requestedFor: ['a'], requestedItems: [{ type: 'ROLE', id: 'r', startDate: '2030-01-01' }] }),
      'requestedItems[0].startDate must be a valid date-time',
    ],
    [
      'empty startDate',
      () => ({ requestedFor: ['a'], requestedItems: [{ type: 'ROLE', id: 'r', startDate: '' }] }),
      'requestedItems[0].startDate must be a valid date-time',
    ],
    [
      'removeDate in the past',
      () => ({ requestedFor: ['a'], requestedItems: [{ type: 'ROLE', id: 'r', removeDate: past() }] }),
      'requestedItems[0].removeDate must be a future date-time',
    ],
    ['body is an array', () => [], 'body must be of type object'],
    [
      '26 entitlements',
      () => ({
        requestedFor: ['a'],
        requestedItems: Array.from({ length: 26 }, (_, i) => ({ type: 'ENTITLEMENT', id: `e-${i}` })),
      }),
      'at most 25 entitlements',
    ],
    [
      '11 identities with an entitlement',
      () => ({
        requestedFor: Array.from({ length: 11 }, (_, i) => `id-${i}`),
        requestedItems: [{ type: 'ENTITLEMENT', id: 'e' }],
      }),
      'at most 10 identities',
    ],
    [
      'REVOKE for two identities',
      () => ({
        requestedFor: ['a', 'b'],
        requestType: 'REVOKE_ACCESS',
        requestedItems: [{ type: 'ROLE', id: 'r', comment: 'c' }],
      }),
      'exactly one identity',
    ],
    [
      'REVOKE without comment',
      () => ({
        requestedFor: ['a'],
        requestType: 'REVOKE_ACCESS',
        requestedItems: [{ type: 'ROLE', id: 'r' }],
      }),
      'requestedItems[0].comment is required for REVOKE_ACCESS',
    ],
    [
      'REVOKE with startDate',
      () => ({
        requestedFor: ['a'],
        requestType: 'REVOKE_ACCESS',
        requestedItems: [{ type: 'ROLE', id: 'r', comment: 'c', startDate: future() }],
      }),
      'startDate is not allowed for REVOKE_ACCESS',
    ],
    [
      'REVOKE of two entitlements',
      () => ({
        requestedFor: ['a'],
        requestType: 'REVOKE_ACCESS',
        requestedItems: [
          { type: 'ENTITLEMENT', id: 'e1', comment: 'c' },
          { type: 'ENTITLEMENT', id: 'e2', comment: 'c' },
        ],
      }),
      'at most 1 entitlement',
    ],
    [
      'REVOKE for oneself',
      () => ({
        requestedFor: [selfId],
        requestType: 'REVOKE_ACCESS',
        requestedItems: [{ type: 'ROLE', id: 'r', comment: 'c' }],
      }),
      'self request',
    ],
    [
      'requestedForWithRequestedItems together with requestedFor',
      () => ({
        requestedFor: ['a'],
        requestedItems: [{ type: 'ROLE', id: 'r' }],
        requestedForWithRequestedItems: [{ identityId: 'a', requestedItems: [{ type: 'ROLE', id: 'r' }] }],
      }),
      'can only be used when requestedFor and requestedItems are not provided',
    ],
    [
      'requestedForWithRequestedItems for REVOKE',
      () => ({
        requestType: 'REVOKE_ACCESS',
        requestedForWithRequestedItems: [
          { identityId: 'a', requestedItems: [{ type: 'ROLE', id: 'r', comment: 'c' }] },
        ],
      }),
      'only supported for GRANT_ACCESS',
    ],
    [
      'requestedForWithRequestedItems entry without identityId',
      () => ({ requestedForWithRequestedItems: [{ requestedItems: [{ type: 'ROLE', id: 'r' }] }] }),
      'requestedForWithRequestedItems[0].identityId is required',
    ],
  ];

  it.each(invalid)('400 ErrorResponseDto naming the problem: %s', async (_name, body, text) => {
    const res = await submit(sim, bearer, body());
    expect(res.status).toBe(400);
    expectConforms(...SUBMIT, res);
    expect(res.body.detailCode).toBe('400.1 Bad Request Content');
    const texts = (res.body.messages as { text: string }[]).map((m) => m.text).join(' | ');
    expect(texts).toContain(text);
    expect(sim.control.records().created).toEqual([]);
  });
});
