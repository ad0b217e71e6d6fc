import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accountable,
  assertAccounted,
  assertRefusal,
  backgroundLoad,
  finalRecords,
  grantMix,
  Ledger,
  startFaultSystem,
  type FaultSystem,
} from '../support/fault-system';
import { sleep, waitUntil } from '../support/time';

/** Fills Redis with 256 KB values until it refuses a write with OOM (bounded: < 100 keys for 16 MB). */
async function fillUntilOom(client: Redis): Promise<void> {
  const chunk = 'x'.repeat(256 * 1024);
  for (let k = 0; k < 200; k++) {
    try {
      await client.set(`filler:${k}`, chunk);
    } catch (e) {
      expect(String(e)).toMatch(/OOM/);
      return;
    }
  }
  throw new Error('Redis never refused a write');
}

async function freeFiller(client: Redis): Promise<void> {
  const keys = await client.keys('filler:*');
  if (keys.length > 0) await client.del(...keys);
}

/**
 * Redis at maxmemory with `noeviction` (the only policy BullMQ tolerates): writes are refused with
 * OOM. Something else filling Redis (here: this test) must not turn into accepted-then-lost requests:
 * the API refuses with a 503 ErrorResponseDto (never a 202 it cannot keep), and what was accepted is
 * processed once memory is available again.
 */
describe('fault suite: Redis at maxmemory (noeviction)', () => {
  let sys: FaultSystem;
  beforeAll(async () => {
    sys = await startFaultSystem({
      apis: 1,
      workers: 1,
      redis: { extraArgs: ['--maxmemory', '16mb'] },
      sim: { faults: { latency: { minMs: 200, maxMs: 600 } } },
    });
  });
  afterAll(async () => {
    await sys.close();
  });

  const fullEpisode = async (prefix: string): Promise<Ledger> => {
    const api = sys.apis[0]?.url as string;
    const filler = sys.redis.client();
    const ledger = new Ledger();
    const load = backgroundLoad(ledger, [api], grantMix(prefix), { concurrency: 3, max: 5_000, pauseMs: 30 });
    await waitUntil('requests accepted', () => ledger.accepted.length >= 20);
    await fillUntilOom(filler);
    const sentAtFull = ledger.sent.length;
    await waitUntil(
      'refusals while Redis is full',
      () => ledger.sent.slice(sentAtFull).filter((s) => s.status !== 202).length >= 10,
    );
    // A 202 now and then while full is fine: Redis hovers at the limit (keys expire, completed jobs
    // are removed) and takes a write; a 202 means the job is in Redis, the accounting proves it is kept.
    await sleep(3_000);
    // Memory comes back (an operator raised maxmemory or removed what filled it).
    await freeFiller(filler);
    const acceptedAtFree = ledger.accepted.length;
    await waitUntil('requests accepted again', () => ledger.accepted.length >= acceptedAtFree + 10);
    await load.stop();

    expect(ledger.unanswered).toEqual([]);
    const refused = ledger.sent.filter((s) => s.status !== 202);
    expect(refused.length).toBeGreaterThanOrEqual(10);
    for (const s of refused) {
      expect(s.status).toBe(503);
      assertRefusal(s);
    }
    return ledger;
  };

  it('API refuses with 503 while full; everything accepted is kept and submitted once', async () => {
    // The worker is stopped while Redis is full: this checks the accept path and the queue. (With a
    // worker running during the episode, see the next test.)
    expect(await sys.workers.shift()?.stop('SIGTERM')).toBe(0);
    const ledger = await fullEpisode('mm');
    await sys.startWorker();
    const all = await accountable(sys.apis[0]?.url as string, ledger);
    const records = await finalRecords(sys.apis[0]?.url as string, all);
    const accounting = assertAccounted(all, records, await sys.simHttp.records());
    console.log(
      `[faults] redis maxmemory: ${JSON.stringify(ledger.statuses())}, ${JSON.stringify(accounting)}`,
    );
  });

  /**
   * A worker processing jobs while Redis refuses writes counts every OOM error as a failed attempt,
   * so jobs can run out of attempts while Redis is still full, and writing their final status is
   * refused too. The job is still in BullMQ's failed set: the status read reports it as FAILED (with
   * the re-drive URL) instead of PROCESSING forever. Every accepted request must reach a final state.
   */
  it('with a worker running while full: every accepted request still reaches a final state', async () => {
    await sys.simHttp.reset();
    const ledger = await fullEpisode('mmw');
    const all = await accountable(sys.apis[0]?.url as string, ledger);
    const records = await finalRecords(sys.apis[0]?.url as string, all, 20_000);
    assertAccounted(all, records, await sys.simHttp.records(), { allowFailed: true });
  });
});
