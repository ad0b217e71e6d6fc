import { Injectable, Module, type BeforeApplicationShutdown } from '@nestjs/common';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ReadinessService } from '../../src/ops/readiness.service';
import { startGateway, type TestGateway } from '../support/gateway';
import { startRedis, type PrivateRedis } from '../support/redis-server';
import { sleep } from '../support/time';

/** Polls /health/ready until `pred` holds (bounded: at most 100 tries, about 10 s). */
async function readyUntil(
  gw: TestGateway,
  pred: (status: number) => boolean,
): Promise<{ status: number; body: { status: string; checks: Record<string, string> } }> {
  let last: { status: number; body: { status: string; checks: Record<string, string> } } | undefined;
  for (let i = 0; i < 100; i++) {
    const res = await request(gw.server).get('/health/ready');
    last = { status: res.status, body: res.body };
    if (pred(res.status)) return last;
    await sleep(100);
  }
  return last!;
}

describe('/health/ready', () => {
  describe('Redis with noeviction', () => {
    let redis: PrivateRedis;
    let gw: TestGateway;
    beforeAll(async () => {
      redis = await startRedis();
      gw = await startGateway({ REDIS_URL: redis.url });
    });
    afterAll(async () => {
      await gw.close();
      await redis.stop();
    });

    it('is ready', async () => {
      const res = await request(gw.server).get('/health/ready');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ready', checks: { shutdown: 'ok', redis: 'ok' } });
    });

    it('is not ready while a registered contributor reports a problem, and ready again after', async () => {
      let problem: string | undefined = 'consumers not running';
      gw.app.get(ReadinessService).register({ name: 'test-contributor', check: () => problem });
      const bad = await request(gw.server).get('/health/ready');
      expect(bad.status).toBe(503);
      expect(bad.body.checks['test-contributor']).toBe('consumers not running');
      problem = undefined;
      expect((await request(gw.server).get('/health/ready')).status).toBe(200);
    });

    it('is not ready when Redis is unreachable, while liveness stays 200', async () => {
      await redis.kill();
      const res = await readyUntil(gw, (s) => s === 503);
      expect(res.status).toBe(503);
      expect(res.body.status).toBe('not-ready');
      expect(res.body.checks.redis).toMatch(/unreachable/);
      expect((await request(gw.server).get('/health/live')).status).toBe(200);
      await redis.restart();
      expect((await readyUntil(gw, (s) => s === 200)).status).toBe(200);
    });
  });

  describe('Redis whose maxmemory-policy may evict keys', () => {
    let redis: PrivateRedis;
    let gw: TestGateway;
    beforeAll(async () => {
      redis = await startRedis({ extraArgs: ['--maxmemory-policy', 'allkeys-lru'] });
      gw = await startGateway({ REDIS_URL: redis.url });
    });
    afterAll(async () => {
      await gw.close();
      await redis.stop();
    });

    it('is not ready and names the policy', async () => {
      const res = await request(gw.server).get('/health/ready');
      expect(res.status).toBe(503);
      expect(res.body.status).toBe('not-ready');
      expect(res.body.checks.redis).toBe('maxmemory-policy is allkeys-lru; BullMQ needs noeviction');
    });

    it('becomes ready once the operator sets noeviction', async () => {
      const admin = redis.client();
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      expect((await request(gw.server).get('/health/ready')).status).toBe(200);
      await admin.config('SET', 'maxmemory-policy', 'volatile-ttl');
      const res = await request(gw.server).get('/health/ready');
      expect(res.status).toBe(503);
      expect(res.body.checks.redis).toMatch(/volatile-ttl/);
    });
  });

  describe('managed Redis with CONFIG disabled', () => {
    let redis: PrivateRedis;
    let gw: TestGateway;
    beforeAll(async () => {
      // How managed services (and hardened installs) turn CONFIG off.
      redis = await startRedis({ extraArgs: ['--rename-command', 'CONFIG', '""'] });
      gw = await startGateway({ REDIS_URL: redis.url });
    });
    afterAll(async () => {
      await gw.close();
      await redis.stop();
    });

    it('is ready, and says the policy could not be checked', async () => {
      const res = await request(gw.server).get('/health/ready');
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('ready');
      expect(res.body.checks.redis).toMatch(/^ok \(maxmemory-policy cannot be checked/);
      expect(res.body.checks.redis).toMatch(/noeviction/);
    });
  });

  describe('while shutting down', () => {
    let redis: PrivateRedis;
    let gw: TestGateway;
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });

    /** Stands for in-flight work the shutdown waits for (the worker drains jobs here). */
    @Injectable()
    class SlowShutdown implements BeforeApplicationShutdown {
      async beforeApplicationShutdown(): Promise<void> {
        await held;
      }
    }
    @Module({ providers: [SlowShutdown] })
    class SlowShutdownModule {}

    beforeAll(async () => {
      redis = await startRedis();
      gw = await startGateway({ REDIS_URL: redis.url }, { modules: [SlowShutdownModule] });
    });
    afterEach(() => {
      release();
    });
    afterAll(async () => {
      await redis.stop();
    });

    it('answers 503 shutting down while in-flight work drains, before the server closes', async () => {
      expect((await request(gw.server).get('/health/ready')).status).toBe(200);
      const closing = gw.close();
      const res = await readyUntil(gw, (s) => s === 503);
      expect(res.status).toBe(503);
      expect(res.body.checks.shutdown).toBe('shutting down');
      release();
      await closing;
    });
  });
});
