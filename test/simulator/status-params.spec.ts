import { sleep } from '../support/time';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type RunningSimulator } from '../../src/simulator';
import { status, submit, token } from '../support/sim-client';
import { expectConforms, STATUS } from './conforms';

interface Entry {
  accessRequestId: string;
  accountActivityItemId: string;
  name: string;
  created: string;
  modified: string;
  requester: { id: string };
}

describe('simulator GET /v3/access-request-status: the documented parameters and their limits', () => {
  let sim: RunningSimulator;
  let bearer: string;
  let other: string;
  const ids: string[] = [];
  let items: Entry[] = [];

  beforeAll(async () => {
    sim = await createSimulator({
      rateLimit: { max: 0, windowMs: 1 },
      progression: { completeAfterMs: null, rejectRate: 0 },
      clients: [
        { clientId: 'sim-client', clientSecret: 'sim-secret', kind: 'pat', identityId: 'gateway-id' },
        { clientId: 'other', clientSecret: 'other-secret', kind: 'pat', identityId: 'other-id' },
      ],
    });
    bearer = await token(sim);
    other = await token(sim, 'other', 'other-secret');
    for (const [i, item] of ['b-role', 'a-role', 'c-role'].entries()) {
      const res = await submit(sim, bearer, {
        requestedFor: ['erin'],
        requestedItems: [{ type: 'ROLE', id: item }],
      });
      ids.push(res.body.newRequests[0].accessRequestIds[0] as string);
      if (i < 2) await sleep(5);
    }
    await submit(sim, other, { requestedFor: ['erin'], requestedItems: [{ type: 'ROLE', id: 'z-role' }] });
    items = (await status(sim, bearer, { 'requested-for': 'erin', sorters: 'created' })).body as Entry[];
  });
  afterAll(async () => {
    await sim.close();
  });

  const list = async (q: Record<string, string>): Promise<Entry[]> => {
    const res = await status(sim, bearer, q);
    expect(res.status, `${JSON.stringify(q)} → ${JSON.stringify(res.body)}`).toBe(200);
    expectConforms(...STATUS, res);
    return res.body as Entry[];
  };
  const names = (entries: Entry[]): string[] => entries.map((e) => e.name);

  it('requested-by me / an id, regarding-identity, and assigned-to accepted and ignored', async () => {
    expect(names(await list({ 'requested-by': 'me', sorters: 'name' }))).toEqual([
      'ROLE a-role',
      'ROLE b-role',
      'ROLE c-role',
    ]);
    expect(names(await list({ 'requested-by': 'other-id' }))).toEqual(['ROLE z-role']);
    expect(await list({ 'regarding-identity': 'gateway-id' })).toHaveLength(3);
    expect(await list({ 'requested-for': 'erin', 'assigned-to': 'someone' })).toHaveLength(4);
  });

  it('sorters: modified follows state changes, -modified newest first, several keys, name', async () => {
    sim.control.setItemState('REQUEST_COMPLETED', { accessRequestId: ids[0] });
    const byModified = await list({ 'requested-by': 'me', sorters: '-modified' });
    expect(byModified[0]?.accessRequestId).toBe(ids[0]);
    expect(names(await list({ 'requested-for': 'erin', sorters: '-name' }))).toEqual([
      'ROLE z-role',
      'ROLE c-role',
      'ROLE b-role',
      'ROLE a-role',
    ]);
    const twoKeys = await list({ 'requested-by': 'me', sorters: 'modified,-created' });
    expect(twoKeys.at(-1)?.accessRequestId).toBe(ids[0]);
    const byItemId = await list({ 'requested-for': 'erin', sorters: 'accountActivityItemId' });
    const itemIds = byItemId.map((e) => e.accountActivityItemId);
    expect(itemIds).toEqual([...itemIds].sort());
  });

  it('filters: accessRequestId sw/ne/ge, accountActivityItemId in/sw, created le, joined with and', async () => {
    const first = items[0];
    expect(first).toBeDefined();
    const id0 = ids[0] ?? '';
    expect(names(await list({ filters: `accessRequestId sw "${id0.slice(0, 12)}"` }))).toEqual([
      'ROLE b-role',
    ]);
    expect(await list({ 'requested-for': 'erin', filters: `accessRequestId ne "${id0}"` })).toHaveLength(3);
    const inList = await list({
      filters: `accountActivityItemId in ("${items[1]?.accountActivityItemId ?? ''}","${items[2]?.accountActivityItemId ?? ''}")`,
    });
    expect(inList).toHaveLength(2);
    expect(
      await list({
        filters: `accountActivityItemId sw "${first?.accountActivityItemId.slice(0, 10) ?? ''}"`,
      }),
    ).toHaveLength(1);
    expect(
      names(
        await list({
          'requested-for': 'erin',
          filters: `created le ${first?.created ?? ''} and accessRequestId eq "${id0}"`,
        }),
      ),
    ).toEqual(['ROLE b-role']);
  });

  it('limit, offset, count as the spec declares them', async () => {
    const page = await status(sim, bearer, {
      'requested-for': 'erin',
      sorters: 'created',
      limit: '2',
      offset: '2',
      count: 'true',
    });
    expect(page.headers.get('x-total-count')).toBe('4');
    expect(page.body).toHaveLength(2);
    expect(await list({ limit: '250' })).toHaveLength(4);
    expect(await list({ limit: '0' })).toEqual([]);
    const noCount = await status(sim, bearer, { count: 'false' });
    expect(noCount.headers.get('x-total-count')).toBeNull();
  });

  it('400 ErrorResponseDto for what IdentityNow refuses', async () => {
    const refused: [Record<string, string>, string][] = [
      [{ filters: 'modified gt 2026-01-01T00:00:00Z' }, 'filtering is not supported for field modified'],
      [{ filters: 'accountActivityItemId lt "x"' }, 'operator lt is not supported for accountActivityItemId'],
      [{ filters: 'created in ("2026-01-01T00:00:00Z")' }, 'operator in is not supported for created'],
      [{ filters: 'created gt yesterday' }, 'ISO-8601'],
      [{ filters: 'accessRequestId eq "a" or accessRequestId eq "b"' }, 'cannot parse the filter value'],
      [{ sorters: 'created,' }, 'empty field'],
      [{ sorters: 'state' }, 'sorting is not supported for field state'],
      [{ limit: '251' }, 'limit must be between 0 and 250'],
      [{ limit: 'ten' }, 'limit must be an integer'],
      [{ offset: '-1' }, 'offset must be an integer'],
      [{ count: 'yes' }, 'count must be true or false'],
      [{ 'request-state': 'REJECTED' }, 'the only valid value is EXECUTING'],
      [{ 'regarding-identity': 'me', 'requested-by': 'me' }, 'mutually exclusive'],
    ];
    for (const [q, text] of refused) {
      const res = await status(sim, bearer, q);
      expect(res.status, JSON.stringify(q)).toBe(400);
      expectConforms(...STATUS, res);
      expect(res.body.messages[0].text, JSON.stringify(q)).toContain(text);
    }
  });
});
