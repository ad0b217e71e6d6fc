import { sleep } from '../support/time';
import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator, DEFAULT_RATE_LIMIT, type RunningSimulator } from '../../src/simulator';
import { http, status, token } from '../support/sim-client';

describe('simulator rate limit (per client_id, token calls exempt)', () => {
  let sim: RunningSimulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it('lets exactly 100 calls per window through (the default budget), then 429 with Retry-After in seconds', async () => {
    expect(DEFAULT_RATE_LIMIT).toEqual({ max: 100, windowMs: 10_000 });
    // The default budget on a long window, so the count cannot depend on machine speed.
    sim = await createSimulator({ rateLimit: { max: DEFAULT_RATE_LIMIT.max, windowMs: 600_000 } });
    const bearer = await token(sim);
    const codes: number[] = [];
    for (let i = 0; i < 110; i++) codes.push((await status(sim, bearer, {})).status);
    expect(codes.filter((c) => c === 200)).toHaveLength(100);
    expect(codes.slice(0, 100).every((c) => c === 200)).toBe(true);
    expect(codes.slice(100).every((c) => c === 429)).toBe(true);
    const over = await status(sim, bearer, {});
    expect(over.status).toBe(429);
    expect(over.body).toEqual({ message: ' Rate Limit Exceeded ' });
    expect(over.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(over.headers.get('retry-after'))).toBeLessThanOrEqual(600);
  });

  it('counts submits, status reads and cancels alike, but not token calls', async () => {
    sim = await createSimulator({ rateLimit: { max: 3, windowMs: 600_000 } });
    const bearer = await token(sim);
    for (let i = 0; i < 5; i++) await token(sim);
    const auth = { authorization: `Bearer ${bearer}` };
    const a = await http(`${sim.url}/v3/access-requests`, {
      headers: auth,
      body: { requestedFor: ['x'], requestedItems: [{ type: 'ROLE', id: 'r' }] },
    });
    const b = await status(sim, bearer, {});
    const c = await http(`${sim.url}/v3/access-requests/cancel`, {
      headers: auth,
      body: { accountActivityId: 'none', comment: 'c' },
    });
    expect([a.status, b.status, c.status]).toEqual([202, 200, 404]);
    expect((await status(sim, bearer, {})).status).toBe(429);
    // Token calls still work while the client is throttled, and a new token adds no capacity.
    const fresh = await token(sim);
    expect((await status(sim, fresh, {})).status).toBe(429);
  });

  it('keeps a separate budget per client_id', async () => {
    sim = await createSimulator({
      rateLimit: { max: 2, windowMs: 600_000 },
      clients: [
        { clientId: 'one', clientSecret: 'one-secret', kind: 'pat' },
        { clientId: 'two', clientSecret: 'two-secret', kind: 'pat' },
      ],
    });
    const one = await token(sim, 'one', 'one-secret');
    const two = await token(sim, 'two', 'two-secret');
    expect((await status(sim, one, {})).status).toBe(200);
    expect((await status(sim, one, {})).status).toBe(200);
    expect((await status(sim, one, {})).status).toBe(429);
    expect((await status(sim, two, {})).status).toBe(200);
    expect((await status(sim, two, {})).status).toBe(200);
    expect((await status(sim, two, {})).status).toBe(429);
  });

  it('honouring Retry-After is enough to get through again', async () => {
    sim = await createSimulator({ rateLimit: { max: 3, windowMs: 3_000 } });
    const bearer = await token(sim);
    let limited: Awaited<ReturnType<typeof status>> | undefined;
    // Bounded: at most 20 calls; with 3 allowed per 3 s the 4th normally gets the 429.
    for (let i = 0; i < 20 && limited === undefined; i++) {
      const res = await status(sim, bearer, {});
      if (res.status === 429) limited = res;
    }
    expect(limited).toBeDefined();
    const retryAfter = Number(limited?.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(3);
    await sleep(retryAfter * 1000);
    expect((await status(sim, bearer, {})).status).toBe(200);
  });

  it('max 0 disables the limit (benchmarks)', async () => {
    sim = await createSimulator({ rateLimit: { max: 0, windowMs: 10_000 } });
    const bearer = await token(sim);
    const codes = new Set<number>();
    for (let i = 0; i < 150; i++) codes.add((await status(sim, bearer, {})).status);
    expect([...codes]).toEqual([200]);
  });

  it('records every call, including the throttled ones', async () => {
    sim = await createSimulator({ rateLimit: { max: 1, windowMs: 600_000 } });
    const bearer = await token(sim);
    await status(sim, bearer, {});
    await status(sim, bearer, {});
    const calls = sim.control.records().calls;
    expect(calls.map((c) => [c.operation, c.status, c.fault, c.clientId])).toEqual([
      ['token', 200, null, 'sim-client'],
      ['status', 200, null, 'sim-client'],
      ['status', 429, 'rate-limited', 'sim-client'],
    ]);
  });
});
