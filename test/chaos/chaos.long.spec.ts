import { appendFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runChaos } from '../support/chaos';

// `npm run test:chaos`: CHAOS_RUNS schedules (default 200) from CHAOS_SEED (default 1000). Any seed
// replays exactly: CHAOS_SEED=1234 CHAOS_RUNS=1 npm run test:chaos.
const first = Number(process.env.CHAOS_SEED ?? 1000);
const runs = Number(process.env.CHAOS_RUNS ?? 200);
const log = process.env.CHAOS_LOG;
const seeds = Array.from({ length: runs }, (_, i) => first + i);

describe('never twice under a randomized nemesis (long)', () => {
  it.each(seeds)(
    'seed %i',
    async (seed) => {
      const report = await runChaos(seed);
      const line = `${new Date().toISOString()} seed ${seed} ${report.violations.length === 0 ? 'ok' : 'FAILED'} ${report.ms} ms accepted=${report.accepted} pairs=${report.pairs} outcomes=${JSON.stringify(report.outcomes)} events=[${report.events.join('; ')}]${report.violations.length > 0 ? ` violations=${JSON.stringify(report.violations)}` : ''}\n`;
      if (log !== undefined) appendFileSync(log, line);
      console.log(line.trim());
      expect(report.violations).toEqual([]);
    },
    300_000,
  );
});
