import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimRecords } from '../../src/simulator/simulator.types';
import {
  accountable,
  assertAccounted,
  assertRefusal,
  httpStatus,
  Ledger,
  startProcessSystem,
  type ProcessSystem,
} from '../support/fault-system';
import type { GatewayProcess } from '../support/gateway-process';
import { startRedisSentinel, type PrivateRedisSentinel } from '../support/redis-sentinel';
import { outageOf, settleOrLose, steadyLoad, type OutageReport } from '../support/steady-load';
import { waitUntil } from '../support/time';

/** Every request must be answered within this: a 503 comes within about a second, never a hang. */
const ANSWER_BOUND_MS = 5_000;
/** The contract: the API recovers by itself within 30 s of the primary failing. */
const RECOVERY_BOUND_MS = 30_000;

interface Run {
  readonly acked: Ledger;
  readonly unacked: Ledger;
  readonly faultAt: number;
  readonly newPrimaryAfterMs: number;
  readonly oldPrimary: number;
}

interface Outcome {
  readonly outage: OutageReport;
  readonly lost: number;
  readonly landed503: number;
  readonly createdTwice: number;
}

/**
 * Redis Sentinel (1 primary, 2 replicas, 3 sentinels, down-after 2 s, with a password) under a
 * steady load on two API processes, one with REDIS_MIN_REPLICAS_ACK=1 and one with 0, and two worker
 * processes. Asserted for REDIS_MIN_REPLICAS_ACK=1: every request answered (503 while the primary
 * is gone, never a hang), recovery within 30 s, and every 202 submitted exactly once. The numbers
 * for both settings are printed for docs/operations.md.
 */
describe('Redis Sentinel: the primary fails under steady load', () => {
  let sentinel: PrivateRedisSentinel;
  let sys: ProcessSystem;
  let acked: GatewayProcess;
  let unacked: GatewayProcess;

  beforeAll(async () => {
    sentinel = await startRedisSentinel({ password: 'sentinel-pass-0123', downAfterMs: 2_000 });
    // The workers wait for a replica before each send, so a failover cannot take back a send's mark.
    sys = await startProcessSystem(sentinel.env, {
      apis: 0,
      workers: 2,
      workerEnv: { REDIS_MIN_REPLICAS_ACK: '1' },
    });
    acked = await sys.startApi({ REDIS_MIN_REPLICAS_ACK: '1' });
    unacked = await sys.startApi({ REDIS_MIN_REPLICAS_ACK: '0' });
  });
  afterAll(async () => {
    await sys.close();
    await sentinel.stop();
  });

  const ready = async (): Promise<void> => {
    for (const p of [acked, unacked, ...sys.workers])
      await waitUntil(`${p.url} ready`, async () => (await httpStatus(`${p.url}/health/ready`)) === 200);
  };

  /** Steady load on both APIs; `fault` breaks the primary; returns once both answer 202 again. */
  const underLoad = async (
    tag: string,
    fault: (primary: number, ledgers: { acked: Ledger; unacked: Ledger }) => Promise<void> | void,
  ): Promise<Run> => {
    await ready();
    const ledgers = { acked: new Ledger(), unacked: new Ledger() };
    const loads = [
      steadyLoad(ledgers.acked, acked.url, `${tag}-a1`, { timeoutMs: ANSWER_BOUND_MS }),
      steadyLoad(ledgers.unacked, unacked.url, `${tag}-a0`, { timeoutMs: ANSWER_BOUND_MS }),
    ];
    try {
      await waitUntil('load accepted', () => Object.values(ledgers).every((l) => l.accepted.length >= 10));
      const old = await sentinel.primaryPort();
      const faultAt = Date.now();
      await fault(old, ledgers);
      await sentinel.waitForNewPrimary(old, 60_000);
      const newPrimaryAfterMs = Date.now() - faultAt;
      // Recovered: both APIs have answered 202 to 20 requests in a row sent after the new primary.
      const since = Date.now();
      await waitUntil(
        'both APIs answer 202 again',
        () =>
          Object.values(ledgers).every((l) => {
            const recent = l.sent.filter((s) => (s.sentAt ?? 0) >= since);
            return recent.length >= 20 && recent.slice(-20).every((s) => s.status === 202);
          }),
        RECOVERY_BOUND_MS + 15_000,
      );
      return { ...ledgers, faultAt, newPrimaryAfterMs, oldPrimary: old };
    } finally {
      await Promise.all(loads.map((l) => l.stop()));
    }
  };

  /** Waits for the work to finish; counts 202s whose job is gone and pairs created twice. */
  const outcome = async (ledger: Ledger, api: string, faultAt: number): Promise<Outcome> => {
    const owed = await accountable(api, ledger);
    const { lost } = await settleOrLose(api, owed);
    const sim = await sys.simHttp.records();
    const mine = new Set(ledger.sent.flatMap((s) => s.pairs));
    return {
      outage: outageOf(ledger, faultAt),
      lost: lost.filter((s) => s.status === 202).length,
      landed503: owed.length - ledger.accepted.length,
      createdTwice: Object.entries(sim.pairCounts).filter(([k, n]) => mine.has(k) && n > 1).length,
    };
  };

  /** The contract for REDIS_MIN_REPLICAS_ACK=1. */
  const assertContract = async (run: Run, result: Outcome): Promise<void> => {
    for (const ledger of [run.acked, run.unacked]) {
      expect(ledger.unanswered).toEqual([]);
      for (const s of ledger.sent) expect([202, 503], JSON.stringify(s.body)).toContain(s.status);
      for (const s of ledger.sent.filter((x) => x.status === 503)) assertRefusal(s);
    }
    expect(result.outage.refused).toBeGreaterThan(0);
    expect(result.outage.recoveredAfterMs).toBeLessThanOrEqual(RECOVERY_BOUND_MS);
    expect(result.lost).toBe(0);
    // Exactly once, for the pairs of this API's requests only.
    const owed = await accountable(acked.url, run.acked);
    const { records } = await settleOrLose(acked.url, owed);
    const sim = await sys.simHttp.records();
    const mine = new Set(owed.flatMap((s) => s.pairs));
    const only: SimRecords = {
      ...sim,
      pairCounts: Object.fromEntries(Object.entries(sim.pairCounts).filter(([k]) => mine.has(k))),
    };
    assertAccounted(owed, records, only);
  };

  const report = (scenario: string, run: Run, a1: Outcome, a0: Outcome): void => {
    const line = (name: string, o: Outcome): string =>
      `  ${name}: sent ${o.outage.sent} after the fault, refused ${o.outage.refused} (${JSON.stringify(o.outage.statuses)}), ` +
      `recovered after ${(o.outage.recoveredAfterMs / 1000).toFixed(1)} s, slowest answer ${o.outage.slowestMs} ms, ` +
      `202s lost ${o.lost}, 503s that landed ${o.landed503}, pairs created twice ${o.createdTwice}`;
    console.log(
      [
        `[ha] sentinel ${scenario}: new primary after ${(run.newPrimaryAfterMs / 1000).toFixed(1)} s`,
        line('REDIS_MIN_REPLICAS_ACK=1', a1),
        line('REDIS_MIN_REPLICAS_ACK=0', a0),
      ].join('\n'),
    );
  };

  it('readiness names the primary and the replicas in sync', async () => {
    await ready();
    const res = await fetch(`${acked.url}/health/ready`);
    const body = (await res.json()) as { checks: Record<string, string> };
    const primary = await sentinel.primaryPort();
    expect(body.checks.redis).toBe(`ok (sentinel ${sentinel.name}: primary 127.0.0.1:${primary})`);
    expect(body.checks.redisReplicas).toBe('ok (2 replicas in sync, REDIS_MIN_REPLICAS_ACK 1)');
  });

  it('SIGTERM: an API and a worker process close their connections and exit 0', async () => {
    const extraApi = await sys.startApi();
    const extraWorker = await sys.startWorker();
    sys.apis.splice(sys.apis.indexOf(extraApi), 1);
    sys.workers.splice(sys.workers.indexOf(extraWorker), 1);
    expect(await extraApi.stop('SIGTERM')).toBe(0);
    expect(await extraWorker.stop('SIGTERM')).toBe(0);
  });

  it('kill -9 of the primary: 503s, never a hang, recovery within 30 s, every 202 submitted once', async () => {
    const run = await underLoad('kill', async (primary) => {
      await sentinel.server(primary).kill();
    });
    const a1 = await outcome(run.acked, acked.url, run.faultAt);
    const a0 = await outcome(run.unacked, unacked.url, run.faultAt);
    report('kill -9 of the primary', run, a1, a0);
    await assertContract(run, a1);
    expect(a0.outage.recoveredAfterMs).toBeLessThanOrEqual(RECOVERY_BOUND_MS);
    await sentinel.restartAsReplica(run.oldPrimary);
    await sentinel.waitForReplicas(2);
  });

  it('replicas fall behind, then the primary is killed: no 202 lost with REDIS_MIN_REPLICAS_ACK=1', async () => {
    const run = await underLoad('behind', async (primary, ledgers) => {
      const replicas = sentinel.servers.filter((s) => s.port !== primary && s.running);
      // Replication stalls (a slow network, a busy replica); the primary keeps acknowledging.
      replicas.forEach((r) => {
        r.pause();
      });
      const before = ledgers.unacked.accepted.length;
      await waitUntil(
        '202s while the replicas are behind',
        () => ledgers.unacked.accepted.length >= before + 10,
      );
      await sentinel.server(primary).kill();
      replicas.forEach((r) => {
        r.resume();
      });
    });
    const a1 = await outcome(run.acked, acked.url, run.faultAt);
    const a0 = await outcome(run.unacked, unacked.url, run.faultAt);
    report('replicas behind, then kill -9 of the primary', run, a1, a0);
    expect(a1.lost).toBe(0);
    expect(a1.createdTwice).toBe(0);
    expect(a0.createdTwice).toBe(0);
    await sentinel.restartAsReplica(run.oldPrimary);
    await sentinel.waitForReplicas(2);
  });

  it('primary hung (SIGSTOP): the API follows the new primary within 30 s while the old one stays frozen', async () => {
    let frozen = 0;
    const run = await underLoad('hung', (primary) => {
      frozen = primary;
      sentinel.server(primary).pause();
    });
    // Recovered while the old primary was still frozen: the +switch-master watch moved every client.
    sentinel.server(frozen).resume();
    const a1 = await outcome(run.acked, acked.url, run.faultAt);
    const a0 = await outcome(run.unacked, unacked.url, run.faultAt);
    report('primary hung (SIGSTOP)', run, a1, a0);
    await assertContract(run, a1);
  });
});
