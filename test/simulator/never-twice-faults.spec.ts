import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSimulator, type RunningSimulator, type SimCreatedRecord } from '../../src/simulator';
import { control, outcome, status, submit, token, until } from '../support/sim-client';
import { expectConforms, STATUS } from './conforms';

const body = (identity: string, submissionId: string): Record<string, unknown> => ({
  requestedFor: [identity],
  requestedItems: [
    {
      type: 'ROLE',
      id: 'role-1',
      clientMetadata: { gatewaySubmissionId: submissionId, gatewayTrackingId: 't-1' },
    },
    {
      type: 'ENTITLEMENT',
      id: 'ent-1',
      comment: 'why',
      clientMetadata: { gatewaySubmissionId: submissionId },
    },
  ],
  clientMetadata: { gatewayClientId: 'hr' },
});

/** The fields a creation shares with any other creation of the same body (ids and times aside). */
const shape = (r: SimCreatedRecord): unknown => ({
  pairKey: r.pairKey,
  itemType: r.itemType,
  itemId: r.itemId,
  clientMetadata: r.clientMetadata,
  requestClientMetadata: r.requestClientMetadata,
  comment: r.comment,
  gatewaySubmissionId: r.gatewaySubmissionId,
  clientId: r.clientId,
});

describe('simulator never-twice faults: creates late, status lags', () => {
  let sim: RunningSimulator;
  let bearer: string;
  const submitUrl = (): string => `${sim.url}/v3/access-requests`;
  const created = (): SimCreatedRecord[] => [...sim.control.records().created];

  beforeAll(async () => {
    // IdentityNow has no duplicate detection: every submit creates, so a pair sent twice counts 2.
    sim = await createSimulator({
      reportExisting: false,
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

  it('create-late (scripted over HTTP): held, created after afterMs exactly like a normal submit, never answered', async () => {
    const scripted = await control(sim, '/faults/script', {
      body: { operation: 'submit', action: { kind: 'create-late', afterMs: 1_000 } },
    });
    expect(scripted.status).toBe(200);
    const result = await outcome(submitUrl(), { bearer, body: body('late-1', 'sub-late'), timeoutMs: 100 });
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).name).toBe('TimeoutError');
    // The caller gave up; nothing exists yet, one creation is pending.
    expect(created()).toEqual([]);
    expect((await control(sim, '/faults')).body.pendingLateCreations).toBe(1);

    const late = await until(created, (c) => c.length === 2);
    expect(late).toHaveLength(2);
    expect(late.every((r) => r.responseLost)).toBe(true);
    const call = sim.control.records({ operation: 'submit' }).calls;
    expect(call.map((c) => [c.status, c.fault])).toEqual([[null, 'scripted:create-late']]);
    expect(late.every((r) => r.callSeq === call[0]?.seq)).toBe(true);
    expect(new Set(late.map((r) => r.accessRequestId)).size).toBe(1);

    const normal = await submit(sim, bearer, body('late-1', 'sub-late'));
    expect(normal.status).toBe(202);
    const all = created();
    expect(all.slice(2).map(shape)).toEqual(late.map(shape));

    const listed = await status(sim, bearer, { 'requested-for': 'late-1', sorters: 'created' });
    expect(listed.body).toHaveLength(4);
    expect((listed.body as { clientMetadata: unknown }[])[0]?.clientMetadata).toEqual({
      gatewaySubmissionId: 'sub-late',
      gatewayTrackingId: 't-1',
    });
    const summary = (await control(sim, '/records/summary')).body;
    expect(summary.submissionCounts).toEqual({ 'sub-late': 2 });
    expect(summary.duplicateSubmissions).toEqual({ 'sub-late': 2 });
    expect(summary.duplicatePairs).toEqual({
      'GRANT_ACCESS|late-1|ROLE|role-1': 2,
      'GRANT_ACCESS|late-1|ENTITLEMENT|ent-1': 2,
    });
  });

  it('create-late keeps the connection open after creating: still no answer until the client gives up', async () => {
    sim.control.script({ operation: 'submit', action: { kind: 'create-late', afterMs: 0 } });
    const pending = outcome(submitUrl(), { bearer, body: body('late-2', 'sub-2'), timeoutMs: 1_500 });
    const made = await until(created, (c) => c.length === 2);
    expect(made).toHaveLength(2);
    const result = await pending;
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).name).toBe('TimeoutError');
    const rec = await until(
      () => sim.control.records({ operation: 'submit' }).calls[0],
      (c) => c?.durationMs !== null,
    );
    expect(rec?.status).toBeNull();
  });

  it('reset cancels creations that have not happened yet', async () => {
    sim.control.script({ operation: 'submit', action: { kind: 'create-late', afterMs: 60_000 } });
    expect(await outcome(submitUrl(), { bearer, body: body('late-3', 's3'), timeoutMs: 100 })).toBeInstanceOf(
      Error,
    );
    expect((await control(sim, '/faults')).body.pendingLateCreations).toBe(1);
    sim.control.reset();
    expect((await control(sim, '/faults')).body.pendingLateCreations).toBe(0);
    expect(created()).toEqual([]);
  });

  it('createsLate as a standing setting (PUT /__sim/faults): every submit is held and created late', async () => {
    const put = await control(sim, '/faults', {
      method: 'PUT',
      body: { createsLate: { rate: 1, afterMs: 0 } },
    });
    expect(put.status).toBe(200);
    expect(put.body.createsLate).toEqual({ rate: 1, afterMs: 0 });
    for (const who of ['s-a', 's-b']) {
      const result = await outcome(submitUrl(), { bearer, body: body(who, `sub-${who}`), timeoutMs: 300 });
      expect(result).toBeInstanceOf(Error);
    }
    const made = await until(created, (c) => c.length === 4);
    expect(made.map((r) => r.identityId).sort()).toEqual(['s-a', 's-a', 's-b', 's-b']);
    const faults = sim.control.records({ operation: 'submit' }).calls.map((c) => c.fault);
    expect(faults).toEqual(['random:create-late', 'random:create-late']);
    await control(sim, '/faults', { method: 'PUT', body: { createsLate: null } });
    expect((await submit(sim, bearer, body('s-c', 'sub-c'))).status).toBe(202);
  });

  it('status-lag (scripted): answered 202, invisible to every status query until lagMs after creation', async () => {
    sim.control.script({ operation: 'submit', action: { kind: 'status-lag', lagMs: 60_000 } });
    const res = await submit(sim, bearer, body('lag-1', 'sub-lag'));
    expect(res.status).toBe(202);
    const id = res.body.newRequests[0].accessRequestIds[0] as string;
    const [rec] = created();
    expect(Date.parse(rec?.visibleAt ?? '') - Date.parse(rec?.created ?? '')).toBe(60_000);
    const queries: Record<string, string>[] = [
      { 'requested-for': 'lag-1' },
      { 'requested-by': 'me' },
      { 'regarding-identity': 'lag-1' },
      { filters: `accessRequestId eq "${id}"` },
      { filters: `accountActivityItemId eq "${rec?.accountActivityItemId ?? ''}"` },
      { 'request-state': 'EXECUTING' },
      {},
    ];
    for (const q of queries) {
      const st = await status(sim, bearer, { ...q, count: 'true' });
      expect(st.status, JSON.stringify(q)).toBe(200);
      expect(st.body, JSON.stringify(q)).toEqual([]);
      expect(st.headers.get('x-total-count')).toBe('0');
    }
  });

  it('a lagging request becomes visible once its lag has passed (per call, and standing statusLagMs)', async () => {
    sim.control.script({ operation: 'submit', action: { kind: 'lost-response', statusLagMs: 300 } });
    expect(await outcome(submitUrl(), { bearer, body: body('lag-2', 'sub-2') })).toBeInstanceOf(Error);
    const seen = await until(
      () => status(sim, bearer, { 'requested-for': 'lag-2' }),
      (r) => (r.body as unknown[]).length === 2,
    );
    expect(seen.body).toHaveLength(2);
    expectConforms(...STATUS, seen);

    await control(sim, '/faults', { method: 'PUT', body: { statusLagMs: 250 } });
    expect((await submit(sim, bearer, body('lag-3', 'sub-3'))).status).toBe(202);
    const lagged = created().filter((r) => r.identityId === 'lag-3');
    expect(lagged.map((r) => Date.parse(r.visibleAt) - Date.parse(r.created))).toEqual([250, 250]);
    const later = await until(
      () => status(sim, bearer, { 'requested-for': 'lag-3' }),
      (r) => (r.body as unknown[]).length === 2,
    );
    expect(later.body).toHaveLength(2);
    await control(sim, '/faults', { method: 'PUT', body: { statusLagMs: { minMs: 100, maxMs: 200 } } });
    expect((await control(sim, '/faults')).body.statusLagMs).toEqual({ minMs: 100, maxMs: 200 });
  });

  it('a lagging request can be cancelled by its id (the write side knows it)', async () => {
    sim.control.configureFaults({ statusLagMs: 60_000 });
    const res = await submit(sim, bearer, body('lag-4', 'sub-4'));
    const id = res.body.newRequests[0].accessRequestIds[0] as string;
    const c = await outcome(`${sim.url}/v3/access-requests/cancel`, {
      bearer,
      body: { accountActivityId: id, comment: 'not needed' },
    });
    expect(c).toBe(202);
  });

  it('the summary view counts creations per pair and per gatewaySubmissionId', async () => {
    await submit(sim, bearer, body('sum-1', 'sub-A'));
    await submit(sim, bearer, body('sum-2', 'sub-B'));
    sim.control.script({ operation: 'submit', action: { kind: 'error', status: 500, commit: true } });
    await submit(sim, bearer, body('sum-3', 'sub-B'));
    const s = sim.control.summary();
    expect(s.submitCalls).toBe(3);
    expect(s.createdItems).toBe(6);
    expect(s.submissionCounts).toEqual({ 'sub-A': 1, 'sub-B': 2 });
    expect(s.duplicateSubmissions).toEqual({ 'sub-B': 2 });
    expect(s.duplicatePairs).toEqual({});
    const one = await control(sim, '/records/summary?gatewaySubmissionId=sub-A');
    expect(one.body.submissionCounts).toEqual({ 'sub-A': 1 });
    expect(one.body.createdItems).toBe(2);
    const byRecords = await control(sim, '/records?gatewaySubmissionId=sub-B');
    expect(byRecords.body.created).toHaveLength(4);
  });

  it('scripted faults refuse bad shapes', async () => {
    const bad = [
      { action: { kind: 'status-lag' } },
      { action: { kind: 'create-late', afterMs: -1 } },
      { action: { kind: 'proxy-error', status: 200 } },
      { action: { kind: 'lost-response', statusLagMs: 'x' } },
    ];
    for (const b of bad) expect((await control(sim, '/faults/script', { body: b })).status).toBe(400);
    const badSettings = [{ createsLate: { rate: 2 } }, { statusLagMs: -5 }, { seed: 1.5 }];
    for (const b of badSettings) {
      expect((await control(sim, '/faults', { method: 'PUT', body: b })).status).toBe(400);
    }
  });
});
