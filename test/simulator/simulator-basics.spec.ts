import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSimulator, type RunningSimulator } from '../../src/simulator';
import { http, status, submit, token } from '../support/sim-client';

describe('IdentityNow simulator basics', () => {
  let sim: RunningSimulator;
  let bearer: string;

  beforeAll(async () => {
    sim = await createSimulator({
      rateLimit: { max: 0, windowMs: 10_000 },
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

  it('issues tokens for form-encoded and query credentials, refuses bad ones with 401 {error}', async () => {
    const q = await http(
      `${sim.url}/oauth/token?grant_type=client_credentials&client_id=sim-client&client_secret=sim-secret`,
      { method: 'POST' },
    );
    expect(q.status).toBe(200);
    expect(q.body.token_type).toBe('bearer');
    expect(q.body.expires_in).toBe(749);
    const bad = await http(`${sim.url}/oauth/token`, {
      form: { grant_type: 'client_credentials', client_id: 'sim-client', client_secret: 'nope' },
    });
    expect(bad.status).toBe(401);
    expect(typeof bad.body.error).toBe('string');
  });

  it('creates one request per identity and echoes item clientMetadata in status', async () => {
    const res = await submit(sim, bearer, {
      requestedFor: ['id-1', 'id-2'],
      requestedItems: [
        { type: 'ROLE', id: 'role-1', clientMetadata: { gatewaySubmissionId: 's-1' } },
        { type: 'ACCESS_PROFILE', id: 'ap-1' },
      ],
    });
    expect(res.status).toBe(202);
    expect(res.body.newRequests).toHaveLength(2);
    expect(res.body.existingRequests).toEqual([]);
    const st = await status(sim, bearer, { 'requested-for': 'id-1', count: 'true' });
    expect(st.status).toBe(200);
    expect(st.headers.get('x-total-count')).toBe('2');
    const entries = st.body as { type: string; clientMetadata: unknown; accessRequestId: string }[];
    const role = entries.find((e) => e.type === 'ROLE');
    expect(role?.clientMetadata).toEqual({ gatewaySubmissionId: 's-1' });
    expect(role?.accessRequestId).toBe(res.body.newRequests[0].accessRequestIds[0]);
    expect(sim.control.pairCount('GRANT_ACCESS|id-1|ROLE|role-1')).toBe(1);
  });

  it('reports a pair that is still pending under existingRequests and does not create it again', async () => {
    const body = { requestedFor: ['id-1'], requestedItems: [{ type: 'ROLE', id: 'role-1' }] };
    const first = await submit(sim, bearer, body);
    const second = await submit(sim, bearer, body);
    expect(second.status).toBe(202);
    expect(second.body.newRequests).toEqual([]);
    expect(second.body.existingRequests[0].accessRequestIds).toEqual(
      first.body.newRequests[0].accessRequestIds,
    );
    expect(sim.control.records().pairCounts).toEqual({ 'GRANT_ACCESS|id-1|ROLE|role-1': 1 });
  });

  it('scripted submit faults: next 2 submits → 503, then normal', async () => {
    sim.control.script({ operation: 'submit', count: 2, action: { kind: 'error', status: 503 } });
    const body = { requestedFor: ['id-9'], requestedItems: [{ type: 'ROLE', id: 'r' }] };
    expect((await submit(sim, bearer, body)).status).toBe(503);
    expect((await submit(sim, bearer, body)).status).toBe(503);
    expect((await submit(sim, bearer, body)).status).toBe(202);
    expect(sim.control.pairCount('GRANT_ACCESS|id-9|ROLE|r')).toBe(1);
  });
});
