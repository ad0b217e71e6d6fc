// Delivered throughput against IdentityNow's budget (issue #11), in one run: the same burst through
// (a) one call per request, as a hand-written intake makes them (behind the same sliding-window
// budget), and (b) the gateway (coalescing, fair share). 1,000 single-pair GRANT requests over 10
// roles from two clients, plus one request from a third client arriving mid-burst. The simulator
// enforces IdentityNow's real limit (100 calls / 10 s); both sides budget 95 / 10 s.
// Not a test: prints numbers for docs/benchmarks.md.
// Usage: npm run build && node bench/upstream.bench.mjs [requests]
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, spawnLogged, startRedis, stopChild, waitForPort } from './proc.mjs';

const require = createRequire(import.meta.url);
const { createSimulator } = require('../dist/simulator/index.js');

const REQUESTS = Number(process.argv[2] ?? 1000);
const BUDGET = 95;
const WINDOW_MS = 10_000;
const ROLES = 10;
const logDir = mkdtempSync(join(tmpdir(), 'arg-upstream-bench-'));

const body = (client, k) => ({
  requestedFor: [`${client}-${k}`],
  requestedItems: [{ type: 'ROLE', id: `role-${k % ROLES}` }],
});

/** The requests in arrival order: two clients interleaved, the lone one at the middle. */
function schedule() {
  const list = [];
  for (let k = 0; k < REQUESTS; k++) list.push({ client: k % 2 === 0 ? 'hr' : 'itsm', k });
  list.splice(Math.floor(REQUESTS / 2), 0, { client: 'lone', k: 0 });
  return list;
}

/** A sliding window of `max` calls per `windowMs`, as any careful hand-written intake keeps. */
function slidingWindow(max, windowMs) {
  const sent = [];
  return async () => {
    for (;;) {
      const now = Date.now();
      while (sent.length > 0 && sent[0] <= now - windowMs) sent.shift();
      if (sent.length < max) {
        sent.push(now);
        return;
      }
      await sleep(sent[0] + windowMs - now + 1);
    }
  };
}

async function token(sim) {
  const res = await fetch(`${sim.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&client_id=${sim.credentials.clientId}&client_secret=${sim.credentials.clientSecret}`,
  });
  return (await res.json()).access_token;
}

function report(label, sim, started, loneAt) {
  const calls = sim.control.records({ operation: 'submit' }).calls;
  const created = sim.control.records().created;
  const accepted = calls.filter((c) => c.status === 202).length;
  const lastCreated = Math.max(...created.map((c) => Date.parse(c.created)));
  const lone = created.find((c) => c.identityId === 'lone-0');
  return {
    label,
    pairs: created.length,
    calls: calls.length,
    callsAccepted: accepted,
    pairsPerCall: Number((created.length / accepted).toFixed(2)),
    status429: calls.filter((c) => c.status === 429).length,
    drainSeconds: Number(((lastCreated - started) / 1000).toFixed(1)),
    loneLatencySeconds:
      lone === undefined ? null : Number(((Date.parse(lone.created) - loneAt) / 1000).toFixed(2)),
  };
}

/** (a) One IdentityNow call per accepted request, in arrival order, behind the same budget. */
async function oneCallPerRequest() {
  const sim = await createSimulator({ reportExisting: false, rateLimit: { max: 100, windowMs: WINDOW_MS } });
  try {
    const bearer = await token(sim);
    const budget = slidingWindow(BUDGET, WINDOW_MS);
    const started = Date.now();
    for (const r of schedule()) {
      await budget();
      const res = await fetch(`${sim.url}/v3/access-requests`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
        body: JSON.stringify({ ...body(r.client, r.k), clientMetadata: { app: r.client } }),
      });
      await res.arrayBuffer();
    }
    // The lone request arrived with the burst, not when the intake got to it.
    return report('(a) one call per request', sim, started, started);
  } finally {
    await sim.close();
  }
}

/** (b) The gateway (ROLE=all, built dist/main.js) on a private Redis. */
async function gateway() {
  const sim = await createSimulator({ reportExisting: false, rateLimit: { max: 100, windowMs: WINDOW_MS } });
  const redis = await startRedis('upstream', logDir);
  const secret = (id) => `${id}-bench-secret-0123456789`;
  const clientsFile = join(logDir, 'clients.json');
  writeFileSync(
    clientsFile,
    JSON.stringify({
      clients: ['hr', 'itsm', 'lone'].map((id) => ({
        id,
        secretSha256: createHash('sha256').update(secret(id)).digest('hex'),
      })),
    }),
  );
  const port = await freePort();
  const child = spawnLogged(
    process.execPath,
    ['dist/main.js'],
    {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      PORT: String(port),
      ROLE: 'all',
      LOG_LEVEL: 'warn',
      REDIS_URL: redis.url,
      CLIENTS_FILE: clientsFile,
      TOKEN_SIGNING_SECRET: 'upstream-bench-signing-secret-0123456789',
      IDN_BASE_URL: sim.url,
      IDN_CLIENT_ID: sim.credentials.clientId,
      IDN_CLIENT_SECRET: sim.credentials.clientSecret,
      IDN_RATE_LIMIT_MAX: String(BUDGET),
      IDN_RATE_LIMIT_WINDOW_MS: String(WINDOW_MS),
    },
    join(logDir, 'gateway.log'),
  );
  try {
    await waitForPort(port, child, 'gateway');
    const post = async (r) => {
      const res = await fetch(`http://127.0.0.1:${port}/v3/access-requests`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${secret(r.client)}` },
        body: JSON.stringify(body(r.client, r.k)),
      });
      if (res.status !== 202) throw new Error(`POST answered ${res.status}: ${await res.text()}`);
    };
    const list = schedule();
    const started = Date.now();
    let loneAt = started;
    let next = 0;
    const lanes = Array.from({ length: 16 }, async () => {
      while (next < list.length) {
        const r = list[next++];
        if (r.client === 'lone') loneAt = Date.now();
        await post(r);
      }
    });
    await Promise.all(lanes);
    const deadline = Date.now() + 10 * 60_000;
    while (sim.control.records().created.length < list.length && Date.now() < deadline) await sleep(200);
    return report('(b) gateway', sim, started, loneAt);
  } finally {
    await stopChild(child);
    await redis.stop();
    await sim.close();
  }
}

const b = await gateway();
const a = await oneCallPerRequest();
const ratio = (x, y) => Number((x / y).toFixed(3));
console.log(JSON.stringify({ requests: REQUESTS + 1, budget: `${BUDGET}/${WINDOW_MS}ms`, a, b }, null, 2));
console.log(
  JSON.stringify({
    'calls (b)/(a)': ratio(b.callsAccepted, a.callsAccepted),
    'drain (b)/(a)': ratio(b.drainSeconds, a.drainSeconds),
    'pairs per call (b)': b.pairsPerCall,
    'lone latency (b) s': b.loneLatencySeconds,
    '429s (a, b)': [a.status429, b.status429],
  }),
);
console.log(`logs: ${logDir}`);
