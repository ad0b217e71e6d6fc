import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../src/access-request/request-record';
import { SIGNING_SECRET, writeClientsFile } from '../support/clients';
import { startGateway, texts, type TestGateway } from '../support/gateway';
import { startRedis, type PrivateRedis } from '../support/redis-server';
import { waitUntil } from '../support/time';
import { pairKey, startWorkerStack, type WorkerStack } from '../support/worker-stack';

const HR = 'Bearer hr-client-secret';
const OTHER = 'Bearer other-client-secret';
const CLIENTS = [
  { id: 'hr', secret: 'hr-client-secret' },
  { id: 'other', secret: 'other-client-secret' },
];
const role = (identity: string, id: string): object => ({
  requestedFor: [identity],
  requestedItems: [{ type: 'ROLE', id }],
});

describe('cancel: POST /v3/access-requests/{trackingId}/cancel', () => {
  let s: WorkerStack;

  beforeAll(async () => {
    s = await startWorkerStack({
      env: {
        CLIENTS_FILE: writeClientsFile(CLIENTS),
        TOKEN_SIGNING_SECRET: SIGNING_SECRET,
        IDN_STATUS_POLL_MS: '200',
      },
      sim: { progression: { completeAfterMs: null, rejectRate: 0 } },
    });
  });
  afterAll(async () => {
    await s.close();
  });

  const post = async (body: object, auth = HR): Promise<string> => {
    const res = await request(s.gw.server).post('/v3/access-requests').set('authorization', auth).send(body);
    expect(res.status).toBe(202);
    return (res.body as { trackingId: string }).trackingId;
  };
  const status = async (id: string, auth = HR): Promise<RequestRecord> => {
    const res = await request(s.gw.server).get(`/v3/access-requests/${id}`).set('authorization', auth);
    expect(res.status).toBe(200);
    return res.body as RequestRecord;
  };
  const until = async (
    id: string,
    what: string,
    cond: (r: RequestRecord) => boolean,
  ): Promise<RequestRecord> => {
    let last: RequestRecord | undefined;
    await waitUntil(what, async () => cond((last = await status(id))));
    return last as RequestRecord;
  };
  const cancel = (id: string, body: unknown, auth = HR): request.Test =>
    request(s.gw.server)
      .post(`/v3/access-requests/${id}/cancel`)
      .set('authorization', auth)
      .send(body as object);
  const cancelCalls = (): number => s.sim.control.records({ operation: 'cancel' }).calls.length;
  const callState = async (callId: string): Promise<string | null> =>
    s.redis.client().hget(`arg:call:${callId}`, 'state');

  it('before it is sent: the pair ends CANCELLED at once, is never sent, and its claim is released', async () => {
    // Every IdentityNow call is refused with 429 for a while: the call waits, unsent.
    s.sim.control.startRateLimitStorm(3, 2);
    const id = await post(role('cx-u1', 'cx-r1'));
    let callId: string | undefined;
    await waitUntil('the pair to be in a call', async () => {
      const h = await s.redis.client().hgetall(`arg:req:${id}`);
      callId = Object.entries(h).find(([k]) => k.startsWith('c:'))?.[1];
      return callId !== undefined;
    });
    // Its first send is refused with 429 (a cancel while that send is in flight is only noted).
    await waitUntil('the call to be refused and wait', async () => {
      const c = await s.redis.client().hmget(`arg:call:${callId as string}`, 'state', 'reason');
      return c[0] === 'pending' && (c[1] ?? '').includes('429');
    });
    const res = await cancel(id, { comment: 'no longer needed' });
    expect(res.status).toBe(202);
    const body = res.body as RequestRecord;
    expect(body.state).toBe('CANCELLED');
    expect(body.pairs[0]).toMatchObject({ outcome: 'CANCELLED' });
    expect(body.pairs[0]?.reason).toContain('no longer needed');
    await until(id, 'the request to close', (r) => r.closedAt !== undefined);

    s.sim.control.stopRateLimitStorm();
    // Its call comes to an end without sending anything.
    await waitUntil('the call to end', async () =>
      ['abandoned', 'settled'].includes((await callState(callId as string)) ?? ''),
    );
    expect(await callState(callId as string)).toBe('abandoned');
    expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', 'cx-u1', 'ROLE', 'cx-r1'))).toBe(0);

    // Released: the same pair asked again is submitted.
    const again = await post(role('cx-u1', 'cx-r1'));
    await until(again, 'it to be submitted', (r) => r.pairs[0]?.outcome === 'SUBMITTED');
    expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', 'cx-u1', 'ROLE', 'cx-r1'))).toBe(1);
  });

  it('after it was submitted: IdentityNow cancels it, its state follows, its claim is released', async () => {
    const id = await post(role('cx-u2', 'cx-r2'));
    await until(id, 'EXECUTING', (r) => r.pairs[0]?.identityNowState === 'EXECUTING');
    const before = cancelCalls();
    const res = await cancel(id, { comment: 'project stopped' });
    expect(res.status).toBe(202);
    expect((res.body as RequestRecord).pairs[0]).toMatchObject({
      outcome: 'SUBMITTED',
      cancel: { state: 'PENDING' },
    });

    const done = await until(id, 'the cancel to show', (r) => r.pairs[0]?.identityNowState === 'CANCELLED');
    expect(done.pairs[0]).toMatchObject({
      outcome: 'SUBMITTED',
      identityNowState: 'CANCELLED',
      cancel: { state: 'SENT' },
    });
    await until(id, 'the request to close', (r) => r.closedAt !== undefined);
    expect(cancelCalls() - before).toBe(1);
    const sent = s.sim.control.records({ operation: 'cancel' }).calls.at(-1);
    expect(sent?.status).toBe(202);

    const again = await post(role('cx-u2', 'cx-r2'));
    await until(again, 'it to be submitted again', (r) => r.pairs[0]?.outcome === 'SUBMITTED');

    // Nothing left: 409.
    const conflict = await cancel(id, { comment: 'again' });
    expect(conflict.status).toBe(409);
    expect(texts(conflict.body).join(' ')).toContain('nothing left to cancel');
  });

  it('while its call is in flight: the cancel waits for the outcome, then cancels in IdentityNow', async () => {
    s.sim.control.script({ operation: 'submit', count: 1, action: { kind: 'delay', ms: 1_500 } });
    const submits = s.sim.control.records({ operation: 'submit' }).calls.length;
    const id = await post(role('cx-u3', 'cx-r3'));
    await waitUntil(
      'the submit to be out',
      () => s.sim.control.records({ operation: 'submit' }).calls.length > submits,
    );
    const res = await cancel(id, { comment: 'changed my mind' });
    expect(res.status).toBe(202);
    expect((res.body as RequestRecord).pairs[0]).toMatchObject({
      outcome: 'PENDING',
      cancel: { state: 'PENDING' },
    });
    const done = await until(id, 'the cancel to show', (r) => r.pairs[0]?.identityNowState === 'CANCELLED');
    expect(done.pairs[0]).toMatchObject({ outcome: 'SUBMITTED', cancel: { state: 'SENT' } });
  });

  it('in flight, then refused with 429 (so never created): cancelled before it can be sent again', async () => {
    s.sim.control.configureFaults({ latency: { minMs: 1_500, maxMs: 1_500 } });
    s.sim.control.script({
      operation: 'submit',
      count: 1,
      action: { kind: 'error', status: 429, retryAfterSeconds: 3 },
    });
    const submits = s.sim.control.records({ operation: 'submit' }).calls.length;
    const id = await post(role('cx-u7', 'cx-r7'));
    await waitUntil(
      'the submit to be out',
      () => s.sim.control.records({ operation: 'submit' }).calls.length > submits,
    );
    const res = await cancel(id, { comment: 'stop it' });
    s.sim.control.configureFaults({ latency: null });
    expect(res.status).toBe(202);
    expect((res.body as RequestRecord).pairs[0]).toMatchObject({
      outcome: 'PENDING',
      cancel: { state: 'PENDING' },
    });
    const done = await until(id, 'the pair to be cancelled', (r) => r.pairs[0]?.outcome === 'CANCELLED');
    expect(done.state).toBe('CANCELLED');
    await until(id, 'the request to close', (r) => r.closedAt !== undefined);
    expect(s.sim.control.pairCount(pairKey('GRANT_ACCESS', 'cx-u7', 'ROLE', 'cx-r7'))).toBe(0);
  });

  it('in flight, then failed (400): the pair is FAILED and its cancel is reported REFUSED with why, not dropped', async () => {
    s.sim.control.configureFaults({ latency: { minMs: 1_500, maxMs: 1_500 } });
    s.sim.control.script({
      operation: 'submit',
      count: 1,
      action: { kind: 'error', status: 400, message: 'no such role' },
    });
    const submits = s.sim.control.records({ operation: 'submit' }).calls.length;
    const id = await post(role('cx-u8', 'cx-r8'));
    await waitUntil(
      'the submit to be out',
      () => s.sim.control.records({ operation: 'submit' }).calls.length > submits,
    );
    const res = await cancel(id, { comment: 'never mind' });
    s.sim.control.configureFaults({ latency: null });
    expect(res.status).toBe(202);
    const done = await until(id, 'the note to be answered', (r) => r.pairs[0]?.cancel?.state === 'REFUSED');
    expect(done.pairs[0]).toMatchObject({
      outcome: 'FAILED',
      cancel: { state: 'REFUSED', reason: 'the pair ended FAILED before it could be cancelled' },
    });
  });

  it('a cancel IdentityNow refuses (approval already completed) is reported on the pair and not retried', async () => {
    const id = await post(role('cx-u4', 'cx-r4'));
    await until(id, 'EXECUTING', (r) => r.pairs[0]?.identityNowState === 'EXECUTING');
    s.sim.control.script({
      operation: 'cancel',
      count: 1,
      action: { kind: 'error', status: 400, message: 'access request can no longer be cancelled' },
    });
    const before = cancelCalls();
    expect((await cancel(id, { comment: 'too late?' })).status).toBe(202);
    const refused = await until(id, 'the refusal', (r) => r.pairs[0]?.cancel?.state === 'REFUSED');
    expect(refused.pairs[0]?.cancel?.reason).toContain('can no longer be cancelled');
    expect(refused.pairs[0]?.identityNowState).toBe('EXECUTING');
    expect(refused.closedAt).toBeUndefined();
    expect(cancelCalls() - before).toBe(1);
  });

  it('a state that no longer allows it is refused without calling IdentityNow', async () => {
    const id = await post(role('cx-u5', 'cx-r5'));
    await until(id, 'EXECUTING', (r) => r.pairs[0]?.identityNowState === 'EXECUTING');
    s.sim.control.setItemState('PROVISIONING_VERIFICATION_PENDING', { identityId: 'cx-u5' });
    await until(
      id,
      'the approval to be seen',
      (r) => r.pairs[0]?.identityNowState === 'PROVISIONING_VERIFICATION_PENDING',
    );
    const before = cancelCalls();
    expect((await cancel(id, { comment: 'too late' })).status).toBe(202);
    const refused = await until(id, 'the refusal', (r) => r.pairs[0]?.cancel?.state === 'REFUSED');
    expect(refused.pairs[0]?.cancel?.reason).toContain('no longer allows cancelling');
    expect(cancelCalls()).toBe(before);
  });

  it('409 when nothing can be cancelled; 404 for another client or an unknown request; 400 without a good comment', async () => {
    const id = await post(role('cx-u6', 'cx-r6'));
    await until(id, 'EXECUTING', (r) => r.pairs[0]?.identityNowState === 'EXECUTING');
    s.sim.control.setItemState('REQUEST_COMPLETED', { identityId: 'cx-u6' });
    await until(id, 'closed', (r) => r.closedAt !== undefined);
    expect((await cancel(id, { comment: 'late' })).status).toBe(409);

    expect((await cancel(id, { comment: 'not mine' }, OTHER)).status).toBe(404);
    expect((await cancel('0b6c5a8e-1d2f-4c3b-9a7e-5f4d3c2b1a09', { comment: 'x' })).status).toBe(404);
    expect((await cancel('not-a-tracking-id', { comment: 'x' })).status).toBe(404);

    for (const body of [
      {},
      { comment: '' },
      { comment: '   ' },
      { comment: 7 },
      { comment: 'x'.repeat(256) },
    ]) {
      const res = await cancel(id, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(texts(res.body)).toEqual(['comment is required: a string of 1 to 255 characters']);
    }
    expect((await cancel(id, { comment: 'x'.repeat(255) })).status).toBe(409);
    expect((await request(s.gw.server).post(`/v3/access-requests/${id}/cancel`)).status).toBe(401);
  });
});

describe('cancel of a request still waiting in the queue (no worker yet)', () => {
  let redis: PrivateRedis;
  let api: TestGateway;

  beforeAll(async () => {
    redis = await startRedis();
    api = await startGateway({ REDIS_URL: redis.url, ROLE: 'api' });
  });
  afterAll(async () => {
    await api.close();
    await redis.stop();
  });

  it('takes the job out and answers every pair CANCELLED, closed', async () => {
    const accepted = await request(api.server)
      .post('/v3/access-requests')
      .set('authorization', 'Bearer dev-secret')
      .send({ requestedFor: ['q-u1', 'q-u2'], requestedItems: [{ type: 'ROLE', id: 'q-r1' }] });
    expect(accepted.status).toBe(202);
    const id = (accepted.body as { trackingId: string }).trackingId;
    const res = await request(api.server)
      .post(`/v3/access-requests/${id}/cancel`)
      .set('authorization', 'Bearer dev-secret')
      .send({ comment: 'sent by mistake' });
    expect(res.status).toBe(202);
    const body = res.body as RequestRecord;
    expect(body.state).toBe('CANCELLED');
    expect(body.pairs.map((p) => [p.requestedFor, p.outcome])).toEqual([
      ['q-u1', 'CANCELLED'],
      ['q-u2', 'CANCELLED'],
    ]);
    expect(body.closedAt).toBeDefined();
    const client = redis.client();
    expect(await client.exists(`arg:bull:submissions:${id}`)).toBe(0);
  });
});

describe('cancel of a pair whose IdentityNow request also carries another request', () => {
  let s: WorkerStack;

  beforeAll(async () => {
    s = await startWorkerStack({
      // A tight budget: while it is spent, requests of one client wait in one open call together.
      env: { IDN_RATE_LIMIT_MAX: '2', IDN_RATE_LIMIT_WINDOW_MS: '3000', IDN_STATUS_POLL_MS: '200' },
      sim: { progression: { completeAfterMs: null, rejectRate: 0 } },
    });
  });
  afterAll(async () => {
    await s.close();
  });

  it('is refused on the pair (a cancel would take the other request down too), without calling IdentityNow', async () => {
    for (let i = 0; i < 2; i++) {
      await s.post({
        requestedFor: [`sh-w${i}`],
        requestedItems: [{ type: 'ROLE', id: 'sh-w' }],
        clientMetadata: { warm: String(i) },
      });
    }
    const [a, b] = await Promise.all([s.post(role('sh-u1', 'sh-a')), s.post(role('sh-u1', 'sh-b'))]);
    const [ra, rb] = [await s.settled(a), await s.settled(b)];
    // Precondition: both went in one call, so IdentityNow made one access request for the identity.
    expect(ra.pairs[0]?.accessRequestIds).toEqual(rb.pairs[0]?.accessRequestIds);
    await waitUntil('both to be seen', async () =>
      (await Promise.all([s.status(a), s.status(b)])).every(
        (r) => r.pairs[0]?.identityNowState === 'EXECUTING',
      ),
    );
    const cancels = s.sim.control.records({ operation: 'cancel' }).calls.length;
    const res = await request(s.gw.server)
      .post(`/v3/access-requests/${a}/cancel`)
      .set('authorization', 'Bearer dev-secret')
      .send({ comment: 'only mine' });
    expect(res.status).toBe(202);
    let refused: RequestRecord | undefined;
    await waitUntil(
      'the refusal',
      async () => (refused = await s.status(a)).pairs[0]?.cancel?.state === 'REFUSED',
    );
    expect(refused?.pairs[0]?.cancel?.reason).toContain('also carries access that another request asked for');
    expect(s.sim.control.records({ operation: 'cancel' }).calls.length).toBe(cancels);
    expect((await s.status(b)).pairs[0]?.identityNowState).toBe('EXECUTING');
  });
});

describe('cancel of a pair whose call was never sent', () => {
  let s: WorkerStack;

  beforeAll(async () => {
    // One IdentityNow call per window: once it is spent, the next call waits unsent (never sealed).
    s = await startWorkerStack({ env: { IDN_RATE_LIMIT_MAX: '1', IDN_RATE_LIMIT_WINDOW_MS: '10000' } });
  });
  afterAll(async () => {
    await s.close();
  });

  const waitingGauge = async (client: string): Promise<string | undefined> => {
    const res = await request(s.gw.server).get('/metrics');
    expect(res.status).toBe(200);
    return new RegExp(`^gateway_pairs_waiting\\{client="${client}"\\} (\\S+)$`, 'm').exec(res.text)?.[1];
  };

  it('takes the pair out of the waiting-pairs gauge at once, and the later seal does not count it again', async () => {
    const submits = (): number => s.sim.control.records({ operation: 'submit' }).calls.length;
    // A first request spends the window (settled: its call's send is recorded, so it waits no more).
    await s.settled(await s.post(role('nw-u1', 'nw-spent')));
    expect(submits()).toBe(1);
    const id = await s.post(role('nw-u2', 'nw-r'));
    const client = (await s.status(id)).clientId;
    const redis = s.redis.client();
    let callId: string | undefined;
    await waitUntil('the pair to be in a call', async () => {
      const h = await redis.hgetall(`arg:req:${id}`);
      callId = Object.entries(h).find(([k]) => k.startsWith('c:'))?.[1];
      return callId !== undefined;
    });
    const callKey = `arg:call:${callId as string}`;
    // Precondition: the call is still waiting for the budget, not sealed.
    expect(await redis.hget(callKey, 'state')).toBe('pending');
    expect(await redis.hexists(callKey, 'sealed')).toBe(0);
    expect(await waitingGauge(client)).toBe('1');

    const res = await request(s.gw.server)
      .post(`/v3/access-requests/${id}/cancel`)
      .set('authorization', 'Bearer dev-secret')
      .send({ comment: 'no longer needed' });
    expect(res.status).toBe(202);
    expect((res.body as RequestRecord).state).toBe('CANCELLED');
    expect(await waitingGauge(client)).toBe('0');

    // The next window: the call is sealed with nothing left to send, and nothing is counted twice.
    await waitUntil(
      'the emptied call to be sealed',
      async () => (await redis.hexists(callKey, 'sealed')) === 1,
    );
    expect(await redis.get(`arg:waiting:${client}`)).toBe('0');
    expect(await waitingGauge(client)).toBe('0');
    expect(submits()).toBe(1);
  });
});
