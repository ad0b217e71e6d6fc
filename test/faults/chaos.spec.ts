import { describe, expect, it } from 'vitest';
import { runChaos } from '../support/chaos';

// A short seeded schedule in every `npm test`; `npm run test:chaos` runs hundreds (test/chaos/).
const SEEDS = [7, 4242];

describe('never twice under a randomized nemesis (short)', () => {
  it.each(SEEDS)(
    'seed %i: every pair created exactly once, or FAILED with its claim held',
    async (seed) => {
      const report = await runChaos(seed, { requests: 24, spanMs: 4_000 });
      console.log(`[chaos] seed ${seed}: ${JSON.stringify({ ...report, events: report.events.join('; ') })}`);
      expect(report.violations).toEqual([]);
    },
    180_000,
  );
});
