import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createSimulator,
  SIM_FINAL_STATES,
  type RunningSimulator,
  type SimProgression,
} from '../../src/simulator';
import { cancel, control, status, submit, token, until } from '../support/sim-client';
import { CANCEL, expectConforms, STATUS } from './conforms';

interface Entry {
  accessRequestId: string;
  accountActivityItemId: string;
  name: string;
  state: string;
  created: string;
  modified: string;
  cancelable: boolean;
  cancelledRequestDetails: { comment: string } | null;
}

const role = (identity: string, id: string): unknown => ({
  requestedFor: [identity],
  requestedItems: [{ type: 'ROLE', id }],
});

describe('simulator approval lifecycle and cancel', () => {
  let sim: RunningSimulator;
  let bearer: string;
  const progression: SimProgression = {
    completeAfterMs: null,
    rejectRate: 0,
    rules: [
      { match: { itemId: 'fails' }, state: 'PROVISIONING_FAILED', afterMs: 0 },
      { match: { identityId: 'vip', itemType: 'ROLE' }, state: 'REQUEST_COMPLETED', afterMs: 0 },
      { match: { identityId: 'vip' }, state: 'REJECTED', afterMs: 0 },
      { match: { requestType: 'REVOKE_ACCESS' }, state: 'TERMINATED' },
    ],
  };

  beforeAll(async () => {
    sim = await createSimulator({ rateLimit: { max: 0, windowMs: 1 }, progression });
    bearer = await token(sim);
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => {
    sim.control.reset();
    sim.control.setProgression(progression);
  });

  const list = async (q: Record<string, string>): Promise<Entry[]> => {
    const res = await status(sim, bearer, q);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expectConforms(...STATUS, res);
    return res.body as Entry[];
  };
  const states = async (identity: string): Promise<string[][]> =>
    (await list({ 'requested-for': identity, sorters: 'name' })).map((e) => [e.name, e.state]);

  it('rules from the options: first match wins, afterMs, unmatched items follow completeAfterMs', async () => {
    await submit(sim, bearer, {
      requestedFor: ['vip'],
      requestedItems: [
        { type: 'ROLE', id: 'fails' },
        { type: 'ROLE', id: 'r-1' },
        { type: 'ACCESS_PROFILE', id: 'ap-1' },
      ],
    });
    await submit(sim, bearer, role('someone', 'r-2'));
    expect(await states('vip')).toEqual([
      ['ACCESS_PROFILE ap-1', 'REJECTED'],
      ['ROLE fails', 'PROVISIONING_FAILED'],
      ['ROLE r-1', 'REQUEST_COMPLETED'],
    ]);
    expect(await states('someone')).toEqual([['ROLE r-2', 'EXECUTING']]);
    // A rule without afterMs uses completeAfterMs (null here): it waits, and forcing applies its state.
    await submit(sim, bearer, {
      requestedFor: ['leaver'],
      requestType: 'REVOKE_ACCESS',
      requestedItems: [{ type: 'ROLE', id: 'r-3', comment: 'bye' }],
    });
    expect(await states('leaver')).toEqual([['ROLE r-3', 'EXECUTING']]);
    const forced = await control(sim, '/requests/complete', { body: { match: { identityId: 'leaver' } } });
    expect(forced.body).toEqual({ completed: 1 });
    expect(await states('leaver')).toEqual([['ROLE r-3', 'TERMINATED']]);
    expect(await states('someone')).toEqual([['ROLE r-2', 'EXECUTING']]);
  });

  it('rules over HTTP: PUT and GET /__sim/progression; a delayed rule reaches its state on its own', async () => {
    const put = await control(sim, '/progression', {
      method: 'PUT',
      body: { rules: [{ match: { itemId: 'slow' }, state: 'ERROR', afterMs: 100 }] },
    });
    expect(put.status).toBe(204);
    expect((await control(sim, '/progression')).body).toEqual({
      completeAfterMs: null,
      rejectRate: 0,
      rules: [{ match: { itemId: 'slow' }, state: 'ERROR', afterMs: 100 }],
    });
    await submit(sim, bearer, role('p', 'slow'));
    const done = await until(
      () => list({ 'requested-for': 'p' }),
      (e) => e[0]?.state === 'ERROR',
    );
    expect(done[0]?.state).toBe('ERROR');
    expect(done[0]?.cancelable).toBe(false);
    expect(Date.parse(done[0]?.modified ?? '') - Date.parse(done[0]?.created ?? '')).toBe(100);
    const bad = [
      { rules: [{ match: {}, state: 'EXECUTING' }] },
      { rules: [{ match: { colour: 'red' }, state: 'REJECTED' }] },
      { rules: [{ match: { itemType: 'APP' }, state: 'REJECTED' }] },
      { rules: {} },
    ];
    for (const b of bad)
      expect((await control(sim, '/progression', { method: 'PUT', body: b })).status).toBe(400);
  });

  it('every state is listed in spec shape; modified moves on each change; cancelable only while EXECUTING', async () => {
    sim.control.setProgression({ rules: [] });
    const targets = ['PROVISIONING_VERIFICATION_PENDING', ...SIM_FINAL_STATES];
    for (const t of targets) await submit(sim, bearer, role('all', `to-${t}`));
    const before = await list({ 'requested-for': 'all' });
    expect(before.every((e) => e.state === 'EXECUTING' && e.cancelable)).toBe(true);
    for (const t of targets) {
      const res = await control(sim, '/requests/state', { body: { state: t, match: { itemId: `to-${t}` } } });
      expect(res.body, t).toEqual({ changed: 1 });
    }
    const after = await list({ 'requested-for': 'all' });
    expect(after.map((e) => [e.name, e.state])).toEqual(targets.map((t) => [`ROLE to-${t}`, t]));
    expect(after.every((e) => !e.cancelable)).toBe(true);
    after.forEach((e, i) => {
      expect(Date.parse(e.modified)).toBeGreaterThan(Date.parse(before[i]?.modified ?? ''));
    });

    // PROVISIONING_VERIFICATION_PENDING still moves on; a final state does not.
    const pvp = after[0];
    const completed = await control(sim, '/requests/complete', {
      body: { state: 'REQUEST_COMPLETED', match: { accountActivityItemId: pvp?.accountActivityItemId } },
    });
    expect(completed.body).toEqual({ completed: 1 });
    const [moved] = await list({ filters: `accountActivityItemId eq "${pvp?.accountActivityItemId ?? ''}"` });
    expect(moved?.state).toBe('REQUEST_COMPLETED');
    expect(Date.parse(moved?.modified ?? '')).toBeGreaterThan(Date.parse(pvp?.modified ?? ''));
    const again = await control(sim, '/requests/state', {
      body: { state: 'ERROR', match: { identityId: 'all' } },
    });
    expect(again.body).toEqual({ changed: 0 });
    expect((await control(sim, '/requests/state', { body: { state: 'EXECUTING' } })).status).toBe(400);
  });

  it('cancel: 202 {} while cancelable (state, modified, details), 400 once approval completed, 404 unknown', async () => {
    const res = await submit(sim, bearer, {
      requestedFor: ['c'],
      requestedItems: [
        { type: 'ROLE', id: 'c-1' },
        { type: 'ROLE', id: 'c-2' },
      ],
    });
    const id = res.body.newRequests[0].accessRequestIds[0] as string;
    const [before] = await list({ 'requested-for': 'c' });
    const ok = await cancel(sim, bearer, { accountActivityId: id, comment: 'by mistake' });
    expect(ok.status).toBe(202);
    expect(ok.body).toEqual({});
    expectConforms(...CANCEL, ok);
    const after = await list({ 'requested-for': 'c' });
    expect(after.map((e) => [e.state, e.cancelable, e.cancelledRequestDetails?.comment])).toEqual([
      ['CANCELLED', false, 'by mistake'],
      ['CANCELLED', false, 'by mistake'],
    ]);
    expect(Date.parse(after[0]?.modified ?? '')).toBeGreaterThan(Date.parse(before?.modified ?? ''));

    const twice = await cancel(sim, bearer, { accountActivityId: id, comment: 'again' });
    expect(twice.status).toBe(400);
    expectConforms(...CANCEL, twice);

    const approved = await submit(sim, bearer, role('d', 'd-1'));
    const approvedId = approved.body.newRequests[0].accessRequestIds[0] as string;
    sim.control.setItemState('PROVISIONING_VERIFICATION_PENDING', { accessRequestId: approvedId });
    const late = await cancel(sim, bearer, { accountActivityId: approvedId, comment: 'too late' });
    expect(late.status).toBe(400);
    expect(late.body.messages[0].text).toContain('can no longer be cancelled');

    const unknown = await cancel(sim, bearer, { accountActivityId: 'nope', comment: 'x' });
    expect(unknown.status).toBe(404);
    expectConforms(...CANCEL, unknown);
    for (const b of [{ accountActivityId: id }, { comment: 'x' }, { accountActivityId: 1, comment: 'x' }]) {
      const badBody = await cancel(sim, bearer, b);
      expect(badBody.status).toBe(400);
      expectConforms(...CANCEL, badBody);
    }
  });
});
