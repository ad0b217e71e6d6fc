import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNING_SECRET, writeClientsFile } from '../support/clients';
import {
  assertAccounted,
  assertRefusal,
  finalRecords,
  grantOf,
  Ledger,
  startFaultSystem,
  type FaultSystem,
} from '../support/fault-system';

const APP = 'Bearer app-secret-0123';
const LIMITED = 'Bearer limited-secret-0123';
const QUOTA = 10;
const BUDGET = 16;
const WINDOW_MS = 2_000;

/**
 * Scale-out proof: two API processes (ROLE=api) and two worker processes (ROLE=worker) on one Redis
 * and one IdentityNow simulator. What must hold across all of them: dedupe (a pair is created once
 * whichever API accepted it and whichever worker ran it), the per-client quota, and the IdentityNow
 * budget (IDN_RATE_LIMIT_MAX per IDN_RATE_LIMIT_WINDOW_MS, below the simulator's own limit).
 */
describe('scale-out: 2 API + 2 worker processes, one Redis, one simulator', () => {
  let sys: FaultSystem;
  const clientsFile = writeClientsFile([
    { id: 'app', secret: 'app-secret-0123' },
    { id: 'limited', secret: 'limited-secret-0123', requestsPerMinute: QUOTA },
  ]);

  beforeAll(async () => {
    sys = await startFaultSystem({
      apis: 2,
      workers: 2,
      apiEnv: { CLIENTS_FILE: clientsFile, TOKEN_SIGNING_SECRET: SIGNING_SECRET },
      workerEnv: {
        IDN_RATE_LIMIT_MAX: String(BUDGET),
        IDN_RATE_LIMIT_WINDOW_MS: String(WINDOW_MS),
      },
      // The simulator allows 20 calls per 2 s: above the budget, so a single 429 means the budget
      // leaked somewhere.
      sim: { rateLimit: { max: 20, windowMs: WINDOW_MS } },
    });
  });
  afterAll(async () => {
    await sys.close();
  });

  const apis = (): string[] => sys.apis.map((a) => a.url);

  it('dedupe: overlapping requests through both APIs; each pair created once', async () => {
    const people = ['p1', 'p2', 'p3', 'p4', 'p5'];
    const roles = ['a', 'b', 'c', 'd', 'e'];
    const ledger = new Ledger();
    await Promise.all(
      Array.from({ length: 40 }, (_, k) =>
        ledger.post(
          apis()[k % 2] as string,
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
    const records = await finalRecords(apis()[1] as string, ledger.accepted, 90_000, APP);
    const accounting = assertAccounted(ledger.accepted, records, await sys.simHttp.records());
    // 5 people x 5 roles at most; many requests overlap, so most of their pairs are duplicates.
    expect(accounting.submitted).toBeLessThanOrEqual(25);
    expect(accounting.duplicate).toBeGreaterThan(0);
  });

  it('per-client quota is shared: exactly requestsPerMinute accepted across both APIs', async () => {
    const ledger = new Ledger();
    await Promise.all(
      Array.from({ length: 24 }, (_, k) =>
        ledger.post(apis()[k % 2] as string, grantOf([`q${k}`], ['r']), { auth: LIMITED }),
      ),
    );
    expect(ledger.unanswered).toEqual([]);
    // Exactly QUOTA accepted in total: per-process quotas would have accepted up to 2 × QUOTA. (Which
    // API accepted how many is not fixed: each batches its burst into one INCRBY per event-loop turn.)
    expect(ledger.statuses()).toEqual({ 202: QUOTA, 429: 24 - QUOTA });
    for (const s of ledger.sent.filter((x) => x.status === 429)) {
      assertRefusal(s);
      expect(Number(s.retryAfter)).toBeGreaterThanOrEqual(1);
    }
    const records = await finalRecords(apis()[0] as string, ledger.accepted, 90_000, LIMITED);
    assertAccounted(ledger.accepted, records, await sys.simHttp.records());
  });

  const distinct = (g: { body: object; pairs: string[] }, k: number): { body: object; pairs: string[] } => ({
    ...g,
    body: { ...g.body, clientMetadata: { n: String(k) } },
  });

  it('IdentityNow budget holds across both workers: zero 429s, no window over the budget', async () => {
    const ledger = new Ledger();
    await Promise.all(
      Array.from({ length: 60 }, (_, k) =>
        // Request metadata of their own: no two share a call, so the backlog is 60 calls of budget.
        ledger.post(apis()[k % 2] as string, distinct(grantOf([`b${k}`], ['r']), k), { auth: APP }),
      ),
    );
    expect(ledger.statuses()).toEqual({ 202: 60 });
    const records = await finalRecords(apis()[0] as string, ledger.accepted, 90_000, APP);
    const sim = await sys.simHttp.records();
    assertAccounted(ledger.accepted, records, sim);

    // Every call of the whole file (all three tests), as the simulator saw them arrive.
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
    // With a backlog of 60 the budget is used, not merely respected: some window is full.
    expect(busiest).toBe(BUDGET);
    console.log(
      `[faults] scale-out: ${calls.length} IdentityNow calls, busiest ${WINDOW_MS} ms window ${busiest}`,
    );
  });
});
