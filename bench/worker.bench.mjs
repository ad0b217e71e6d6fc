// Jobs per second through the submission worker (built dist/main.js, ROLE=worker) against the
// simulator with its rate limit off, next to a no-op BullMQ worker in the same run as the baseline.
// Then, with the limit on, the share of the IdentityNow budget it uses under a backlog.
// Not a test: prints numbers for docs/benchmarks.md. Usage: npm run build && node bench/worker.bench.mjs [jobs]
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const { Queue, Worker } = require('bullmq');
const { createSimulator } = require('../dist/simulator/index.js');

const JOBS = Number(process.argv[2] ?? 2000);
const CONCURRENCY = 16;

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function drain(queue, n, label) {
  const started = Date.now();
  for (;;) {
    const c = await queue.getJobCounts('completed', 'failed');
    if (c.completed + c.failed >= n) {
      const s = (Date.now() - started) / 1000;
      return { label, jobs: n, seconds: s, jobsPerSecond: n / s, failed: c.failed };
    }
    await sleep(20);
  }
}

const jobData = (i) => {
  const trackingId = randomUUID();
  return {
    trackingId,
    data: {
      v: 1,
      trackingId,
      clientId: 'bench',
      acceptedAt: new Date().toISOString(),
      request: {
        requestType: 'GRANT_ACCESS',
        requestedFor: [`bench-${i}`],
        requestedItems: [
          { type: 'ROLE', id: 'r1' },
          { type: 'ACCESS_PROFILE', id: 'ap1' },
        ],
        clientMetadata: { gatewayClientId: 'bench' },
      },
    },
  };
};

async function addAll(queue, name, count = JOBS) {
  const batch = [];
  for (let i = 0; i < count; i++) {
    const { trackingId, data } = jobData(i);
    batch.push({
      name,
      data,
      opts: {
        jobId: trackingId,
        attempts: 3,
        backoff: { type: 'full-jitter', delay: 1000 },
        removeOnComplete: false,
      },
    });
  }
  for (let i = 0; i < batch.length; i += 500) await queue.addBulk(batch.slice(i, i + 500));
}

const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'arg-bench-'));
const redis = spawn(
  'redis-server',
  ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
  { stdio: 'ignore' },
);
await sleep(300);
const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
const sim = await createSimulator({
  rateLimit: { max: 0, windowMs: 10_000 },
  reportExisting: false,
  progression: { completeAfterMs: null },
});
const results = [];
let worker;
let limited;
const LIMITED = { budget: 40, windowMs: 2000, simMax: 50, seconds: 12 };

async function startWorker(extraEnv) {
  const httpPort = await freePort();
  const child = spawn(process.execPath, ['dist/main.js'], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      ROLE: 'worker',
      PORT: String(httpPort),
      REDIS_URL: `redis://127.0.0.1:${port}`,
      IDN_BASE_URL: sim.url,
      IDN_CLIENT_ID: sim.credentials.clientId,
      IDN_CLIENT_SECRET: sim.credentials.clientSecret,
      WORKER_CONCURRENCY: String(CONCURRENCY),
      SHUTDOWN_GRACE_MS: '2000',
      ...extraEnv,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${httpPort}/health/live`)).ok) break;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  return child;
}
try {
  // Baseline: the same jobs through a no-op BullMQ worker with the same concurrency.
  const baseQueue = new Queue('bench-noop', { connection, prefix: 'arg' });
  await addAll(baseQueue, 'submit');
  const noop = new Worker('bench-noop', async () => undefined, {
    connection,
    prefix: 'arg',
    concurrency: CONCURRENCY,
  });
  results.push(await drain(baseQueue, JOBS, 'no-op BullMQ worker'));
  await noop.close();
  await baseQueue.close();

  worker = await startWorker({
    IDN_RATE_LIMIT_MAX: '10000',
    IDN_RATE_LIMIT_WINDOW_MS: '100',
    QUEUE_PREFIX: 'arg',
  });
  const queue = new Queue('submissions', { connection, prefix: 'arg' });
  await addAll(queue, 'submit');
  const r = await drain(queue, JOBS, 'submission worker (1 process, simulator limit off)');
  r.simulatorCreated = sim.control.records().created.length;
  results.push(r);
  await queue.close();

  // With the limit on: a budget below the simulator's limit and a backlog the run cannot drain, so
  // the worker is always waiting for budget. Utilisation = submit calls made / calls the budget allows.
  worker.kill('SIGTERM');
  await new Promise((r) => worker.once('exit', r));
  sim.control.setRateLimit({ max: LIMITED.simMax, windowMs: LIMITED.windowMs });
  sim.control.clearRecords();
  worker = await startWorker({
    IDN_RATE_LIMIT_MAX: String(LIMITED.budget),
    IDN_RATE_LIMIT_WINDOW_MS: String(LIMITED.windowMs),
    QUEUE_PREFIX: 'limited',
  });
  const limitedQueue = new Queue('submissions', { connection, prefix: 'limited' });
  // Each job is one identity and calls carry up to IDN_MAX_IDENTITIES_PER_CALL (10) identities.
  const backlog = Math.ceil((LIMITED.budget * LIMITED.seconds * 1000) / LIMITED.windowMs) * 10 * 2;
  await addAll(limitedQueue, 'submit', backlog);
  await sleep(LIMITED.seconds * 1000 + 3000);
  const submits = sim.control
    .records()
    .calls.filter((c) => c.operation === 'submit')
    .map((c) => ({ t: Date.parse(c.time), status: c.status }));
  const t0 = Math.min(...submits.map((c) => c.t));
  const inRun = submits.filter((c) => c.t < t0 + LIMITED.seconds * 1000);
  const allowed = (LIMITED.budget * LIMITED.seconds * 1000) / LIMITED.windowMs;
  limited = {
    budget: `${LIMITED.budget} per ${LIMITED.windowMs} ms (simulator limit ${LIMITED.simMax})`,
    seconds: LIMITED.seconds,
    callsMade: inRun.length,
    callsAllowed: allowed,
    utilisation: `${((100 * inRun.length) / allowed).toFixed(1)}%`,
    got429: inRun.filter((c) => c.status === 429).length,
    pairsCreated: sim.control
      .records()
      .created.filter((c) => Date.parse(c.created) < t0 + LIMITED.seconds * 1000).length,
  };
  limited.pairsPerCall = (limited.pairsCreated / Math.max(1, limited.callsMade)).toFixed(1);
  await limitedQueue.close();
} finally {
  if (worker !== undefined && worker.exitCode === null) {
    // Let the worker drain (bounded) while Redis is still there, then stop everything.
    const exited = new Promise((r) => worker.once('exit', r));
    worker.kill('SIGTERM');
    await Promise.race([exited, sleep(8000)]);
    worker.kill('SIGKILL');
  }
  await sim.close();
  redis.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
console.table(
  results.map((r) => ({ ...r, seconds: r.seconds.toFixed(2), jobsPerSecond: r.jobsPerSecond.toFixed(0) })),
);
if (limited !== undefined) {
  console.log('with the limit on (backlog larger than the run can drain):');
  console.table([limited]);
}
