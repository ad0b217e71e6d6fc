import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accountable,
  assertAccounted,
  assertRefusal,
  backgroundLoad,
  finalRecords,
  grantMix,
  httpStatus,
  Ledger,
  startFaultSystem,
  type FaultSystem,
} from '../support/fault-system';
import { sleep, waitUntil } from '../support/time';

/**
 * Requests answered 503 whose pairs nevertheless reached IdentityNow: the enqueue timed out on the API
 * side but Redis executed it later. Reported, not asserted: see the pause test.
 */
const lateAccepted = (ledger: Ledger, pairCounts: Readonly<Record<string, number>>): number =>
  ledger.sent.filter((s) => s.status !== 202 && s.pairs.some((p) => (pairCounts[p] ?? 0) > 0)).length;

/**
 * Redis stopped (SIGKILL) and restarted while requests keep coming and workers are busy.
 *
 * What is promised: a 202 is sent only after the job is written to Redis, so with Redis persisting
 * every write before acknowledging it (here `appendonly yes` + `appendfsync always`) nothing accepted
 * is lost across a crash and restart; while Redis is away the API answers 503 + Retry-After (never a
 * hang, never a 202), readiness is false, and both API and worker recover by themselves.
 *
 * What is NOT promised: Redis losing acknowledged writes. With the recommended `appendfsync everysec`
 * a crash of the Redis host can lose up to ~1 s of writes: requests accepted in that second are gone
 * (their tracking ids answer 404), and in-flight marks or dedupe claims written then are lost too, so
 * a pair could be sent again. Without persistence (or on failover to a replica that had not received
 * the writes) everything not yet submitted is lost. The gateway cannot detect this; run Redis with AOF
 * and a replica (see docs/operations.md, Redis).
 */
describe('fault suite: Redis stopped and restarted mid-load', () => {
  let sys: FaultSystem;
  beforeAll(async () => {
    sys = await startFaultSystem({
      apis: 1,
      workers: 1,
      redis: { appendonly: true, extraArgs: ['--appendfsync', 'always'] },
      sim: { faults: { latency: { minMs: 100, maxMs: 400 } } },
    });
  });
  afterAll(async () => {
    await sys.close();
  });

  it('503 while down, readiness false, recovery; nothing accepted lost, nothing sent twice', async () => {
    const api = sys.apis[0]?.url as string;
    const worker = sys.workers[0]?.url as string;
    const ledger = new Ledger();
    const load = backgroundLoad(ledger, [api], grantMix('restart'), {
      concurrency: 3,
      max: 5_000,
      pauseMs: 30,
    });
    await waitUntil('requests accepted', () => ledger.accepted.length >= 20);

    await sys.redis.kill();
    const sentAtKill = ledger.sent.length;
    await waitUntil('503s while Redis is down', () =>
      ledger.sent.slice(sentAtKill).some((s) => s.status === 503),
    );
    expect(await httpStatus(`${api}/health/ready`)).toBe(503);
    expect(await httpStatus(`${worker}/health/ready`)).toBe(503);
    expect(await httpStatus(`${api}/health/live`)).toBe(200);
    await waitUntil(
      'several 503s',
      () => ledger.sent.slice(sentAtKill).filter((s) => s.status === 503).length >= 5,
    );

    await sys.redis.restart();
    await waitUntil('API ready again', async () => (await httpStatus(`${api}/health/ready`)) === 200);
    await waitUntil('worker ready again', async () => (await httpStatus(`${worker}/health/ready`)) === 200);
    const acceptedAtRestart = ledger.accepted.length;
    await waitUntil(
      'requests accepted after the restart',
      () => ledger.accepted.length >= acceptedAtRestart + 20,
    );
    await load.stop();

    expect(ledger.unanswered).toEqual([]);
    const statuses = ledger.statuses();
    expect(Object.keys(statuses).sort()).toEqual(['202', '503']);
    for (const s of ledger.sent.filter((x) => x.status !== 202)) assertRefusal(s);

    const all = await accountable(api, ledger);
    const records = await finalRecords(api, all);
    const sim = await sys.simHttp.records();
    const accounting = assertAccounted(all, records, sim);
    console.log(
      `[faults] redis restart: ${JSON.stringify(statuses)}, ${JSON.stringify(accounting)}, ` +
        `503s whose pairs were submitted anyway: ${lateAccepted(ledger, sim.pairCounts)}`,
    );
  });
});

/**
 * Redis frozen (SIGSTOP) for longer than the job lock (WORKER_LOCK_DURATION_MS = 2 s, the minimum), with
 * submissions in flight: locks expire, the stalled check hands jobs to another worker while the first
 * one may still be finishing them. The in-flight marks and the reconciliation must keep every pair at
 * one creation.
 */
describe('fault suite: Redis paused longer than the job lock', () => {
  let sys: FaultSystem;
  beforeAll(async () => {
    sys = await startFaultSystem({
      apis: 1,
      workers: 2,
      workerEnv: { WORKER_LOCK_DURATION_MS: '2000' },
      sim: { faults: { latency: { minMs: 300, maxMs: 1_200 } } },
    });
  });
  afterAll(async () => {
    await sys.close();
  });

  it('nothing accepted lost, nothing sent twice', async () => {
    const api = sys.apis[0]?.url as string;
    const ledger = new Ledger();
    const load = backgroundLoad(ledger, [api], grantMix('pause'), { concurrency: 3, max: 120, pauseMs: 50 });
    await waitUntil('requests accepted', () => ledger.accepted.length >= 20);
    await waitUntil(
      'submissions in flight',
      async () =>
        (await sys.simHttp.records('?operation=submit')).calls.filter((c) => c.durationMs === null).length >=
        2,
    );
    sys.redis.pause();
    await sleep(6_000);
    sys.redis.resume();
    await load.done();

    expect(ledger.unanswered).toEqual([]);
    const statuses = ledger.statuses();
    for (const s of ledger.sent.filter((x) => x.status !== 202)) {
      expect(s.status).toBe(503);
      assertRefusal(s);
    }
    const all = await accountable(api, ledger);
    const records = await finalRecords(api, all);
    const sim = await sys.simHttp.records();
    const accounting = assertAccounted(all, records, sim);
    console.log(
      `[faults] redis pause: ${JSON.stringify(statuses)}, ${JSON.stringify(accounting)}, ` +
        `503s whose pairs were submitted anyway: ${lateAccepted(ledger, sim.pairCounts)}`,
    );
  });
});
