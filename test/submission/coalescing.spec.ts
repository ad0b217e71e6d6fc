import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../src/access-request/request-record';
import { SIGNING_SECRET, writeClientsFile } from '../support/clients';
import { sleep, waitUntil } from '../support/time';
import { pairKey, startWorkerStack, type WorkerStack } from '../support/worker-stack';

/** Coalescing (issue #11): pairs of many requests share IdentityNow calls, fairly between clients. */
describe('coalescing', () => {
  let s: WorkerStack | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('a burst of single-pair requests travels in about one call per ten identities, each pair once, each request with its own ids', async () => {
    // A small budget: the burst outruns it, so calls fill up while they wait for it.
    s = await startWorkerStack({ env: { IDN_RATE_LIMIT_MAX: '5', IDN_RATE_LIMIT_WINDOW_MS: '2000' } });
    const st = s;
    const n = 100;
    const ids = await Promise.all(
      Array.from({ length: n }, (_, k) =>
        st.post({ requestedFor: [`burst${k}`], requestedItems: [{ type: 'ROLE', id: `role${k % 10}` }] }),
      ),
    );
    const records = await Promise.all(ids.map((id) => st.settled(id, 60_000)));
    const calls = st.sim.control.records({ operation: 'submit' }).calls.filter((c) => c.status === 202);
    expect(calls.length).toBeLessThanOrEqual(Math.ceil(n / 10) + 5);
    const created = st.sim.control.records().created;
    records.forEach((rec, k) => {
      expect(rec.state).toBe('SUBMITTED');
      expect(rec.pairs[0]?.accessRequestIds).toHaveLength(1);
      expect(st.sim.control.pairCount(pairKey('GRANT_ACCESS', `burst${k}`, 'ROLE', `role${k % 10}`))).toBe(1);
      // The item that IdentityNow created names its own request.
      const item = created.find((c) => c.identityId === `burst${k}`);
      expect(item?.clientMetadata?.gatewayTrackingId).toBe(rec.trackingId);
      expect(item?.accessRequestId).toBe(rec.pairs[0]?.accessRequestIds?.[0]);
    });
  });

  it('a bad pair fails alone: a call refused with a 400 is split until the bad pair is by itself', async () => {
    s = await startWorkerStack({
      env: { IDN_RATE_LIMIT_MAX: '1', IDN_RATE_LIMIT_WINDOW_MS: '1500' },
      sim: { faults: { unknownItems: ['no-such-role'] } },
    });
    const st = s;
    // The budget is taken, so the next requests gather in one call while it frees.
    await st.settled(await st.post({ requestedFor: ['warm'], requestedItems: [{ type: 'ROLE', id: 'ok' }] }));
    const ids = await Promise.all(
      Array.from({ length: 8 }, (_, k) =>
        st.post({
          requestedFor: [`p${k}`],
          requestedItems: [{ type: 'ROLE', id: k === 5 ? 'no-such-role' : 'ok' }],
        }),
      ),
    );
    const records = await Promise.all(ids.map((id) => st.settled(id, 60_000)));
    records.forEach((rec, k) => {
      if (k === 5) {
        expect(rec.state).toBe('FAILED');
        expect(rec.pairs[0]?.reason).toMatch(/no-such-role does not exist/);
      } else {
        expect(rec.state).toBe('SUBMITTED');
        expect(st.sim.control.pairCount(pairKey('GRANT_ACCESS', `p${k}`, 'ROLE', 'ok'))).toBe(1);
      }
    });
    const calls = st.sim.control.records({ operation: 'submit' }).calls;
    // The first call carried several pairs (it was refused, then split).
    expect(calls.filter((c) => c.status === 400).length).toBeGreaterThan(1);
    // The bad pair is released: asked again it is submitted again (and refused again), not a duplicate.
    const again = await st.settled(
      await st.post({ requestedFor: ['p5'], requestedItems: [{ type: 'ROLE', id: 'no-such-role' }] }),
      60_000,
    );
    expect(again.state).toBe('FAILED');
  });

  it('fair share: two backlogged clients each get 40-60 % of the calls, and a lone request is sent before their backlogs end', async () => {
    const file = writeClientsFile([
      { id: 'hr', secret: 'hr-secret-0123456789' },
      { id: 'itsm', secret: 'itsm-secret-0123456789' },
      { id: 'lone', secret: 'lone-secret-0123456789' },
    ]);
    s = await startWorkerStack({
      env: {
        CLIENTS_FILE: file,
        TOKEN_SIGNING_SECRET: SIGNING_SECRET,
        IDN_RATE_LIMIT_MAX: '10',
        IDN_RATE_LIMIT_WINDOW_MS: '1000',
      },
    });
    const st = s;
    const post = async (secret: string, body: object): Promise<string> => {
      const res = await request(st.gw.server)
        .post('/v3/access-requests')
        .set('authorization', `Bearer ${secret}`)
        .send(body);
      expect(res.status).toBe(202);
      return (res.body as { trackingId: string }).trackingId;
    };
    // Request metadata of their own: no two share a call, so each client has a backlog of 40 calls.
    const burst = (client: string, secret: string): Promise<string[]> =>
      Promise.all(
        Array.from({ length: 40 }, (_, k) =>
          post(secret, {
            requestedFor: [`${client}${k}`],
            requestedItems: [{ type: 'ROLE', id: 'r' }],
            clientMetadata: { ticket: `${client}-${k}` },
          }),
        ),
      );
    const [hr, itsm] = await Promise.all([
      burst('hr', 'hr-secret-0123456789'),
      burst('itsm', 'itsm-secret-0123456789'),
    ]);
    await sleep(1_000);
    const lone = await post('lone-secret-0123456789', {
      requestedFor: ['lone0'],
      requestedItems: [{ type: 'ROLE', id: 'r' }],
    });
    const status = async (secret: string, id: string): Promise<RequestRecord> =>
      (await request(st.gw.server).get(`/v3/access-requests/${id}`).set('authorization', `Bearer ${secret}`))
        .body as RequestRecord;
    await waitUntil(
      'every request submitted',
      async () =>
        (
          await Promise.all([
            ...hr.map((id) => status('hr-secret-0123456789', id)),
            ...itsm.map((id) => status('itsm-secret-0123456789', id)),
          ])
        ).every((r) => r.state === 'SUBMITTED'),
      60_000,
    );
    const created = [...st.sim.control.records().created].sort((a, b) => a.seq - b.seq);
    const order = created.map((c) => c.requestClientMetadata?.gatewayClientId ?? '?');
    // Both clients are backlogged over the first 60 calls (80 waiting in all).
    const head = order.filter((c) => c !== 'lone').slice(0, 60);
    const hrShare = head.filter((c) => c === 'hr').length / head.length;
    expect(hrShare).toBeGreaterThanOrEqual(0.4);
    expect(hrShare).toBeLessThanOrEqual(0.6);
    // The lone client's request did not wait for the others' backlogs.
    expect(order.indexOf('lone')).toBeGreaterThanOrEqual(0);
    expect(order.indexOf('lone')).toBeLessThan(order.length - 5);
    expect((await status('lone-secret-0123456789', lone)).state).toBe('SUBMITTED');
  });
});
