import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../src/access-request/request-record';
import { AUTH } from '../support/clients';
import { startFaultSystem, type FaultSystem } from '../support/fault-system';
import { waitUntil } from '../support/time';

const LEASE = 'arg:lifecycle:lease';

describe('lifecycle: one poller at a time, any worker process takes over', () => {
  let sys: FaultSystem;

  beforeAll(async () => {
    sys = await startFaultSystem({
      workers: 2,
      workerEnv: { IDN_STATUS_POLL_MS: '300' },
      sim: { progression: { completeAfterMs: null, rejectRate: 0 } },
    });
  });
  afterAll(async () => {
    await sys.close();
  });

  const post = async (identity: string): Promise<string> => {
    const res = await fetch(`${sys.apis[0]?.url}/v3/access-requests`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: AUTH },
      body: JSON.stringify({ requestedFor: [identity], requestedItems: [{ type: 'ROLE', id: 'lease-r' }] }),
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { trackingId: string }).trackingId;
  };
  const status = async (id: string): Promise<RequestRecord> =>
    (await (
      await fetch(`${sys.apis[0]?.url}/v3/access-requests/${id}`, { headers: { authorization: AUTH } })
    ).json()) as RequestRecord;
  const holderPid = async (): Promise<number | undefined> => {
    const v = await sys.redis.client().get(LEASE);
    return v === null ? undefined : Number(v.split(':')[1]);
  };

  it('the lease names one worker; when that worker dies the other takes over and keeps following', async () => {
    const first = await post('lease-u1');
    await waitUntil(
      'the first request to be followed',
      async () => (await status(first)).pairs[0]?.identityNowState === 'EXECUTING',
    );
    const pids = sys.workers.map((w) => w.proc.pid);
    const holder = await holderPid();
    expect(pids).toContain(holder);
    const [dying, survivor] = sys.workers[0]?.proc.pid === holder ? sys.workers : [...sys.workers].reverse();
    expect(await dying?.stop('SIGKILL')).toBe('SIGKILL');

    const second = await post('lease-u2');
    sys.sim.control.setItemState('REQUEST_COMPLETED', { identityId: 'lease-u1' });
    await waitUntil('the survivor to follow both', async () => {
      const [a, b] = await Promise.all([status(first), status(second)]);
      return (
        a.pairs[0]?.identityNowState === 'REQUEST_COMPLETED' && b.pairs[0]?.identityNowState === 'EXECUTING'
      );
    });
    expect(await holderPid()).toBe(survivor?.proc.pid);
  });
});
