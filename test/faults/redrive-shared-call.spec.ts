import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { basic } from '../support/clients';
import { waitUntil } from '../support/time';
import { pairKey, startWorkerStack, type WorkerStack } from '../support/worker-stack';

/**
 * Re-drives of requests whose pairs shared one call of unknown outcome (a review finding): the second
 * request re-driven after the first settled the call must not be left waiting in a finished call, nor
 * be sent a second time.
 */
const ADMIN = basic('ops', 'ops-password-1');
const ENV = {
  ADMIN_USER: 'ops',
  ADMIN_PASSWORD: 'ops-password-1',
  SUBMIT_ATTEMPTS: '2',
  RECONCILE_SETTLE_MS: '300',
  BACKOFF_BASE_MS: '50',
  BACKOFF_MAX_MS: '200',
  // One call per 1.5 s: requests posted together while the budget is taken share the next call.
  IDN_RATE_LIMIT_MAX: '1',
  IDN_RATE_LIMIT_WINDOW_MS: '1500',
};
const grant = (identity: string): object => ({
  requestedFor: [identity],
  requestedItems: [{ type: 'ROLE', id: 'shared-role' }],
});

async function twoRequestsInOneUnknownCall(s: WorkerStack, commit: boolean): Promise<[string, string]> {
  await s.settled(await s.post(grant('warm')));
  s.sim.control.clearRecords();
  s.sim.control.script({ operation: 'submit', count: 1, action: { kind: 'error', status: 500, commit } });
  s.sim.control.script({ operation: 'status', count: 50, action: { kind: 'error', status: 503 } });
  const ids = await Promise.all<[Promise<string>, Promise<string>]>([
    s.post(grant('rd-a')),
    s.post(grant('rd-b')),
  ]);
  for (const id of ids) {
    const rec = await s.settled(id, 30_000);
    expect(rec.pairs[0]?.reason).toMatch(/outcome is unknown, so the pair stays claimed/);
  }
  const submits = s.sim.control.records({ operation: 'submit' }).calls;
  expect(submits, 'both pairs travelled in one call').toHaveLength(1);
  s.sim.control.clearScript();
  return ids;
}

async function redrive(s: WorkerStack, id: string): Promise<void> {
  // The status says FAILED a moment before BullMQ has failed the job, and only a failed job is re-driven.
  await waitUntil(
    'the job to fail',
    async () => (await s.redis.client().zscore('arg:submissions:failed', id)) !== null,
  );
  const res = await request(s.gw.server).post(`/admin/requests/${id}/retry`).set('authorization', ADMIN);
  expect(res.status).toBe(202);
}

describe('re-drives of requests that shared a call of unknown outcome', () => {
  let s: WorkerStack | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('the call was created: the first re-drive finds it, the second request is SUBMITTED with it, nothing is sent again', async () => {
    s = await startWorkerStack({ env: ENV });
    const [a, b] = await twoRequestsInOneUnknownCall(s, true);
    await redrive(s, a);
    expect((await s.settled(a, 30_000)).state).toBe('SUBMITTED');
    await redrive(s, b);
    const rec = await s.settled(b, 30_000);
    expect(rec.state).toBe('SUBMITTED');
    expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', 'rd-a', 'ROLE', 'shared-role'))).toBe(1);
    expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', 'rd-b', 'ROLE', 'shared-role'))).toBe(1);
    expect(s.sim.control.records({ operation: 'submit' }).calls).toHaveLength(1);
  });

  it('the call was not created: the first re-drive sends its own pair, the second request is claimed and sent once', async () => {
    s = await startWorkerStack({ env: ENV });
    const [a, b] = await twoRequestsInOneUnknownCall(s, false);
    await redrive(s, a);
    expect((await s.settled(a, 30_000)).state).toBe('SUBMITTED');
    await redrive(s, b);
    const rec = await s.settled(b, 30_000);
    expect(rec.state).toBe('SUBMITTED');
    expect(rec.pairs[0]?.accessRequestIds).toHaveLength(1);
    expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', 'rd-a', 'ROLE', 'shared-role'))).toBe(1);
    expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', 'rd-b', 'ROLE', 'shared-role'))).toBe(1);
  });
});
