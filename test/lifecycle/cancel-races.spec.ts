import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandPairs } from '../../src/access-request/pairs';
import { SubmissionProducer } from '../../src/api/submission.producer';
import { type AppConfig, loadConfig } from '../../src/config/app-config';
import { LifecycleStore } from '../../src/lifecycle/lifecycle.store';
import { SUBMISSION_QUEUE, type SubmissionJobData } from '../../src/queue/submission-job';
import { DedupeStore } from '../../src/submission/dedupe.store';
import { RequestStore } from '../../src/tracking/request.store';
import { roleGrant } from '../support/bodies';
import { startRedis, type PrivateRedis } from '../support/redis-server';
import { sleep } from '../support/time';

const PREFIX = '{races}';
const NO_FENCE = { lockKey: `${PREFIX}:no-lock`, token: '' };

/** Cancel against the worker, at the moments a review found it could leave a claim or drop a job. */
describe('cancel races', () => {
  let redis: PrivateRedis;
  let conn: Redis;
  let config: AppConfig;
  let dedupe: DedupeStore;
  let requests: RequestStore;
  let lifecycle: LifecycleStore;

  beforeAll(async () => {
    redis = await startRedis();
    config = loadConfig({
      NODE_ENV: 'development',
      REDIS_URL: redis.url,
      QUEUE_PREFIX: PREFIX,
      DEDUPE_WINDOW_SECONDS: '600',
    });
    conn = redis.client();
    dedupe = new DedupeStore(conn, config);
    requests = new RequestStore(conn, config);
    lifecycle = new LifecycleStore(requests, config);
  });
  afterAll(async () => {
    await redis.stop();
  });

  it("the call's pre-send claim check leaves a pair cancelled out of the call unclaimed (and ends no REVOKE)", async () => {
    const [kept, cancelled] = expandPairs(roleGrant(['id-1'], ['role-kept', 'role-cancelled']));
    if (kept === undefined || cancelled === undefined) throw new Error('two pairs expected');
    const tid = 'tid-precheck';
    expect(await dedupe.claim(tid, [kept, cancelled])).toEqual([{ owned: true }, { owned: true }]);
    const reqKey = requests.key(tid);
    await conn.hset(reqKey, `c:${kept.fingerprint}`, 'call-1', `c:${cancelled.fingerprint}`, 'call-1');
    // What a cancel does to a pair not sent yet: out of its call, claim released.
    await conn.hdel(reqKey, `c:${cancelled.fingerprint}`);
    await dedupe.release(tid, [cancelled.fingerprint]);
    // A GRANT claim ends REVOKE claims on the same access by bumping their generation.
    const revokeGenerations = async (): Promise<(string | null)[]> => {
      const keys = (await conn.keys(`${PREFIX}:dedupe:gen:REVOKE_ACCESS:*`)).sort();
      return keys.length === 0 ? [] : conn.mget(keys);
    };
    const generationsBefore = await revokeGenerations();

    const r = await dedupe.reclaim(
      [kept, cancelled].map((pair) => ({ trackingId: tid, pair, requestKey: reqKey, callId: 'call-1' })),
      NO_FENCE,
    );

    expect(r).toEqual([{ kind: 'owned' }, { kind: 'gone' }]);
    expect(await conn.exists(dedupe.claimKey(cancelled.fingerprint))).toBe(0);
    expect(await revokeGenerations()).toEqual(generationsBefore);
    expect(await dedupe.claim('tid-asks-again', [cancelled])).toEqual([{ owned: true }]);
    expect(await dedupe.claim('tid-asks-again', [kept])).toEqual([{ owned: false, holder: tid }]);
  });

  it('cancelling a queued request releases the claims an earlier attempt of its job left', async () => {
    const pairs = expandPairs(roleGrant(['id-2'], ['role-a', 'role-b']));
    const tid = 'tid-queued';
    // The attempt that claimed died before its hand-off: claims, no record.
    await dedupe.claim(tid, pairs);
    await dedupe.claim('tid-other-holder', expandPairs(roleGrant(['id-2'], ['role-c'])));

    const written = await lifecycle.cancelQueued(
      tid,
      JSON.stringify({ clientId: 'dev', createdAt: new Date().toISOString() }),
      pairs.map((p, i) => ({
        fp: p.fingerprint,
        d: JSON.stringify({ i, requestedFor: p.identityId, type: p.item.type, id: p.item.id }),
        o: JSON.stringify({ outcome: 'CANCELLED', reason: 'cancelled before it was sent' }),
      })),
      [...pairs, ...expandPairs(roleGrant(['id-2'], ['role-c']))].map((p) => dedupe.claimKey(p.fingerprint)),
    );

    expect(written).toBe(true);
    expect(await dedupe.claim('tid-asks-again', pairs)).toEqual([{ owned: true }, { owned: true }]);
    // Compare-and-delete: another request's claim stays.
    expect(await dedupe.claim('tid-asks-again', expandPairs(roleGrant(['id-2'], ['role-c'])))).toEqual([
      { owned: false, holder: 'tid-other-holder' },
    ]);
  });

  it('only a job no worker has run is taken out by a cancel; one that ran stays in the queue', async () => {
    const connection = { host: '127.0.0.1', port: redis.port };
    const queue = new Queue<SubmissionJobData>(SUBMISSION_QUEUE, { connection, prefix: PREFIX });
    const producer = new SubmissionProducer(queue, config, conn);
    const job = (trackingId: string): SubmissionJobData => ({ trackingId }) as unknown as SubmissionJobData;
    // A request job that ran (like one waiting for its calls, or backing off): delayed, attempt 1.
    await queue.add('ran', job('tid-ran'), {
      jobId: 'tid-ran',
      attempts: 3,
      backoff: { type: 'fixed', delay: 600_000 },
    });
    const worker = new Worker(
      SUBMISSION_QUEUE,
      () => Promise.reject(new Error('first attempt ends; the job waits for its next')),
      { connection, prefix: PREFIX },
    );
    try {
      for (let i = 0; i < 50 && (await queue.getJobState('tid-ran')) !== 'delayed'; i++) await sleep(100);
      expect(await queue.getJobState('tid-ran')).toBe('delayed');
    } finally {
      await worker.close();
    }
    await queue.add('fresh', job('tid-fresh'), { jobId: 'tid-fresh' });

    expect(await producer.removeWaiting('tid-ran')).toBe(false);
    expect(await queue.getJobState('tid-ran')).toBe('delayed');
    expect(await producer.removeWaiting('tid-fresh')).toBe(true);
    expect(await queue.getJob('tid-fresh')).toBeUndefined();
    await queue.close();
  });
});
