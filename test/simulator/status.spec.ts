import { sleep } from '../support/time';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type RunningSimulator } from '../../src/simulator';
import { status, submit, token } from '../support/sim-client';

interface Entry {
  accessRequestId: string;
  accountActivityItemId: string;
  id: string;
  type: string;
  name: string;
  state: string;
  created: string;
  modified: string;
  requestType: string;
  requestedFor: { type: string; id: string };
  requester: { id: string };
  clientMetadata: Record<string, string> | null;
}

describe('simulator GET /v3/access-request-status', () => {
  let sim: RunningSimulator;
  let bearer: string;
  let other: string;
  const ids: string[] = [];
  const createdAt: string[] = [];

  beforeAll(async () => {
    sim = await createSimulator({
      rateLimit: { max: 0, windowMs: 1 },
      progression: { completeAfterMs: null, rejectRate: 0 },
      clients: [
        { clientId: 'sim-client', clientSecret: 'sim-secret', kind: 'pat', identityId: 'me-identity' },
        { clientId: 'other', clientSecret: 'other-secret', kind: 'pat', identityId: 'other-identity' },
      ],
    });
    bearer = await token(sim);
    other = await token(sim, 'other', 'other-secret');
    // Five requests for "alice", 1 item each, a few ms apart so `created` differs.
    for (let i = 0; i < 5; i++) {
      const res = await submit(sim, bearer, {
        requestedFor: ['alice'],
        requestedItems: [
          {
            type: 'ROLE',
            id: `role-${i}`,
            clientMetadata: { gatewaySubmissionId: `sub-${i}`, n: String(i) },
          },
        ],
        clientMetadata: { requestLevel: 'x' },
      });
      ids.push(res.body.newRequests[0].accessRequestIds[0]);
      createdAt.push(
        (await status(sim, bearer, { filters: `accessRequestId eq "${ids[i]}"` })).body[0].created,
      );
      await sleep(5);
    }
    // One for "bob" requested by the other client, and one item without clientMetadata.
    await submit(sim, other, {
      requestedFor: ['bob'],
      requestedItems: [{ type: 'ENTITLEMENT', id: 'ent-1' }],
    });
  });
  afterAll(async () => {
    await sim.close();
  });

  const list = async (q: Record<string, string>): Promise<Entry[]> => {
    const res = await status(sim, bearer, q);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as Entry[];
  };

  it('requested-for returns one entry per (identity, item) with the item clientMetadata exactly as sent', async () => {
    const entries = await list({ 'requested-for': 'alice', sorters: 'created' });
    expect(entries).toHaveLength(5);
    entries.forEach((e, i) => {
      expect(e.accessRequestId).toBe(ids[i]);
      expect(e.requestedFor).toEqual({ type: 'IDENTITY', id: 'alice', name: 'alice' });
      expect(e.requestType).toBe('GRANT_ACCESS');
      expect(e.state).toBe('EXECUTING');
      expect(e.type).toBe('ROLE');
      expect(e.clientMetadata).toEqual({ gatewaySubmissionId: `sub-${i}`, n: String(i) });
      expect(e.id).toBe(e.accountActivityItemId);
    });
    const bob = await list({ 'requested-for': 'bob' });
    expect(bob).toHaveLength(1);
    expect(bob[0]?.clientMetadata).toBeNull();
  });

  it('requested-by, regarding-identity and "me"', async () => {
    expect(await list({ 'requested-by': 'me' })).toHaveLength(5);
    expect(await list({ 'requested-by': 'other-identity' })).toHaveLength(1);
    expect(await list({ 'regarding-identity': 'other-identity' })).toHaveLength(1);
    expect(await list({ 'regarding-identity': 'alice' })).toHaveLength(5);
    expect(await list({ 'regarding-identity': 'me' })).toHaveLength(5);
    expect(await list({ 'requested-for': 'alice', 'requested-by': 'other-identity' })).toHaveLength(0);
  });

  it('filters accessRequestId eq / in, created gt, combined with and', async () => {
    const eq = await list({ filters: `accessRequestId eq "${ids[2]}"` });
    expect(eq.map((e) => e.accessRequestId)).toEqual([ids[2]]);
    const inList = await list({
      filters: `accessRequestId in ("${ids[0]}", "${ids[4]}","unknown")`,
      sorters: 'created',
    });
    expect(inList.map((e) => e.accessRequestId)).toEqual([ids[0], ids[4]]);
    const after = await list({
      'requested-for': 'alice',
      filters: `created gt ${createdAt[2]}`,
      sorters: 'created',
    });
    expect(after.map((e) => e.accessRequestId)).toEqual([ids[3], ids[4]]);
    const quoted = await list({ 'requested-for': 'alice', filters: `created ge "${createdAt[2]}"` });
    expect(quoted).toHaveLength(3);
    const both = await list({
      filters: `accessRequestId in ("${ids[1]}","${ids[3]}") and created gt ${createdAt[1]}`,
    });
    expect(both.map((e) => e.accessRequestId)).toEqual([ids[3]]);
  });

  it('sorters created, -created and modified', async () => {
    expect(
      (await list({ 'requested-for': 'alice', sorters: 'created' })).map((e) => e.accessRequestId),
    ).toEqual(ids);
    expect(
      (await list({ 'requested-for': 'alice', sorters: '-created' })).map((e) => e.accessRequestId),
    ).toEqual([...ids].reverse());
    const byModified = await list({ 'requested-for': 'alice', sorters: 'modified' });
    const modified = byModified.map((e) => Date.parse(e.modified));
    expect(modified).toEqual([...modified].sort((a, b) => a - b));
  });

  it('limit, offset and count → X-Total-Count', async () => {
    const page = await status(sim, bearer, {
      'requested-for': 'alice',
      sorters: 'created',
      limit: '2',
      offset: '1',
      count: 'true',
    });
    expect(page.status).toBe(200);
    expect(page.headers.get('x-total-count')).toBe('5');
    expect((page.body as Entry[]).map((e) => e.accessRequestId)).toEqual([ids[1], ids[2]]);
    const noCount = await status(sim, bearer, { 'requested-for': 'alice', limit: '1' });
    expect(noCount.headers.get('x-total-count')).toBeNull();
    expect(noCount.body).toHaveLength(1);
    const beyond = await list({ 'requested-for': 'alice', offset: '10' });
    expect(beyond).toEqual([]);
  });

  it('states advance over time: pending → completed, and items named reject* → REJECTED', async () => {
    sim.control.setProgression({ completeAfterMs: 50 });
    const res = await submit(sim, bearer, {
      requestedFor: ['carol'],
      requestedItems: [
        { type: 'ROLE', id: 'ok-role' },
        { type: 'ROLE', id: 'reject-role' },
      ],
    });
    expect(res.status).toBe(202);
    const before = await list({ 'requested-for': 'carol', 'request-state': 'EXECUTING' });
    expect(before.length).toBeLessThanOrEqual(2);
    await sleep(120);
    const after = await list({ 'requested-for': 'carol', sorters: 'name' });
    expect(after.map((e) => [e.name, e.state])).toEqual([
      ['ROLE ok-role', 'REQUEST_COMPLETED'],
      ['ROLE reject-role', 'REJECTED'],
    ]);
    expect(after.every((e) => Date.parse(e.modified) > Date.parse(e.created))).toBe(true);
    expect(await list({ 'requested-for': 'carol', 'request-state': 'EXECUTING' })).toEqual([]);
    sim.control.setProgression({ completeAfterMs: null });
  });
});
