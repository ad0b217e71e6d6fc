import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSimulator, type RunningSimulator } from '../../src/simulator';
import { http, status, submit, token } from '../support/sim-client';

const body = (identity: string, item = 'role-1'): unknown => ({
  requestedFor: [identity],
  requestedItems: [{ type: 'ROLE', id: item, clientMetadata: { gatewaySubmissionId: `sub-${identity}` } }],
});

/** fetch that resolves to the error instead of throwing, for faults that cut the connection. */
async function submitRaw(
  sim: RunningSimulator,
  bearer: string,
  payload: unknown,
  timeoutMs = 5_000,
): Promise<unknown> {
  try {
    const res = await fetch(`${sim.url}/v3/access-requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return res.status;
  } catch (e) {
    return e;
  }
}

describe('simulator faults', () => {
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

  it('lost response: the request is created, then the connection is dropped without an answer', async () => {
    sim.control.script({ operation: 'submit', action: { kind: 'lost-response' } });
    const outcome = await submitRaw(sim, bearer, body('lost-1'));
    expect(outcome).toBeInstanceOf(Error);
    expect(sim.control.pairCount('GRANT_ACCESS|lost-1|ROLE|role-1')).toBe(1);
    const created = sim.control.records().created;
    expect(created).toHaveLength(1);
    expect(created[0]?.responseLost).toBe(true);
    expect(created[0]?.clientMetadata).toEqual({ gatewaySubmissionId: 'sub-lost-1' });
    // The creation is visible upstream, which is how a client reconciles after a lost response.
    const st = await status(sim, bearer, { 'requested-for': 'lost-1' });
    expect(st.body).toHaveLength(1);
    expect(st.body[0].clientMetadata).toEqual({ gatewaySubmissionId: 'sub-lost-1' });
    const calls = sim.control.records({ operation: 'submit' }).calls;
    expect(calls.map((c) => [c.status, c.fault])).toEqual([[null, 'scripted:lost-response']]);
  });

  it('drop: the connection is cut before anything is created', async () => {
    sim.control.script({ operation: 'submit', action: { kind: 'drop' } });
    expect(await submitRaw(sim, bearer, body('drop-1'))).toBeInstanceOf(Error);
    expect(sim.control.records().created).toEqual([]);
    expect(await submitRaw(sim, bearer, body('drop-1'))).toBe(202);
    expect(sim.control.pairCount('GRANT_ACCESS|drop-1|ROLE|role-1')).toBe(1);
  });

  it('hang: no answer until the client gives up; reset releases the connection', async () => {
    sim.control.script({ operation: 'submit', action: { kind: 'hang' } });
    const outcome = await submitRaw(sim, bearer, body('hang-1'), 300);
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).name).toBe('TimeoutError');
    expect(sim.control.records().created).toEqual([]);
    sim.control.script({ operation: 'status', action: { kind: 'hang' } });
    const pending = fetch(`${sim.url}/v3/access-request-status`, {
      headers: { authorization: `Bearer ${bearer}` },
    }).then(
      (r) => r.status,
      (e: unknown) => e,
    );
    // Wait (bounded) until the hung call is recorded, then reset: the connection is destroyed.
    for (let i = 0; i < 100 && sim.control.records({ operation: 'status' }).calls.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    sim.control.reset();
    expect(await pending).toBeInstanceOf(Error);
  });

  it('scripted faults are consumed in order and per operation; "any" matches every operation', async () => {
    sim.control.script({ operation: 'submit', count: 3, action: { kind: 'error', status: 503 } });
    sim.control.script({ operation: 'status', action: { kind: 'error', status: 500 } });
    expect((await status(sim, bearer, {})).status).toBe(500);
    expect((await status(sim, bearer, {})).status).toBe(200);
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await submit(sim, bearer, body('seq'))).status);
    expect(codes).toEqual([503, 503, 503, 202]);
    sim.control.script({ operation: 'any', action: { kind: 'error', status: 502 } });
    expect((await status(sim, bearer, {})).status).toBe(502);
    expect((await status(sim, bearer, {})).status).toBe(200);
  });

  it('scripted 401 on the next submit (token-expiry path), then the same token works again', async () => {
    sim.control.script({ operation: 'submit', action: { kind: 'error', status: 401 } });
    const first = await submit(sim, bearer, body('t401'));
    expect(first.status).toBe(401);
    expect(first.body).toEqual({ error: 'JWT validation failed: JWT is expired' });
    expect((await submit(sim, bearer, body('t401'))).status).toBe(202);
  });

  it('expire all tokens: 401 until a new token is fetched', async () => {
    const t = await token(sim);
    expect((await status(sim, t, {})).status).toBe(200);
    const expired = await http(`${sim.url}/__sim/tokens/expire`, { method: 'POST' });
    expect(expired.status).toBe(200);
    expect(expired.body.expired).toBeGreaterThanOrEqual(1);
    const res = await status(sim, t, {});
    expect(res.status).toBe(401);
    expect(res.body.error).toContain('expired');
    bearer = await token(sim);
    expect((await status(sim, bearer, {})).status).toBe(200);
  });

  it('tokens expire after expires_in seconds', async () => {
    const short = await createSimulator({ tokenTtlSeconds: 1, tokenFormat: 'jwt' });
    try {
      const res = await http(`${short.url}/oauth/token`, {
        form: { grant_type: 'client_credentials', client_id: 'sim-client', client_secret: 'sim-secret' },
      });
      expect(res.body.expires_in).toBe(1);
      const jwt = res.body.access_token as string;
      expect(jwt.split('.')).toHaveLength(3);
      const claims = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));
      expect(claims.client_id).toBe('sim-client');
      expect(claims.identity_id).toBe(res.body.identity_id);
      expect((await status(short, jwt, {})).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1_100));
      expect((await status(short, jwt, {})).status).toBe(401);
    } finally {
      await short.close();
    }
  });

  it('committed 504: created upstream, answered with 504', async () => {
    sim.control.script({ operation: 'submit', action: { kind: 'error', status: 504, commit: true } });
    const res = await submit(sim, bearer, body('c504'));
    expect(res.status).toBe(504);
    expect(res.body.detailCode).toBe('504.0 Gateway Timeout');
    expect(sim.control.pairCount('GRANT_ACCESS|c504|ROLE|role-1')).toBe(1);
  });

  it('token call faults', async () => {
    sim.control.script({ operation: 'token', action: { kind: 'error', status: 500 } });
    const res = await http(`${sim.url}/oauth/token`, {
      form: { grant_type: 'client_credentials', client_id: 'sim-client', client_secret: 'sim-secret' },
    });
    expect(res.status).toBe(500);
    expect(await token(sim)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('control API over HTTP: script, storm, error rates, latency, records, reset', async () => {
    const script = await http(`${sim.url}/__sim/faults/script`, {
      body: { operation: 'submit', count: 2, action: { kind: 'error', status: 503 } },
    });
    expect(script.status).toBe(200);
    expect(script.body.script).toEqual([
      { operation: 'submit', remaining: 2, action: { kind: 'error', status: 503, commit: false } },
    ]);
    expect((await submit(sim, bearer, body('h'))).status).toBe(503);
    expect((await http(`${sim.url}/__sim/faults/script`, { method: 'DELETE' })).status).toBe(204);
    expect((await submit(sim, bearer, body('h'))).status).toBe(202);

    const badScript = await http(`${sim.url}/__sim/faults/script`, { body: { action: { kind: 'explode' } } });
    expect(badScript.status).toBe(400);

    expect((await http(`${sim.url}/__sim/faults/rate-limit-storm`, { body: { seconds: 60 } })).status).toBe(
      200,
    );
    const stormed = await status(sim, bearer, {});
    expect(stormed.status).toBe(429);
    expect(Number(stormed.headers.get('retry-after'))).toBeGreaterThan(50);
    expect((await http(`${sim.url}/__sim/faults/rate-limit-storm`, { method: 'DELETE' })).status).toBe(204);
    expect((await status(sim, bearer, {})).status).toBe(200);

    const rates = await http(`${sim.url}/__sim/faults`, { method: 'PUT', body: { errorRates: { 502: 1 } } });
    expect(rates.status).toBe(200);
    expect((await status(sim, bearer, {})).status).toBe(502);
    await http(`${sim.url}/__sim/faults`, { method: 'PUT', body: { errorRates: {}, latency: { ms: 30 } } });
    expect((await http(`${sim.url}/__sim/faults`)).body.latency).toEqual({ minMs: 30, maxMs: 30 });
    expect((await status(sim, bearer, {})).status).toBe(200);

    const records = await http(`${sim.url}/__sim/records?operation=submit`);
    expect((records.body.calls as { status: number }[]).map((c) => c.status)).toEqual([503, 202]);
    expect(records.body.pairCounts).toEqual({ 'GRANT_ACCESS|h|ROLE|role-1': 1 });
    const byPair = await http(
      `${sim.url}/__sim/records?pairKey=${encodeURIComponent('GRANT_ACCESS|h|ROLE|role-1')}`,
    );
    expect(byPair.body.created).toHaveLength(1);

    expect((await http(`${sim.url}/__sim/reset`, { method: 'POST' })).status).toBe(204);
    const after = await http(`${sim.url}/__sim/records`);
    expect(after.body).toEqual({ calls: [], created: [], pairCounts: {} });
    expect((await http(`${sim.url}/__sim/faults`)).body.latency).toBeNull();
  });

  it('complete pending requests on demand; cancel only while pending', async () => {
    const res = await submit(sim, bearer, body('cx'));
    const id = res.body.newRequests[0].accessRequestIds[0] as string;
    const done = await http(`${sim.url}/__sim/requests/complete`, { body: { state: 'REJECTED' } });
    expect(done.body).toEqual({ completed: 1 });
    const st = await status(sim, bearer, { 'requested-for': 'cx' });
    expect(st.body[0].state).toBe('REJECTED');
    const cancel = await http(`${sim.url}/v3/access-requests/cancel`, {
      headers: { authorization: `Bearer ${bearer}` },
      body: { accountActivityId: id, comment: 'too late' },
    });
    expect(cancel.status).toBe(400);
    // Once no longer pending, the same pair is created anew rather than reported as existing.
    const again = await submit(sim, bearer, body('cx'));
    expect(again.body.newRequests).toHaveLength(1);
    expect(sim.control.pairCount('GRANT_ACCESS|cx|ROLE|role-1')).toBe(2);
  });

  it('the control API is absent when disabled', async () => {
    const closed = await createSimulator({ controlApi: false });
    try {
      expect((await http(`${closed.url}/__sim/records`)).status).toBe(404);
      expect((await http(`${closed.url}/__sim/reset`, { method: 'POST' })).status).toBe(404);
    } finally {
      await closed.close();
    }
  });
});
