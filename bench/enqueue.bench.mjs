// CPU per job of the accept path's enqueue (SubmissionProducer.enqueue, built dist/) next to BullMQ's
// queue.add with the same data and options (what a hand-written intake does), interleaved rounds in one
// process against a private redis-server. Not a test: prints numbers for docs/benchmarks.md.
// Usage: npm run bench:enqueue [-- jobsPerRound rounds] (defaults 20000, 5)
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { accessRequestBody } from './body.mjs';
import { startRedis } from './proc.mjs';

const require = createRequire(import.meta.url);
const { Queue } = require('bullmq');
const { Redis } = require('ioredis');
const { SubmissionProducer } = require('../dist/api/submission.producer.js');
const { loadConfig } = require('../dist/config/app-config.js');
const { validateAccessRequest } = require('../dist/access-request/access-request.validator.js');
const {
  SUBMISSION_BACKOFF_TYPE,
  SUBMISSION_JOB_NAME,
  SUBMISSION_QUEUE,
} = require('../dist/queue/submission-job.js');

const JOBS = Number(process.argv[2] ?? 20_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const CONCURRENCY = 50;
const PREFIX = 'bench';

// The producer reads only the prefix, the replica setting and the job options from it (no REDIS_URL).
const config = loadConfig({ NODE_ENV: 'development', QUEUE_PREFIX: PREFIX });
const logDir = mkdtempSync(join(tmpdir(), 'arg-bench-enqueue-'));
const redis = await startRedis('enqueue', logDir);
// As the API runs it: one connection without auto-pipelining, the queue on that same connection.
const conn = new Redis(redis.url, { enableAutoPipelining: false, maxRetriesPerRequest: 1 });
const queue = new Queue(SUBMISSION_QUEUE, { connection: conn, prefix: PREFIX });
await queue.waitUntilReady();
const producer = new SubmissionProducer(queue, config, conn);

const bodyText = JSON.stringify(accessRequestBody());
/** The job the gateway builds for the bench body (validated, normalised, stamped). */
function jobData() {
  const result = validateAccessRequest(JSON.parse(bodyText), { now: new Date() });
  const request = result.value;
  request.clientMetadata = { ...request.clientMetadata, gatewayClientId: 'bench' };
  const trackingId = randomUUID();
  return {
    v: 1,
    trackingId,
    clientId: 'bench',
    acceptedAt: new Date().toISOString(),
    request,
    requestId: 'req-1',
  };
}

const { attempts, backoffBaseMs, completedJobRetentionSeconds, failedJobRetentionSeconds } =
  config.submission;
const targets = {
  'queue.add': (data) =>
    queue.add(SUBMISSION_JOB_NAME, data, {
      jobId: data.trackingId,
      attempts,
      backoff: { type: SUBMISSION_BACKOFF_TYPE, delay: backoffBaseMs },
      removeOnComplete: { age: completedJobRetentionSeconds },
      removeOnFail: { age: failedJobRetentionSeconds },
    }),
  'producer.enqueue': (data) => producer.enqueue(data),
};

async function run(add, jobs) {
  let next = 0;
  const lane = async () => {
    while (next++ < jobs) await add(jobData());
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
}

/** The harness (body parse, validation, uuid) runs in both targets; measured alone and subtracted. */
async function harnessMicros(jobs) {
  const start = process.cpuUsage();
  await run(() => Promise.resolve(), jobs);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / jobs;
}

const results = Object.fromEntries(Object.keys(targets).map((name) => [name, []]));
try {
  for (const add of Object.values(targets)) await run(add, 5_000);
  for (let round = 1; round <= ROUNDS; round++) {
    const harness = await harnessMicros(JOBS);
    for (const [name, add] of Object.entries(targets)) {
      await conn.flushall();
      const start = process.cpuUsage();
      const t0 = performance.now();
      await run(add, JOBS);
      const seconds = (performance.now() - t0) / 1000;
      const used = process.cpuUsage(start);
      const micros = (used.user + used.system) / JOBS - harness;
      results[name].push({ micros, perSecond: JOBS / seconds });
      console.log(
        `round ${round}/${ROUNDS} ${name}: ${micros.toFixed(1)} µs CPU/job, ${(JOBS / seconds).toFixed(0)} jobs/s`,
      );
    }
  }
} finally {
  await queue.close();
  conn.disconnect();
  await redis.stop();
  rmSync(logDir, { recursive: true, force: true });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(
  `\nEnqueue benchmark ${new Date().toISOString()}: ${ROUNDS} interleaved rounds x ${JOBS} jobs, ${CONCURRENCY} in flight, harness subtracted\n`,
);
console.log('| target | CPU µs/job (median, min-max) | jobs/s (median) |');
console.log('|---|---|---|');
for (const [name, rs] of Object.entries(results)) {
  const us = rs.map((r) => r.micros);
  console.log(
    `| ${name} | ${median(us).toFixed(1)} (${Math.min(...us).toFixed(1)}-${Math.max(...us).toFixed(1)}) | ${median(rs.map((r) => r.perSecond)).toFixed(0)} |`,
  );
}
const ratios = results['producer.enqueue'].map((r, i) => r.micros / results['queue.add'][i].micros);
console.log(
  `\nproducer.enqueue / queue.add CPU per job (median of per-round ratios): ${median(ratios).toFixed(2)}`,
);
