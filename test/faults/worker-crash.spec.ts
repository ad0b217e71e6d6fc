import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertAccounted,
  backgroundLoad,
  finalRecords,
  grantMix,
  Ledger,
  startFaultSystem,
  type FaultSystem,
} from '../support/fault-system';
import { waitUntil } from '../support/time';

/**
 * Worker processes dying (kill -9) or being stopped (SIGTERM) while IdentityNow calls are in flight
 * (the simulator answers slowly), with requests still arriving through an API process.
 */
describe('fault suite: worker processes killed and stopped mid-flight', () => {
  let sys: FaultSystem;
  beforeAll(async () => {
    sys = await startFaultSystem({ apis: 1, workers: 2 });
  });
  afterAll(async () => {
    await sys.close();
  });

  const api = (): string => sys.apis[0]?.url as string;
  const inFlightSubmits = async (): Promise<number> =>
    (await sys.simHttp.records('?operation=submit')).calls.filter((c) => c.durationMs === null).length;

  it('kill -9 of the workers with submissions in flight, new ones started: every pair exactly once', async () => {
    await sys.simHttp.reset();
    await sys.simHttp.faults({ latency: { minMs: 1_500, maxMs: 1_500 } });
    const ledger = new Ledger();
    const load = backgroundLoad(ledger, [api()], grantMix('kill'), { concurrency: 4, max: 40 });
    // Requests share calls, so a few calls carry many pairs. Both workers die, so whichever held
    // the calls in flight, their outcome has to be read back from IdentityNow.
    await waitUntil('submissions in flight', async () => (await inFlightSubmits()) >= 2);
    for (const victim of sys.workers.splice(0)) expect(await victim.stop('SIGKILL')).toBe('SIGKILL');
    await sys.startWorker();
    await sys.startWorker();
    await load.done();
    await sys.simHttp.faults({ latency: null });
    expect(ledger.unanswered).toEqual([]);
    expect(ledger.statuses()).toEqual({ 202: 40 });

    const records = await finalRecords(api(), ledger.accepted);
    const sim = await sys.simHttp.records();
    assertAccounted(ledger.accepted, records, sim);
    // The killed worker's in-flight jobs were taken over, and their outcome was read from
    // IdentityNow (status call) instead of being sent again.
    expect(sim.calls.filter((c) => c.operation === 'status').length).toBeGreaterThan(0);
  });

  it('SIGTERM with jobs in flight: exits 0 after finishing them; another worker does the rest', async () => {
    await sys.simHttp.reset();
    await sys.simHttp.faults({ latency: { minMs: 1_000, maxMs: 1_000 } });
    const ledger = new Ledger();
    const load = backgroundLoad(ledger, [api()], grantMix('term'), { concurrency: 4, max: 40 });
    // Requests share calls (coalescing), so a few calls in flight already carry many pairs.
    await waitUntil('submissions in flight', async () => (await inFlightSubmits()) >= 2);
    const stopping = sys.workers.shift();
    // SHUTDOWN_GRACE_MS (3 s in these tests) is longer than one call (1 s): in-flight work finishes.
    expect(await stopping?.stop('SIGTERM')).toBe(0);
    await load.done();
    await sys.simHttp.faults({ latency: null });
    expect(ledger.unanswered).toEqual([]);
    expect(ledger.statuses()).toEqual({ 202: 40 });

    const records = await finalRecords(api(), ledger.accepted);
    const sim = await sys.simHttp.records();
    assertAccounted(ledger.accepted, records, sim);
    // Nothing the stopped worker had in flight was left ambiguous: no call went unanswered, and no
    // job needed its outcome reconstructed from IdentityNow's status.
    expect(sim.calls.filter((c) => c.durationMs === null)).toEqual([]);
    expect(sim.calls.filter((c) => c.operation === 'status')).toEqual([]);
  });
});
