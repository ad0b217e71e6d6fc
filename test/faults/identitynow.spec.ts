import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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
 * IdentityNow misbehaving while requests keep coming: one API process, two worker processes, the
 * simulator over HTTP. Each scenario ends with every accepted request final and every pair created
 * at most once (exactly once for each pair that was submitted).
 */
describe('fault suite: IdentityNow faults under load (processes)', () => {
  let sys: FaultSystem;
  beforeAll(async () => {
    sys = await startFaultSystem({ apis: 1, workers: 2 });
  });
  afterAll(async () => {
    await sys.close();
  });
  beforeEach(async () => {
    await sys.simHttp.reset();
  });

  const run = async (
    prefix: string,
    count: number,
    during: (ledger: Ledger) => Promise<void> = () => Promise.resolve(),
  ): Promise<{ ledger: Ledger; accounting: ReturnType<typeof assertAccounted> }> => {
    const ledger = new Ledger();
    const load = backgroundLoad(ledger, [sys.apis[0]?.url as string], grantMix(prefix), {
      concurrency: 4,
      max: count,
    });
    await during(ledger);
    await load.done();
    expect(ledger.unanswered).toEqual([]);
    // IdentityNow's trouble never reaches the accept path: every request is accepted.
    expect(ledger.statuses()).toEqual({ 202: count });
    const records = await finalRecords(sys.apis[0]?.url as string, ledger.accepted);
    const accounting = assertAccounted(ledger.accepted, records, await sys.simHttp.records());
    return { ledger, accounting };
  };

  it('429 storm: everything waits it out and is submitted once', async () => {
    await sys.simHttp.storm(3, 1);
    const { accounting } = await run('storm', 24);
    expect(accounting.duplicate).toBeGreaterThan(0);
    const calls = (await sys.simHttp.records()).calls;
    expect(calls.filter((c) => c.fault === 'storm').length).toBeGreaterThan(0);
  });

  it('5xx and timeouts (random 5xx, hangs, 500 after creating): each pair once', async () => {
    await sys.simHttp.faults({ errorRates: { 500: 0.1, 502: 0.05, 503: 0.1 } });
    await sys.simHttp.script([
      { operation: 'submit', count: 3, action: { kind: 'hang' } },
      { operation: 'submit', count: 3, action: { kind: 'error', status: 500, commit: true } },
    ]);
    await run('5xx', 24);
    const calls = (await sys.simHttp.records()).calls;
    expect(calls.filter((c) => c.fault === 'random-error').length).toBeGreaterThan(0);
    expect(calls.filter((c) => c.fault === 'scripted:hang')).toHaveLength(3);
    // Every ambiguous call (hang, 500 after creating) was settled by reading IdentityNow's status.
    expect(calls.filter((c) => c.operation === 'status').length).toBeGreaterThan(0);
  });

  it('lost responses and dropped connections: each pair once', async () => {
    await sys.simHttp.script([
      { operation: 'submit', count: 5, action: { kind: 'lost-response' } },
      { operation: 'submit', count: 3, action: { kind: 'drop' } },
    ]);
    await run('lost', 24);
    const records = await sys.simHttp.records();
    expect(records.created.filter((c) => c.responseLost).length).toBeGreaterThan(0);
  });

  it('401 mid-run (every token expired): tokens refreshed, each pair once', async () => {
    await run('auth', 24, async (ledger) => {
      await waitUntil('a few requests accepted', () => ledger.sent.length >= 6);
      await sys.simHttp.expireTokens();
      // The expired tokens alone make the next calls answer 401. No scripted 401 on top: a second
      // 401 right after the refresh is, by design, a permanent failure (a revoked PAT).
    });
    const calls = (await sys.simHttp.records()).calls;
    expect(calls.filter((c) => c.status === 401).length).toBeGreaterThan(0);
    expect(calls.filter((c) => c.operation === 'token').length).toBeGreaterThan(0);
  });
});
