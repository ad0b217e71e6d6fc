import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSimulator, type RunningSimulator } from '../../src/simulator';
import { future } from '../support/time';
import { http, status, submit, token } from '../support/sim-client';
import { CANCEL, expectConforms, STATUS, SUBMIT } from './conforms';

// Every answer must validate against the response schema SailPoint's v3 spec declares (see conforms.ts).
const past = (days = 1): string => future(-days);

describe('simulator contract: responses validate against the official v3 spec', () => {
  let sim: RunningSimulator;
  let bearer: string;

  beforeAll(async () => {
    sim = await createSimulator({
      rateLimit: { max: 0, windowMs: 10_000 },
      progression: { completeAfterMs: null, rejectRate: 0 },
    });
    const res = await http(`${sim.url}/oauth/token`, {
      form: { grant_type: 'client_credentials', client_id: 'sim-client', client_secret: 'sim-secret' },
    });
    bearer = res.body.access_token;
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => {
    sim.control.reset();
  });

  const valid: [string, () => unknown][] = [
    [
      'GRANT, several identities and items',
      () => ({
        requestedFor: ['id-a', 'id-b'],
        requestType: 'GRANT_ACCESS',
        requestedItems: [
          { type: 'ROLE', id: 'role-1', comment: 'c', clientMetadata: { k: 'v' }, removeDate: future() },
          { type: 'ENTITLEMENT', id: 'ent-1', startDate: past() },
          { type: 'ACCESS_PROFILE', id: 'ap-1' },
        ],
        clientMetadata: { gatewayClientId: 'hr' },
      }),
    ],
    [
      'requestType null defaults to GRANT',
      () => ({ requestedFor: ['id-a'], requestType: null, requestedItems: [{ type: 'ROLE', id: 'r' }] }),
    ],
    [
      'REVOKE of one entitlement with comment',
      () => ({
        requestedFor: ['id-a'],
        requestType: 'REVOKE_ACCESS',
        requestedItems: [{ type: 'ENTITLEMENT', id: 'ent-1', comment: 'leaver', nativeIdentity: 'CN=a' }],
      }),
    ],
    [
      'MODIFY with removeDate',
      () => ({
        requestedFor: ['id-a'],
        requestType: 'MODIFY_ACCESS',
        requestedItems: [{ type: 'ROLE', id: 'r', removeDate: future() }],
      }),
    ],
    [
      'requestedForWithRequestedItems',
      () => ({
        requestedForWithRequestedItems: [
          {
            identityId: 'id-a',
            requestedItems: [
              {
                type: 'ROLE',
                id: 'r',
                clientMetadata: { s: '1' },
                accountSelection: [
                  { sourceId: 'src', accounts: [{ accountUuid: null, nativeIdentity: 'CN=a' }] },
                ],
              },
            ],
          },
          { identityId: 'id-b', requestedItems: [{ type: 'ENTITLEMENT', id: 'e', removeDate: future() }] },
        ],
      }),
    ],
    [
      '25 entitlements for 10 identities',
      () => ({
        requestedFor: Array.from({ length: 10 }, (_, i) => `id-${i}`),
        requestedItems: Array.from({ length: 25 }, (_, i) => ({ type: 'ENTITLEMENT', id: `e-${i}` })),
      }),
    ],
    [
      '200 roles for 20 identities (no cap without entitlements)',
      () => ({
        requestedFor: Array.from({ length: 20 }, (_, i) => `id-${i}`),
        requestedItems: Array.from({ length: 10 }, (_, i) => ({ type: 'ROLE', id: `r-${i}` })),
      }),
    ],
  ];

  it.each(valid)('202 for a valid request: %s', async (_name, body) => {
    const res = await submit(sim, bearer, body());
    expect(res.status).toBe(202);
    expectConforms(...SUBMIT, res);
    expect(res.body.newRequests.length).toBeGreaterThan(0);
  });

  it('401 without a token, with an unknown token and with an expired token', async () => {
    const body = { requestedFor: ['a'], requestedItems: [{ type: 'ROLE', id: 'r' }] };
    const none = await http(`${sim.url}/v3/access-requests`, { body });
    expect(none.status).toBe(401);
    expectConforms(...SUBMIT, none);
    const unknown = await submit(sim, 'not-a-token', body);
    expect(unknown.status).toBe(401);
    expectConforms(...SUBMIT, unknown);
    const t = await token(sim);
    sim.control.expireAllTokens();
    const expired = await submit(sim, t, body);
    expect(expired.status).toBe(401);
    expect(expired.body).toEqual({ error: 'JWT validation failed: JWT is expired' });
    expectConforms(...SUBMIT, expired);
    bearer = await token(sim);
  });

  it('403 ErrorResponseDto for an API-authority token on submit', async () => {
    const api = await token(sim, 'sim-api-client', 'sim-api-secret');
    const res = await submit(sim, api, { requestedFor: ['a'], requestedItems: [{ type: 'ROLE', id: 'r' }] });
    expect(res.status).toBe(403);
    expectConforms(...SUBMIT, res);
    expect(JSON.stringify(res.body.messages)).toContain('personal access token');
    expect(sim.control.records().created).toEqual([]);
  });

  it.each([401, 429, 500, 502, 503, 504])(
    'scripted %i on submit, status and cancel conforms',
    async (code) => {
      for (const operation of ['submit', 'status', 'cancel'] as const) {
        sim.control.script({ operation, action: { kind: 'error', status: code, retryAfterSeconds: 2 } });
      }
      const s = await submit(sim, bearer, {
        requestedFor: ['a'],
        requestedItems: [{ type: 'ROLE', id: 'r' }],
      });
      expect(s.status).toBe(code);
      expectConforms(...SUBMIT, s);
      const st = await status(sim, bearer, { 'requested-for': 'a' });
      expect(st.status).toBe(code);
      expectConforms(...STATUS, st);
      const c = await http(`${sim.url}/v3/access-requests/cancel`, {
        headers: { authorization: `Bearer ${bearer}` },
        body: { accountActivityId: 'x', comment: 'c' },
      });
      expect(c.status).toBe(code);
      expectConforms(...CANCEL, c);
      if (code === 429) {
        expect(s.headers.get('retry-after')).toBe('2');
        expect(s.body).toEqual({ message: ' Rate Limit Exceeded ' });
      }
      expect(sim.control.records().created).toEqual([]);
    },
  );

  it('random 5xx error rates, the 429 storm and the rate limit answer in spec shape', async () => {
    sim.control.configureFaults({ errorRates: { 503: 1 } });
    const r1 = await status(sim, bearer, {});
    expect(r1.status).toBe(503);
    expectConforms(...STATUS, r1);
    sim.control.configureFaults({ errorRates: {} });

    sim.control.startRateLimitStorm(30);
    const r2 = await submit(sim, bearer, {
      requestedFor: ['a'],
      requestedItems: [{ type: 'ROLE', id: 'r' }],
    });
    expect(r2.status).toBe(429);
    expect(Number(r2.headers.get('retry-after'))).toBeGreaterThan(0);
    expectConforms(...SUBMIT, r2);
    sim.control.stopRateLimitStorm();

    sim.control.setRateLimit({ max: 1, windowMs: 60_000 });
    expect((await status(sim, bearer, {})).status).toBe(200);
    const r3 = await status(sim, bearer, {});
    expect(r3.status).toBe(429);
    expectConforms(...STATUS, r3);
    sim.control.setRateLimit({ max: 0, windowMs: 10_000 });
  });

  it('a committed 500 creates the request and answers in spec shape', async () => {
    sim.control.script({ operation: 'submit', action: { kind: 'error', status: 500, commit: true } });
    const res = await submit(sim, bearer, {
      requestedFor: ['a'],
      requestedItems: [{ type: 'ROLE', id: 'r' }],
    });
    expect(res.status).toBe(500);
    expectConforms(...SUBMIT, res);
    expect(sim.control.pairCount('GRANT_ACCESS|a|ROLE|r')).toBe(1);
    expect(sim.control.records().created[0]?.responseLost).toBe(true);
  });

  it('status entries in every state conform (EXECUTING, REQUEST_COMPLETED, REJECTED, CANCELLED)', async () => {
    const a = await submit(sim, bearer, {
      requestedFor: ['who'],
      requestedItems: [{ type: 'ROLE', id: 'r1', comment: 'please', clientMetadata: { x: 'y' } }],
    });
    await submit(sim, bearer, { requestedFor: ['who'], requestedItems: [{ type: 'ROLE', id: 'r3' }] });
    const id = a.body.newRequests[0].accessRequestIds[0] as string;
    const c = await http(`${sim.url}/v3/access-requests/cancel`, {
      headers: { authorization: `Bearer ${bearer}` },
      body: { accountActivityId: id, comment: 'mistake' },
    });
    expect(c.status).toBe(202);
    expect(c.body).toEqual({});
    expectConforms(...CANCEL, c);
    sim.control.setProgression({ completeAfterMs: 0 });
    await submit(sim, bearer, { requestedFor: ['who'], requestedItems: [{ type: 'ROLE', id: 'r4' }] });
    // Items whose id starts with "reject" are always rejected.
    await submit(sim, bearer, { requestedFor: ['who'], requestedItems: [{ type: 'ROLE', id: 'reject-me' }] });
    sim.control.setProgression({ completeAfterMs: null });
    const res = await status(sim, bearer, { 'requested-for': 'who' });
    expect(res.status).toBe(200);
    expectConforms(...STATUS, res);
    const byName = Object.fromEntries(
      (res.body as { name: string; state: string }[]).map((e) => [e.name, e.state]),
    );
    expect(byName).toEqual({
      'ROLE r1': 'CANCELLED',
      'ROLE r3': 'EXECUTING',
      'ROLE r4': 'REQUEST_COMPLETED',
      'ROLE reject-me': 'REJECTED',
    });
  });

  it('status 400 for unsupported filters, sorters and limits; cancel 404 and 400', async () => {
    const queries: Record<string, string>[] = [
      { filters: 'name eq "x"' },
      { filters: 'accessRequestId in "x"' },
      { sorters: 'state' },
      { limit: '251' },
      { offset: '-1' },
      { 'regarding-identity': 'a', 'requested-for': 'b' },
    ];
    for (const q of queries) {
      const res = await status(sim, bearer, q);
      expect(res.status, JSON.stringify(q)).toBe(400);
      expectConforms(...STATUS, res);
    }
    const nf = await http(`${sim.url}/v3/access-requests/cancel`, {
      headers: { authorization: `Bearer ${bearer}` },
      body: { accountActivityId: 'nope', comment: 'c' },
    });
    expect(nf.status).toBe(404);
    expectConforms(...CANCEL, nf);
    const bad = await http(`${sim.url}/v3/access-requests/cancel`, {
      headers: { authorization: `Bearer ${bearer}` },
      body: { accountActivityId: 'nope' },
    });
    expect(bad.status).toBe(400);
    expectConforms(...CANCEL, bad);
  });
});
