import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSimulator, type RunningSimulator } from '../../src/simulator';
import { SimFaults } from '../../src/simulator/simulator-faults';
import { SimRandom } from '../../src/simulator/simulator-random';
import { control, http, outcome, status, submit, token } from '../support/sim-client';
import { expectConforms, STATUS } from './conforms';

describe('simulator status-read failures', () => {
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

  it.each([400, 403, 500, 502, 503, 504])(
    'scripted %i on a status read answers ErrorResponseDto in spec shape',
    async (code) => {
      await control(sim, '/faults/script', {
        body: { operation: 'status', action: { kind: 'error', status: code } },
      });
      const res = await status(sim, bearer, { 'requested-for': 'x' });
      expect(res.status).toBe(code);
      expectConforms(...STATUS, res);
      expect((await status(sim, bearer, { 'requested-for': 'x' })).status).toBe(200);
    },
  );

  it('scripted 404 (not in the spec for this operation) answers ErrorResponseDto', async () => {
    sim.control.script({
      operation: 'status',
      action: { kind: 'error', status: 404, message: 'no such tenant' },
    });
    const res = await status(sim, bearer, {});
    expect(res.status).toBe(404);
    expect(res.body.detailCode).toBe('404 Not found');
    expect(res.body.messages[0].text).toBe('no such tenant');
  });

  it('429 with Retry-After, 401, drop and hang on status reads', async () => {
    sim.control.script({ operation: 'status', action: { kind: 'error', status: 429, retryAfterSeconds: 7 } });
    const limited = await status(sim, bearer, {});
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expectConforms(...STATUS, limited);

    sim.control.script({ operation: 'status', action: { kind: 'error', status: 401 } });
    const expired = await status(sim, bearer, {});
    expect(expired.status).toBe(401);
    expectConforms(...STATUS, expired);

    const url = `${sim.url}/v3/access-request-status`;
    sim.control.script({ operation: 'status', action: { kind: 'drop' } });
    const dropped = await outcome(url, { bearer });
    expect(dropped).toBeInstanceOf(Error);
    expect((dropped as Error).name).not.toBe('TimeoutError');

    sim.control.script({ operation: 'status', action: { kind: 'hang' } });
    const hung = await outcome(url, { bearer, timeoutMs: 200 });
    expect((hung as Error).name).toBe('TimeoutError');
    const calls = sim.control.records({ operation: 'status' }).calls.map((c) => [c.status, c.fault]);
    expect(calls.slice(2)).toEqual([
      [null, 'scripted:drop'],
      [null, 'scripted:hang'],
    ]);
  });

  it('proxy-error: an HTML page of the requested size instead of JSON', async () => {
    sim.control.script({ operation: 'status', action: { kind: 'proxy-error', status: 502, bytes: 300_000 } });
    const res = await fetch(`${sim.url}/v3/access-request-status`, {
      headers: { authorization: `Bearer ${bearer}` },
    });
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toContain('text/html');
    const text = await res.text();
    expect(text.length).toBe(300_000);
    expect(text.startsWith('<html>')).toBe(true);
  });
});

describe('simulator seeded randomness', () => {
  const outcomes = async (sim: RunningSimulator, bearer: string, n: number): Promise<number[]> => {
    const codes: number[] = [];
    for (let i = 0; i < n; i++) codes.push((await status(sim, bearer, {})).status);
    return codes;
  };
  const approvals = async (sim: RunningSimulator, bearer: string, n: number): Promise<string[]> => {
    for (let i = 0; i < n; i++) {
      await submit(sim, bearer, {
        requestedFor: ['seeded'],
        requestedItems: [{ type: 'ROLE', id: `r-${i}` }],
      });
    }
    const res = await status(sim, bearer, { 'requested-for': 'seeded', sorters: 'created' });
    return (res.body as { state: string }[]).map((e) => e.state);
  };
  const options = (seed: number | null): Parameters<typeof createSimulator>[0] => ({
    rateLimit: { max: 0, windowMs: 1 },
    seed,
    faults: { errorRates: { 503: 0.5 }, errorRateOperations: ['status'] },
    progression: { completeAfterMs: 0, rejectRate: 0.5 },
  });

  it('the same seed gives the same error sequence and approval outcomes; reset restarts the sequence', async () => {
    const a = await createSimulator(options(42));
    const b = await createSimulator(options(42));
    const c = await createSimulator(options(7));
    try {
      const [ta, tb, tc] = await Promise.all([token(a), token(b), token(c)]);
      const seqA = await outcomes(a, ta, 24);
      expect(new Set(seqA)).toEqual(new Set([200, 503]));
      expect(await outcomes(b, tb, 24)).toEqual(seqA);
      expect(await outcomes(c, tc, 24)).not.toEqual(seqA);
      a.control.reset();
      expect(await outcomes(a, ta, 24)).toEqual(seqA);

      a.control.configureFaults({ errorRates: {} });
      b.control.configureFaults({ errorRates: {} });
      const statesA = await approvals(a, ta, 24);
      expect(new Set(statesA)).toEqual(new Set(['REQUEST_COMPLETED', 'REJECTED']));
      expect(await approvals(b, tb, 24)).toEqual(statesA);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it('seed over HTTP: PUT /__sim/faults {seed} and POST /__sim/reset {seed}', async () => {
    const sim = await createSimulator(options(null));
    try {
      const t = await token(sim);
      expect((await control(sim, '/faults')).body.seed).toBeNull();
      const put = await control(sim, '/faults', { method: 'PUT', body: { seed: 99 } });
      expect(put.body.seed).toBe(99);
      const first = await outcomes(sim, t, 20);
      expect((await control(sim, '/reset', { method: 'POST', body: { seed: 99 } })).status).toBe(204);
      expect(await outcomes(sim, t, 20)).toEqual(first);
      await http(`${sim.url}/__sim/reset`, { method: 'POST' });
      expect((await control(sim, '/faults')).body.seed).toBeNull();
      expect((await control(sim, '/reset', { method: 'POST', body: { seed: 'x' } })).status).toBe(400);
    } finally {
      await sim.close();
    }
  });

  it('seeded latency draws repeat (drawn values, not measured times)', () => {
    const draws = (seed: number): number[] => {
      const faults = new SimFaults({ latency: { minMs: 10, maxMs: 500 } }, new SimRandom(seed));
      return Array.from({ length: 10 }, () => faults.latencyMs());
    };
    expect(draws(5)).toEqual(draws(5));
    expect(draws(5)).not.toEqual(draws(6));
    expect(draws(5).every((ms) => ms >= 10 && ms <= 500)).toBe(true);
  });
});
