// Jobs per second through the submission worker (built dist/main.js, ROLE=worker) against the
// simulator with its rate limit off, next to a no-op BullMQ worker in the same run as the baseline.
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

async function addAll(queue, name) {
  const batch = [];
  for (let i = 0; i < JOBS; i++) {
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

  const httpPort = await freePort();
  worker = spawn(process.execPath, ['dist/main.js'], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      ROLE: 'worker',
      PORT: String(httpPort),
      REDIS_URL: `redis://127.0.0.1:${port}`,
      IDN_BASE_URL: sim.url,
      IDN_CLIENT_ID: sim.credentials.clientId,
      IDN_CLIENT_SECRET: sim.credentials.clientSecret,
      IDN_RATE_LIMIT_MAX: '10000',
      IDN_RATE_LIMIT_WINDOW_MS: '100',
      WORKER_CONCURRENCY: String(CONCURRENCY),
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
  const queue = new Queue('submissions', { connection, prefix: 'arg' });
  await addAll(queue, 'submit');
  const r = await drain(queue, JOBS, 'submission worker (1 process, simulator limit off)');
  r.simulatorCreated = sim.control.records().created.length;
  results.push(r);
  await queue.close();
} finally {
  worker?.kill('SIGTERM');
  await sleep(500);
  await sim.close();
  redis.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
console.table(
  results.map((r) => ({ ...r, seconds: r.seconds.toFixed(2), jobsPerSecond: r.jobsPerSecond.toFixed(0) })),
);
