import { future } from '../support/time';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSimulator, type RunningSimulator, type SimCreatedRecord } from '../../src/simulator';
import { status, submit, token } from '../support/sim-client';
import { expectConforms, STATUS, SUBMIT } from './conforms';

const past = (): string => future(-1);
const tag = (sub: string, n: number): Record<string, string> => ({
  gatewaySubmissionId: sub,
  gatewayTrackingId: `trk-${n}`,
});
const ents = (n: number, prefix = 'e'): { type: string; id: string }[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'ENTITLEMENT', id: `${prefix}-${i}` }));
const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `id-${i}`);

describe('simulator body shapes and caps', () => {
  let sim: RunningSimulator;
  let bearer: string;

  beforeAll(async () => {
    sim = await createSimulator({
      rateLimit: { max: 0, windowMs: 1 },
      progression: { completeAfterMs: null },
    });
    bearer = await token(sim);
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => {
    sim.control.reset();
  });

  const comparable = (r: SimCreatedRecord): unknown => [
    r.pairKey,
    r.clientMetadata,
    r.requestClientMetadata,
    r.comment,
    r.startDate,
    r.removeDate,
    r.gatewaySubmissionId,
  ];

  it('the nested shape records and echoes item-level clientMetadata per item exactly like the flat shape', async () => {
    const removeDate = future();
    const nested = await submit(sim, bearer, {
      requestedForWithRequestedItems: [
        {
          identityId: 'alice',
          requestedItems: [
            { type: 'ROLE', id: 'r-1', comment: 'c', clientMetadata: tag('sub-1', 1), removeDate },
            { type: 'ENTITLEMENT', id: 'e-1', clientMetadata: tag('sub-1', 2) },
          ],
        },
        { identityId: 'bob', requestedItems: [{ type: 'ROLE', id: 'r-1', clientMetadata: tag('sub-1', 3) }] },
      ],
      clientMetadata: { gatewayClientId: 'hr' },
    });
    expect(nested.status).toBe(202);
    expectConforms(...SUBMIT, nested);
    const entries = nested.body.newRequests as { requestedFor: string }[];
    expect(entries.map((n) => n.requestedFor)).toEqual(['alice', 'bob']);
    const fromNested = sim.control.records().created.map(comparable);
    expect(sim.control.summary().submissionCounts).toEqual({ 'sub-1': 1 });

    sim.control.reset();
    await submit(sim, bearer, {
      requestedFor: ['alice'],
      requestedItems: [
        { type: 'ROLE', id: 'r-1', comment: 'c', clientMetadata: tag('sub-1', 1), removeDate },
        { type: 'ENTITLEMENT', id: 'e-1', clientMetadata: tag('sub-1', 2) },
      ],
      clientMetadata: { gatewayClientId: 'hr' },
    });
    await submit(sim, bearer, {
      requestedFor: ['bob'],
      requestedItems: [{ type: 'ROLE', id: 'r-1', clientMetadata: tag('sub-1', 3) }],
      clientMetadata: { gatewayClientId: 'hr' },
    });
    expect(sim.control.records().created.map(comparable)).toEqual(fromNested);

    const st = await status(sim, bearer, { 'requested-for': 'alice', sorters: 'name' });
    expectConforms(...STATUS, st);
    expect(
      (st.body as { name: string; clientMetadata: unknown }[]).map((e) => [e.name, e.clientMetadata]),
    ).toEqual([
      ['ENTITLEMENT e-1', tag('sub-1', 2)],
      ['ROLE r-1', tag('sub-1', 1)],
    ]);
  });

  it('accountSelection of the nested shape is recorded and listed as requestedAccounts', async () => {
    const res = await submit(sim, bearer, {
      requestedForWithRequestedItems: [
        {
          identityId: 'carol',
          requestedItems: [
            {
              type: 'ENTITLEMENT',
              id: 'e-9',
              accountSelection: [
                { sourceId: 'src-1', accounts: [{ accountUuid: null, nativeIdentity: 'CN=carol' }] },
              ],
            },
          ],
        },
      ],
    });
    expect(res.status).toBe(202);
    expect(sim.control.records().created[0]?.accountSelection).toEqual([
      { sourceId: 'src-1', accounts: [{ accountUuid: null, nativeIdentity: 'CN=carol' }] },
    ]);
    const st = await status(sim, bearer, { 'requested-for': 'carol' });
    expectConforms(...STATUS, st);
    expect(st.body[0].requestedAccounts).toEqual([
      { name: 'CN=carol', type: 'ACCOUNT', accountUuid: null, accountId: 'CN=carol', sourceName: 'src-1' },
    ]);
  });

  const accepted: [string, () => unknown][] = [
    [
      'nested: 25 entitlement items over 5 identities',
      () => ({
        requestedForWithRequestedItems: ids(5).map((identityId, i) => ({
          identityId,
          requestedItems: ents(5, `x${i}`),
        })),
      }),
    ],
    [
      'nested: 10 identities with entitlements',
      () => ({
        requestedForWithRequestedItems: ids(10).map((identityId) => ({
          identityId,
          requestedItems: ents(1),
        })),
      }),
    ],
    [
      'nested: 30 identities with roles only (no cap)',
      () => ({
        requestedForWithRequestedItems: ids(30).map((identityId) => ({
          identityId,
          requestedItems: [{ type: 'ROLE', id: 'r' }],
        })),
      }),
    ],
    ['flat: 25 entitlements for 10 identities', () => ({ requestedFor: ids(10), requestedItems: ents(25) })],
    [
      'REVOKE: one role and one entitlement, with comments',
      () => ({
        requestedFor: ['dave'],
        requestType: 'REVOKE_ACCESS',
        requestedItems: [
          { type: 'ROLE', id: 'r', comment: 'leaver' },
          { type: 'ENTITLEMENT', id: 'e', comment: 'leaver', removeDate: future() },
        ],
      }),
    ],
  ];

  it.each(accepted)('202: %s', async (_name, body) => {
    const res = await submit(sim, bearer, body());
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expectConforms(...SUBMIT, res);
  });

  const refused: [string, () => unknown, string][] = [
    [
      'nested: 27 entitlement items in total (9 identities × the same 3 ids)',
      () => ({
        requestedForWithRequestedItems: ids(9).map((identityId) => ({ identityId, requestedItems: ents(3) })),
      }),
      'at most 25 entitlements',
    ],
    [
      'nested: 11 identities with one entitlement among them',
      () => ({
        requestedForWithRequestedItems: ids(11).map((identityId, i) => ({
          identityId,
          requestedItems: [{ type: i === 0 ? 'ENTITLEMENT' : 'ROLE', id: 'x' }],
        })),
      }),
      'at most 10 identities',
    ],
    [
      'flat: 26 entitlement entries (one repeated)',
      () => ({
        requestedFor: ['a'],
        requestedItems: [...ents(25), { type: 'ENTITLEMENT', id: 'e-0' }],
      }),
      'at most 25 entitlements',
    ],
    [
      'nested: MODIFY',
      () => ({
        requestType: 'MODIFY_ACCESS',
        requestedForWithRequestedItems: [{ identityId: 'a', requestedItems: [{ type: 'ROLE', id: 'r' }] }],
      }),
      'only supported for GRANT_ACCESS',
    ],
    [
      'nested: past removeDate names the nested item',
      () => ({
        requestedForWithRequestedItems: [
          { identityId: 'a', requestedItems: [{ type: 'ROLE', id: 'r' }] },
          { identityId: 'b', requestedItems: [{ type: 'ROLE', id: 'r', removeDate: past() }] },
        ],
      }),
      'requestedForWithRequestedItems[1].requestedItems[0].removeDate must be a future date-time',
    ],
    [
      'nested: empty identityId',
      () => ({
        requestedForWithRequestedItems: [{ identityId: ' ', requestedItems: [{ type: 'ROLE', id: 'r' }] }],
      }),
      'requestedForWithRequestedItems[0].identityId must not be empty',
    ],
    [
      'nested: empty items for one identity',
      () => ({
        requestedForWithRequestedItems: [{ identityId: 'a', requestedItems: [] }],
      }),
      'requestedForWithRequestedItems[0].requestedItems must have at least 1',
    ],
    [
      'REVOKE: the same entitlement twice',
      () => ({
        requestedFor: ['a'],
        requestType: 'REVOKE_ACCESS',
        requestedItems: [
          { type: 'ENTITLEMENT', id: 'e', comment: 'c' },
          { type: 'ENTITLEMENT', id: 'e', comment: 'c' },
        ],
      }),
      'at most 1 entitlement',
    ],
    [
      'REVOKE: the same identity twice',
      () => ({
        requestedFor: ['a', 'a'],
        requestType: 'REVOKE_ACCESS',
        requestedItems: [{ type: 'ROLE', id: 'r', comment: 'c' }],
      }),
      'exactly one identity',
    ],
    [
      'REVOKE: an empty comment',
      () => ({
        requestedFor: ['a'],
        requestType: 'REVOKE_ACCESS',
        requestedItems: [{ type: 'ROLE', id: 'r', comment: ' ' }],
      }),
      'requestedItems[0].comment is required for REVOKE_ACCESS',
    ],
  ];

  it.each(refused)('400 naming the rule: %s', async (_name, body, text) => {
    const res = await submit(sim, bearer, body());
    expect(res.status).toBe(400);
    expectConforms(...SUBMIT, res);
    expect((res.body.messages as { text: string }[]).map((m) => m.text).join(' | ')).toContain(text);
    expect(sim.control.records().created).toEqual([]);
  });
});
