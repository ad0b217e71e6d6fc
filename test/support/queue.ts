import { Queue } from 'bullmq';
import { SUBMISSION_QUEUE, type SubmissionJobData } from '../../src/queue/submission-job';

/** Reads jobs straight from Redis with a real BullMQ Queue, as a worker would see them. */
export async function readJob(
  redisUrl: string,
  prefix: string,
  trackingId: string,
): Promise<{ data: SubmissionJobData; opts: Record<string, unknown> } | undefined> {
  const u = new URL(redisUrl);
  const queue = new Queue<SubmissionJobData>(SUBMISSION_QUEUE, {
    connection: { host: u.hostname, port: Number(u.port) },
    prefix,
  });
  try {
    const job = await queue.getJob(trackingId);
    return job === undefined ? undefined : { data: job.data, opts: job.opts as Record<string, unknown> };
  } finally {
    await queue.close();
  }
}

export async function countJobs(redisUrl: string, prefix: string): Promise<number> {
  const u = new URL(redisUrl);
  const queue = new Queue(SUBMISSION_QUEUE, {
    connection: { host: u.hostname, port: Number(u.port) },
    prefix,
  });
  try {
    const counts = await queue.getJobCounts(
      'waiting',
      'active',
      'delayed',
      'completed',
      'failed',
      'prioritized',
    );
    return Object.values(counts).reduce((a, b) => a + b, 0);
  } finally {
    await queue.close();
  }
}
