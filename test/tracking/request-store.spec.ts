import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/app-config';
import { LifecycleStore } from '../../src/lifecycle/lifecycle.store';
import { RequestStore } from '../../src/tracking/request.store';
import { startRedis, type PrivateRedis } from '../support/redis-server';

describe('RequestStore', () => {
  let redis: PrivateRedis;
  let conn: Redis;
  let requests: RequestStore;
  let lifecycle: LifecycleStore;

  beforeAll(async () => {
    redis = await startRedis();
    conn = redis.client();
    const config = loadConfig({ NODE_ENV: 'development', REDIS_URL: redis.url, QUEUE_PREFIX: '{store}' });
    requests = new RequestStore(conn, config);
    lifecycle = new LifecycleStore(requests, config);
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('an admin re-drive is a new version of the body (QUEUED again), marked for the webhook sweep', async () => {
    const tid = 'tid-redrive';
    const createdAt = '2026-01-01T00:00:00.000Z';
    await conn.hset(
      requests.key(tid),
      'meta',
      JSON.stringify({ clientId: 'dev', createdAt }),
      'phase',
      'finished',
      'v',
      '3',
    );

    expect(await requests.requestRedrive(tid)).toBe(true);

    const stored = await requests.load(tid);
    expect(stored?.version).toBe(4);
    expect(Date.parse(stored?.updatedAt ?? createdAt)).toBeGreaterThan(Date.parse(createdAt));
    expect(await conn.zscore(requests.dirtyKey, tid)).not.toBeNull();
    expect(await requests.requestRedrive('tid-never-written')).toBe(false);
    expect(await conn.exists(requests.key('tid-never-written'))).toBe(0);
  });

  it('what was told to the webhook never goes back to an older version (two processes telling at once)', async () => {
    const tid = 'tid-told';
    await conn.hset(
      requests.key(tid),
      'meta',
      JSON.stringify({ clientId: 'dev', createdAt: '2026-01-01T00:00:00.000Z' }),
      'v',
      '6',
    );
    await lifecycle.setNotified(tid, 'digest-of-v6', 6);
    await lifecycle.setNotified(tid, 'digest-of-v5', 5);
    expect((await requests.load(tid))?.notified).toBe('digest-of-v6');
    await lifecycle.setNotified(tid, 'digest-of-v7', 7);
    expect((await requests.load(tid))?.notified).toBe('digest-of-v7');
  });

  it('updatedAt never goes back when a writer with a slower clock writes after one with a faster clock', async () => {
    const tid = 'tid-clocks';
    const ahead = new Date(Date.now() + 60_000).toISOString();
    await conn.hset(
      requests.key(tid),
      'meta',
      JSON.stringify({ clientId: 'dev', createdAt: ahead }),
      'phase',
      'finished',
      'v',
      '1',
      'updatedAt',
      ahead,
    );
    const w = await lifecycle.write(tid, { fields: { closedAt: new Date().toISOString() } });
    expect(w.ok).toBe(true);
    expect(await requests.requestRedrive(tid)).toBe(true);
    const stored = await requests.load(tid);
    expect(stored?.version).toBe(3);
    expect(stored?.updatedAt).toBe(ahead);
  });
});
