import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SubmissionProducer } from '../../src/api/submission.producer';
import { type AppConfig, loadConfig } from '../../src/config/app-config';
import {
  SUBMISSION_BACKOFF_TYPE,
  SUBMISSION_JOB_NAME,
  SUBMISSION_QUEUE,
  type SubmissionJobData,
} from '../../src/queue/submission-job';
import { roleGrant } from '../support/bodies';
import { startRedis, type PrivateRedis } from '../support/redis-server';

const PREFIX = '{producer}';

function jobData(trackingId: string): SubmissionJobData {
  return {
    v: 1,
    trackingId,
    clientId: 'app-a',
    acceptedAt: '2026-12-02T05:00:00.000Z',
    request: roleGrant(['id-1', 'id-2'], ['role-1']),
    requestId: 'req-1',
  };
}

/** The producer skips `queue.add` for speed; what it writes must be what `queue.add` writes. */
describe('SubmissionProducer', () => {
  let redis: PrivateRedis;
  let conn: Redis;
  let config: AppConfig;
  let queue: Queue<SubmissionJobData>;

  beforeAll(async () => {
    redis = await startRedis();
    config = loadConfig({ NODE_ENV: 'development', REDIS_URL: redis.url, QUEUE_PREFIX: PREFIX });
    conn = redis.client();
    await conn.ping();
    // As in the app: the queue runs on the producer's own connection.
    queue = new Queue<SubmissionJobData>(SUBMISSION_QUEUE, { connection: conn, prefix: PREFIX });
  });
  afterAll(async () => {
    await queue.close();
    await redis.stop();
  });

  it('writes the job hash, wait list entry and event that queue.add writes', async () => {
    const producer = new SubmissionProducer(queue, config, conn);
    await producer.enqueue(jobData('tid-producer'));
    const { attempts, backoffBaseMs, completedJobRetentionSeconds, failedJobRetentionSeconds } =
      config.submission;
    await queue.add(SUBMISSION_JOB_NAME, jobData('tid-queue-add'), {
      jobId: 'tid-queue-add',
      attempts,
      backoff: { type: SUBMISSION_BACKOFF_TYPE, delay: backoffBaseMs },
      removeOnComplete: { age: completedJobRetentionSeconds },
      removeOnFail: { age: failedJobRetentionSeconds },
    });

    const hash = async (id: string): Promise<Record<string, unknown>> => {
      const raw = await conn.hgetall(`${PREFIX}:${SUBMISSION_QUEUE}:${id}`);
      const { timestamp, opts, data, ...rest } = raw;
      expect(Number(timestamp)).toBeGreaterThan(Date.now() - 60_000);
      return { ...rest, opts: JSON.parse(opts ?? 'null'), data: JSON.parse(data ?? 'null') };
    };
    const ours = await hash('tid-producer');
    const reference = await hash('tid-queue-add');
    expect(ours.opts).toEqual({ ...(reference.opts as object), jobId: 'tid-producer' });
    expect(ours.data).toEqual(jobData('tid-producer'));
    expect({ ...ours, opts: null, data: null }).toEqual({ ...reference, opts: null, data: null });
    expect(await conn.lrange(`${PREFIX}:${SUBMISSION_QUEUE}:wait`, 0, -1)).toEqual([
      'tid-queue-add',
      'tid-producer',
    ]);
    const events = await conn.xrange(`${PREFIX}:${SUBMISSION_QUEUE}:events`, '-', '+');
    const added = events.filter(([, fields]) => fields[1] === 'added').map(([, fields]) => fields.slice(2));
    expect(added).toEqual([
      ['jobId', 'tid-producer', 'name', SUBMISSION_JOB_NAME],
      ['jobId', 'tid-queue-add', 'name', SUBMISSION_JOB_NAME],
    ]);

    // A second enqueue with the same tracking id adds nothing (BullMQ keeps job ids unique).
    await producer.enqueue(jobData('tid-producer'));
    expect(await conn.llen(`${PREFIX}:${SUBMISSION_QUEUE}:wait`)).toBe(2);

    // And a worker reads it as it reads any job.
    const seen: { id: string | undefined; data: SubmissionJobData; attempts: number | undefined }[] = [];
    const worker = new Worker<SubmissionJobData>(
      SUBMISSION_QUEUE,
      (job) => {
        seen.push({ id: job.id, data: job.data, attempts: job.opts.attempts });
        return Promise.resolve();
      },
      { connection: { host: '127.0.0.1', port: redis.port }, prefix: PREFIX },
    );
    try {
      await expect.poll(() => seen.length, { timeout: 5_000 }).toBe(2);
    } finally {
      await worker.close();
    }
    expect(seen.find((s) => s.id === 'tid-producer')).toEqual({
      id: 'tid-producer',
      data: jobData('tid-producer'),
      attempts,
    });
  });
});
