import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNING_SECRET, writeClientsFile } from '../support/clients';
import {
  accountable,
  assertAccounted,
  assertRefusal,
  backgroundLoad,
  finalRecords,
  grantMix,
  grantOf,
  Ledger,
  startProcessSystem,
  type ProcessSystem,
} from '../support/fault-system';
import { startGatewayProcess } from '../support/gateway-process';
import { startRedisCluster, type PrivateRedisCluster } from '../support/redis-cluster';
import { outageOf, settleOrLose, steadyLoad } from '../support/steady-load';
import { waitUntil } from '../support/time';

const APP = 'Bearer app-secret-0123';
const LIMITED = 'Bearer limited-secret-0123';
const QUOTA = 10;
const BUDGET = 16;
const WINDOW_MS = 2_000;
const PREFIX = '{arg}';

/**
 * The gateway on a real Redis Cluster of 3 primaries with a replica each (with a password): one API
 * (REDIS_MIN_REPLICAS_ACK=1) and two worker processes. Everything that must hold on one Redis holds
 * here: dedupe, the per-client quota, the IdentityNow budget, a worker killed mid-flight; every key
 * lives in the slot of the `{arg}` hash tag, and WAIT asks the primary of that slot.
 */
describe('Redis Cluster: 3 primaries + 3 replicas, 1 API + 2 worker processes', () => {
  let cluster: PrivateRedisCluster;
  let sys: ProcessSystem;
  const clientsFile = writeClientsFile([
    { id: 'app', secret: 'app-secret-0123' },
    { id: 'limited', secret: 'limited-secret-0123', requestsPerMinute: QUOTA },
  ]);

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, password: 'cluster-pass-0123' });
    sys = await startProcessSystem(
      { ...cluster.env, QUEUE_PREFIX: PREFIX },
      {
        apis: 1,
        workers: 2,
        apiEnv: {
          CLIENTS_FILE: clientsFile,
          TOKEN_SIGNING_SECRET: SIGNING_SECRET,
          REDIS_MIN_REPLICAS_ACK: '1',
        },
        workerEnv: { IDN_RATE_LIMIT_MAX: String(BUDGET), IDN_RATE_LIMIT_WINDOW_MS: String(WINDOW_MS) },
        // Above the budget: a single 429 would mean the budget leaked.
        sim: { rateLimit: { max: 20, windowMs: WINDOW_MS } },
      },
    );
  });
  afterAll(async () => {
    await sys.close();
    await cluster.stop();
  });

  const api = (): string => sys.apis[0]?.url as string;

  it('refuses to start when QUEUE_PREFIX has no hash tag', async () => {
    await expect(startGatewayProcess({ ROLE: 'api', ...cluster.env, QUEUE_PREFIX: 'arg' })).rejects.toThrow(
      /QUEUE_PREFIX must contain a hash tag such as \{arg\} on Redis Cluster/,
    );
  });

  it("readiness reports the cluster and the replicas of the queue's primary", async () => {
    const res = await fetch(`${api()}/health/ready`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { checks: Record<string, string> };
    expect(body.checks.redis).toMatch(/^ok \(cluster: cluster_state ok, 3 primaries/);
    expect(body.checks.redisReplicas).toBe('ok (1 replica in sync, REDIS_MIN_REPLICAS_ACK 1)');
    // Scrape-time queue counts and the budget gauges read the cluster too.
    const metrics = await (await fetch(`${api()}/metrics`)).text();
    expect(metrics).toMatch(/^gateway_queue_jobs\{queue="submissions",state="waiting"\} \d+$/m);
    expect(metrics).not.toMatch(/^gateway_queue_scrape_errors_total\{[^}]*\} [1-9]/m);
  });

  it('SIGTERM: an API and a worker process close their connections and exit 0', async () => {
    const extraApi = await sys.startApi();
    const extraWorker = await sys.startWorker();
    sys.apis.splice(sys.apis.indexOf(extraApi), 1);
    sys.workers.splice(sys.workers.indexOf(extraWorker), 1);
    expect(await extraApi.stop('SIGTERM')).toBe(0);
    expect(await extraWorker.stop('SIGTERM')).toBe(0);
  });

  it('dedupe: overlapping requests; each pair created once', async () => {
    const people = ['p1', 'p2', 'p3', 'p4', 'p5'];
    const roles = ['a', 'b', 'c', 'd', 'e'];
    const ledger = new Ledger();
    await Promise.all(
      Array.from({ length: 40 }, (_, k) =>
        ledger.post(
          api(),
          grantOf(
            [people[k % 5] as string, people[(k * 2 + 1) % 5] as string],
            [roles[k % 5] as string, roles[(k * 3 + 1) % 5] as string],
          ),
          { auth: APP },
        ),
      ),
    );
    expect(ledger.unanswered).toEqual([]);
    expect(ledger.statuses()).toEqual({ 202: 40 });
    const records = await finalRecords(api(), ledger.accepted, 90_000, APP);
    const accounting = assertAccounted(ledger.accepted, records, await sys.simHttp.records());
    expect(accounting.submitted).toBeLessThanOrEqual(25);
    expect(accounting.duplicate).toBeGreaterThan(0);
  });

  it('per-client quota: exactly requestsPerMinute accepted', async () => {
    const ledger = new Ledger();
    await Promise.all(
      Array.from({ length: 24 }, (_, k) => ledger.post(api(), grantOf([`q${k}`], ['r']), { auth: LIMITED })),
    );
    expect(ledger.unanswered).toEqual([]);
    expect(ledger.statuses()).toEqual({ 202: QUOTA, 429: 24 - QUOTA });
    for (const s of ledger.sent.filter((x) => x.status === 429)) assertRefusal(s);
    const records = await finalRecords(api(), ledger.accepted, 90_000, LIMITED);
    assertAccounted(ledger.accepted, records, await sys.simHttp.records());
  });

  it('IdentityNow budget across both workers: zero 429s, no window over the budget', async () => {
    const ledger = new Ledger();
    // Distinct clientMetadata: coalescing cannot pack these, so 60 calls must queue behind the budget.
    const apart = (k: number): { body: object; pairs: string[] } => {
      const g = grantOf([`b${k}`], ['r']);
      return { ...g, body: { ...g.body, clientMetadata: { batch: `b${k}` } } };
    };
    await Promise.all(Array.from({ length: 60 }, (_, k) => ledger.post(api(), apart(k), { auth: APP })));
    expect(ledger.statuses()).toEqual({ 202: 60 });
    const records = await finalRecords(api(), ledger.accepted, 90_000, APP);
    const sim = await sys.simHttp.records();
    assertAccounted(ledger.accepted, records, sim);
    const calls = sim.calls.filter((c) => c.operation !== 'token' && c.operation !== 'control');
    expect(calls.filter((c) => c.status === 429)).toEqual([]);
    const times = calls.map((c) => Date.parse(c.time)).sort((a, b) => a - b);
    let busiest = 0;
    let j = 0;
    for (let i = 0; i < times.length; i++) {
      while ((times[j] as number) < (times[i] as number) - WINDOW_MS + 1) j++;
      busiest = Math.max(busiest, i - j + 1);
    }
    expect(busiest).toBeLessThanOrEqual(BUDGET);
    expect(busiest).toBe(BUDGET);
  });

  it('kill -9 of a worker with submissions in flight: every pair exactly once', async () => {
    await sys.simHttp.reset();
    await sys.simHttp.faults({ latency: { minMs: 1_500, maxMs: 1_500 } });
    const inFlight = async (): Promise<number> =>
      (await sys.simHttp.records('?operation=submit')).calls.filter((c) => c.durationMs === null).length;
    const ledger = new Ledger();
    const load = backgroundLoad(ledger, [api()], grantMix('ckill'), {
      concurrency: 4,
      max: 40,
      auth: APP,
    });
    await waitUntil('submissions in flight', async () => (await inFlight()) >= 3);
    // Both workers: the calls in flight may all be on one of them, and a survivor is not a takeover.
    const victims = sys.workers.splice(0);
    expect(await Promise.all(victims.map((v) => v.stop('SIGKILL')))).toEqual(victims.map(() => 'SIGKILL'));
    await Promise.all([sys.startWorker(), sys.startWorker()]);
    await load.done();
    await sys.simHttp.faults({ latency: null });
    expect(ledger.unanswered).toEqual([]);
    expect(ledger.statuses()).toEqual({ 202: 40 });
    const records = await finalRecords(api(), ledger.accepted, 90_000, APP);
    const sim = await sys.simHttp.records();
    assertAccounted(ledger.accepted, records, sim);
    // The killed worker's jobs were taken over and their outcome read from IdentityNow first.
    expect(sim.calls.filter((c) => c.operation === 'status').length).toBeGreaterThan(0);
  });

  it('WAIT asks the primary of the {arg} slot: its replica stalled means 503, not 202', async () => {
    const owner = await cluster.ownerOf(PREFIX);
    const [replica] = await cluster.replicasOf(owner);
    const stalled = cluster.nodes.find((n) => n.port === replica)?.server;
    const ledger = new Ledger();
    stalled?.pause();
    try {
      await ledger.post(api(), grantOf(['wait-1'], ['r']), { auth: APP });
    } finally {
      stalled?.resume();
    }
    expect(ledger.statuses()).toEqual({ 503: 1 });
    expect(JSON.stringify(ledger.sent[0]?.body)).toMatch(/may still have been queued/);
    await waitUntil(
      '202 again',
      async () => (await ledger.post(api(), grantOf(['wait-2'], ['r']), { auth: APP }))?.status === 202,
    );
  });

  it('kill -9 of the {arg} primary under steady load: 503s, promotion, recovery; no 202 lost', async () => {
    const unacked = await sys.startApi({ REDIS_MIN_REPLICAS_ACK: '0' });
    const owner = await cluster.ownerOf(PREFIX);
    const [replica] = await cluster.replicasOf(owner);
    const ledgers = { acked: new Ledger(), unacked: new Ledger() };
    const loads = [
      steadyLoad(ledgers.acked, api(), 'cf-a1', { auth: APP, timeoutMs: 5_000 }),
      steadyLoad(ledgers.unacked, unacked.url, 'cf-a0', { auth: APP, timeoutMs: 5_000 }),
    ];
    const at = { fault: 0, promotedAfterMs: 0 };
    try {
      await waitUntil('load accepted', () => Object.values(ledgers).every((l) => l.accepted.length >= 10));
      at.fault = Date.now();
      await cluster.nodes.find((n) => n.port === owner)?.server.kill();
      await waitUntil('replica promoted', async () =>
        String(await cluster.command(replica ?? 0, 'ROLE')).startsWith('master'),
      );
      at.promotedAfterMs = Date.now() - at.fault;
      // The orchestrator replaces the lost node; it rejoins as the new primary's replica.
      await cluster.nodes.find((n) => n.port === owner)?.server.start();
      const since = Date.now();
      await waitUntil(
        'both APIs answer 202 again',
        () =>
          Object.values(ledgers).every((l) => {
            const recent = l.sent.filter((x) => (x.sentAt ?? 0) >= since);
            return recent.length >= 20 && recent.slice(-20).every((x) => x.status === 202);
          }),
        45_000,
      );
    } finally {
      await Promise.all(loads.map((l) => l.stop()));
    }
    const results = [];
    for (const [name, ledger, url] of [
      ['REDIS_MIN_REPLICAS_ACK=1', ledgers.acked, api()],
      ['REDIS_MIN_REPLICAS_ACK=0', ledgers.unacked, unacked.url],
    ] as const) {
      expect(ledger.unanswered).toEqual([]);
      for (const x of ledger.sent) expect([202, 503], JSON.stringify(x.body)).toContain(x.status);
      const owed = await accountable(url, ledger, APP);
      const { records, lost } = await settleOrLose(url, owed, 90_000, APP);
      const outage = outageOf(ledger, at.fault);
      results.push({ name, outage, lost: lost.length, owed, records });
      console.log(
        `[ha] cluster kill -9 of the {arg} primary (replica promoted after ${(at.promotedAfterMs / 1000).toFixed(1)} s), ${name}: ` +
          `sent ${outage.sent} after the kill, refused ${outage.refused}, recovered after ${(outage.recoveredAfterMs / 1000).toFixed(1)} s, ` +
          `slowest answer ${outage.slowestMs} ms, 202s lost ${lost.length}`,
      );
    }
    const [acked] = results;
    expect(acked?.outage.refused).toBeGreaterThan(0);
    expect(acked?.outage.recoveredAfterMs).toBeLessThanOrEqual(30_000);
    expect(acked?.lost).toBe(0);
    // Exactly once, for the pairs of that API's requests.
    const mine = new Set(acked?.owed.flatMap((x) => x.pairs));
    const sim = await sys.simHttp.records();
    const pairCounts = Object.fromEntries(Object.entries(sim.pairCounts).filter(([k]) => mine.has(k)));
    assertAccounted(acked?.owed ?? [], acked?.records ?? new Map(), { ...sim, pairCounts });
  });

  it('every gateway key is on the primary that serves the {arg} slot (and its replica)', async () => {
    const owner = await cluster.ownerOf(PREFIX);
    const holders = [owner, ...(await cluster.replicasOf(owner))];
    for (const n of cluster.nodes) {
      const keys = await cluster.dbsize(n.port);
      if (holders.includes(n.port)) expect(keys).toBeGreaterThan(0);
      else expect(keys, `keys on ${n.port}`).toBe(0);
    }
  });
});
