import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/app-config';
import { IdnRateLimitedError } from '../../src/identitynow/identitynow.errors';
import { RateLimiterService } from '../../src/identitynow/rate-limiter.service';
import { type PrivateRedis, startRedis } from '../support/redis-server';

function config(prefix: string, max: number, windowMs: number) {
  return loadConfig({
    NODE_ENV: 'development',
    QUEUE_PREFIX: prefix,
    IDN_RATE_LIMIT_MAX: String(max),
    IDN_RATE_LIMIT_WINDOW_MS: String(windowMs),
  });
}

/** The largest number of grants inside any closed interval of `windowMs` (it suffices to start at a grant). */
function maxInAnyWindow(times: readonly number[], windowMs: number): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  let j = 0;
  for (let i = 0; i < t.length; i += 1) {
    while (j < t.length && t[j]! <= t[i]! + windowMs) j += 1;
    best = Math.max(best, j - i);
  }
  return best;
}

describe('RateLimiterService (real Redis, two instances on two connections = two processes)', () => {
  let redis: PrivateRedis;
  let a: Redis;
  let b: Redis;

  beforeAll(async () => {
    redis = await startRedis();
    a = redis.client();
    b = redis.client();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('never lets more than max calls into any window, and uses ≥ 90% of the budget under a backlog', async () => {
    const max = 20;
    const windowMs = 1000;
    const total = 120;
    const cfg = config('{rl1}', max, windowMs);
    const limiters = [new RateLimiterService(cfg, a), new RateLimiterService(cfg, b)];
    const grants: number[] = [];
    let remaining = total;
    // 8 concurrent callers per instance, like jobs in two worker processes, all competing.
    const loops = limiters.flatMap((l) =>
      Array.from({ length: 8 }, async () => {
        while (remaining > 0) {
          remaining -= 1;
          const g = await l.acquire();
          grants.push(g.grantedAt);
          // The "call" takes 0–30 ms, so waiters often find the slot they wait for still in flight.
          await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 30)));
          await l.complete(g);
        }
      }),
    );
    await Promise.all(loops);

    expect(grants).toHaveLength(total);
    expect(maxInAnyWindow(grants, windowMs)).toBeLessThanOrEqual(max);
    // Utilisation: from the first grant until the last grant's window closes, a perfect limiter admits
    // max per window. Polling late or waking early would stretch the span and lower this ratio.
    const first = Math.min(...grants);
    const last = Math.max(...grants);
    const ideal = (max * (last + windowMs - first)) / windowMs;
    expect(total / ideal).toBeGreaterThanOrEqual(0.9);

    const stats = limiters.map((l) => l.stats());
    expect(stats[0]!.granted + stats[1]!.granted).toBe(total);
    expect(stats[0]!.granted).toBeGreaterThan(0);
    expect(stats[1]!.granted).toBeGreaterThan(0);
    expect(stats[0]!.waitedMs + stats[1]!.waitedMs).toBeGreaterThan(0);
  });

  it('a pause set by one instance blocks every instance until it has passed', async () => {
    const cfg = config('{rl2}', 100, 1000);
    const one = new RateLimiterService(cfg, a);
    const two = new RateLimiterService(cfg, b);
    expect(await one.pauseFor(600)).toBeGreaterThan(0);
    // A shorter pause never shortens a longer one.
    await two.pauseFor(10);
    const until = Number(await a.get(one.pauseKey));
    expect(await two.pauseRemainingMs()).toBeGreaterThan(10);

    const [g1, g2] = await Promise.all([one.acquire(), two.acquire()]);
    expect(g1.grantedAt).toBeGreaterThanOrEqual(until);
    expect(g2.grantedAt).toBeGreaterThanOrEqual(until);
    expect(one.stats().pausedMs).toBeGreaterThan(0);
    expect(two.stats().pausedMs).toBeGreaterThan(0);
    expect(await one.pauseRemainingMs()).toBe(0);
  });

  it('gives up with IdnRateLimitedError past maxWaitMs, and stops waiting when aborted', async () => {
    const cfg = config('{rl3}', 1, 60_000);
    const l = new RateLimiterService(cfg, a, { maxWaitMs: 100 });
    await l.acquire();
    const err = await l.acquire(undefined, 'listAccessRequestStatus').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdnRateLimitedError);
    expect((err as IdnRateLimitedError).retryAfterMs).toBeGreaterThan(100);
    expect((err as IdnRateLimitedError).operation).toBe('listAccessRequestStatus');
    expect(l.stats().gaveUp).toBe(1);

    const patient = new RateLimiterService(cfg, b, { maxWaitMs: 120_000 });
    const ac = new AbortController();
    const pending = patient.acquire(ac.signal);
    setTimeout(() => {
      ac.abort(new Error('shutting down'));
    }, 50);
    await expect(pending).rejects.toThrow('shutting down');
    // Nothing was counted for the aborted caller.
    expect(await a.zcard(l.windowKey)).toBe(1);
  });

  it('complete() counts a call from when it finished, so a slow call holds its slot longer', async () => {
    const cfg = config('{rl5}', 1, 300);
    const one = new RateLimiterService(cfg, a);
    const two = new RateLimiterService(cfg, b);
    const g = await one.acquire();
    // The call "takes" 200 ms before it finishes.
    await new Promise((r) => setTimeout(r, 200));
    const done = await one.complete(g);
    expect(done).toBeGreaterThanOrEqual(g.grantedAt + 200);
    expect(await a.zscore(one.windowKey, g.id)).toBe(String(done));
    // The next call (another process) is admitted only after the finished call's window has passed.
    const next = await two.acquire();
    expect(next.grantedAt).toBeGreaterThan(done! + 300);
    await two.complete(next);
    // A call nobody completes (still in flight, or its process died) holds its slot for the in-flight
    // bound, then for a window.
    const held = new RateLimiterService(cfg, a, { inFlightHoldMs: 400 });
    const h = await held.acquire();
    const after = await two.acquire();
    expect(after.grantedAt).toBeGreaterThan(h.grantedAt + 400 + 300);
    // An entry that already left the window is not brought back.
    await a.zrem(one.windowKey, after.id);
    expect(await two.complete(after)).toBeUndefined();
    expect(await a.zscore(one.windowKey, after.id)).toBeNull();
  });

  it('used() counts the calls in the current window, in flight or finished, for every instance', async () => {
    const cfg = config('{rl6}', 10, 300);
    const one = new RateLimiterService(cfg, a);
    const two = new RateLimiterService(cfg, b);
    expect(await two.used()).toBe(0);
    const g = await one.acquire();
    await one.acquire();
    expect(await two.used()).toBe(2);
    await one.complete(g);
    expect(await two.used()).toBe(2);
    // A call that finished longer than a window ago no longer counts.
    await a.zadd(one.windowKey, 'XX', 0, g.id);
    expect(await one.used()).toBe(1);
  });

  it('writes only keys under QUEUE_PREFIX and recovers when Redis forgot its scripts', async () => {
    const cfg = config('{rl4}', 5, 1000);
    const l = new RateLimiterService(cfg, a);
    await a.script('FLUSH');
    await l.acquire();
    await l.pauseFor(1);
    const keys = await a.keys('{rl4}*');
    expect(keys.sort()).toEqual(['{rl4}:idn:paused-until', '{rl4}:idn:rl']);
    const all = await a.keys('*');
    expect(all.every((k) => /^\{rl\d\}:idn:/.test(k))).toBe(true);
  });
});

describe('RateLimiterService keys on Redis Cluster', () => {
  let cluster: PrivateRedis;
  beforeAll(async () => {
    cluster = await startRedis({
      extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
    });
  });
  afterAll(async () => {
    await cluster.stop();
  });

  it('puts both keys into one slot when the prefix has a hash tag', async () => {
    const c = cluster.client();
    const l = new RateLimiterService(config('{arg}', 95, 10_000), c);
    const slot = async (k: string): Promise<unknown> => c.call('CLUSTER', 'KEYSLOT', k);
    expect(await slot(l.windowKey)).toBe(await slot(l.pauseKey));
    expect(l.windowKey.startsWith('{arg}:')).toBe(true);
  });
});
