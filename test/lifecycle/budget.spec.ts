import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimCallRecord } from '../../src/simulator/simulator.types';
import { waitUntil } from '../support/time';
import { startWorkerStack, type WorkerStack } from '../support/worker-stack';

const WINDOW_MS = 1_000;
const BUDGET = 10;
// IDN_STATUS_BUDGET_PERCENT = 20 (the default): 2 of every 10 calls.
const SHARE = 2;

describe('lifecycle polling within its share of the budget', () => {
  let s: WorkerStack;

  beforeAll(async () => {
    s = await startWorkerStack({
      env: {
        IDN_RATE_LIMIT_MAX: String(BUDGET),
        IDN_RATE_LIMIT_WINDOW_MS: String(WINDOW_MS),
        IDN_STATUS_POLL_MS: '100',
      },
      sim: { progression: { completeAfterMs: null, rejectRate: 0 } },
      // Two rows per page: the poller always has more pages to read than its share allows.
      lifecycle: { pageSize: 2, maxFeedPages: 1_000 },
    });
  });
  afterAll(async () => {
    await s.close();
  });

  it('takes at most IDN_STATUS_BUDGET_PERCENT of the calls in any window while a backlog of submissions waits', async () => {
    const followed = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        s.post({ requestedFor: [`bud-f${i}`], requestedItems: [{ type: 'ROLE', id: 'bud-r' }] }),
      ),
    );
    for (const id of followed) await s.settled(id);
    const from = s.sim.control.records().calls.length;
    const backlog = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        // Request metadata of its own: no two share a call, so the backlog is 40 calls.
        s.post({
          requestedFor: [`bud-b${i}`],
          requestedItems: [{ type: 'ROLE', id: 'bud-r' }],
          clientMetadata: { batch: String(i) },
        }),
      ),
    );
    for (const id of backlog) expect((await s.settled(id, 60_000)).state).toBe('SUBMITTED');

    const statusReads = (): number =>
      s.sim.control
        .records()
        .calls.slice(from)
        .filter((c) => c.operation === 'status').length;
    // Then, with the backlog gone, the poller still wants more than its share: its cap is what holds it.
    const afterBacklog = statusReads();
    await waitUntil('four windows of reads', () => statusReads() >= afterBacklog + 4 * SHARE);

    const calls = s.sim.control.records().calls.slice(from);
    const polls = calls.filter((c: SimCallRecord) => c.operation === 'status');
    const submits = calls.filter((c: SimCallRecord) => c.operation === 'submit');
    expect(submits.length).toBeGreaterThanOrEqual(40);
    expect(polls.length).toBeGreaterThan(0);
    // No window holds more than SHARE reads: the read SHARE after any read came a whole window later.
    const at = polls.map((c) => Date.parse(c.time));
    for (let i = SHARE; i < at.length; i++) {
      expect((at[i] as number) - (at[i - SHARE] as number)).toBeGreaterThanOrEqual(WINDOW_MS);
    }
    // While the backlog waited, the rest of the budget went to it.
    const backlogEnd = Date.parse(submits.at(-1)?.time ?? '');
    const during = at.filter((t) => t <= backlogEnd).length;
    expect(during).toBeLessThanOrEqual(Math.ceil((submits.length + during) * 0.2) + SHARE);
  });
});
